"""POST /api/v1/submissions: department systems submit rows as JSON or as a file."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from xinyong.actors import Actor
from xinyong.db import begin_writing, end_reads
from xinyong.errors import InvalidInput
from xinyong.records.models import SubmissionBatch
from xinyong.submissions.history import batch_errors, batch_for
from xinyong.submissions.ingest import TableInput, ingest_table, iter_json_rows, json_headers
from xinyong.submissions.jobs import queue_file
from xinyong.web.deps import (
    ActorDep,
    PathId,
    SessionDep,
    SubmissionsReaderDep,
    SubmitterDep,
    on_rollback,
)
from xinyong.web.uploads import drop_upload, store_upload

router = APIRouter(tags=["归集 submissions"])

MAX_JSON_ROWS = 50_000
MAX_BATCH_ERRORS = 1000


class RowsSubmission(BaseModel):
    item: str | None = Field(default=None, description="目录项代码；双公示表头可省略")
    department: str | None = Field(default=None, description="部门代码（信用办代报时）")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_JSON_ROWS)


class SubmissionErrorRead(BaseModel):
    row: int | None
    column: str | None
    code: str
    message: str
    value: str | None = None


class GradeSourceRead(BaseModel):
    source: str
    label: str
    rows: int


class SubmissionNoteRead(BaseModel):
    row: int
    column: str | None
    code: str
    message: str


class SubmissionRead(BaseModel):
    batch_id: int
    format: str
    total: int
    accepted: int
    rejected: int
    created: int
    updated: int
    unchanged: int
    ignored_columns: list[str]
    grade_sources: list[GradeSourceRead] = []
    summary_notes: list[str] = []  # about the batch as a whole (e.g. unmatched behaviours)
    errors: list[SubmissionErrorRead]
    errors_truncated: bool
    notes: list[SubmissionNoteRead] = []  # accepted rows worth a look (not rejections)
    notes_truncated: bool = False


class QueuedRead(BaseModel):
    batch_id: int
    status: str = Field(description="queued（排队中）：文件已保存，等待导入")
    status_url: str = Field(description="进度与结果：GET 此地址")


@router.post(
    "/submissions",
    response_model=SubmissionRead,
    responses={202: {"model": QueuedRead, "description": "文件已保存并排队导入"}},
)
async def submit(request: Request, session: SessionDep, actor: SubmitterDep) -> Any:
    """Submit rows as `application/json` ({item, rows}, at most 50 000: merged in the
    request, committed per chunk, answered 200 with the result) or a file as `multipart/form-data` (fields `file`,
    optional `item`, `department`: stored and queued, answered 202 with the batch number;
    `GET /api/v1/submissions/{batch_id}` shows its progress and result). Bad rows are
    rejected with reasons; good rows land."""
    # No transaction (no lock, no snapshot) is held while the body arrives: the session
    # read the key; its next transaction begins when the rows are merged.
    end_reads(session)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("请以 file 字段上传文件", code="missing_file")
        item = form.get("item")
        department = form.get("department")
        return await _queue_file(
            session,
            actor,
            upload,
            item if isinstance(item, str) and item else None,
            department if isinstance(department, str) and department else None,
        )
    try:
        payload = RowsSubmission.model_validate_json(await request.body())
    except ValueError as exc:
        raise InvalidInput("请求体应为 JSON：{item, rows}", code="invalid_request") from exc
    # The merge in a worker thread: on SQLite its first statement waits for the write
    # lock, which must never block the event loop (web.deps._credentials).
    return await run_in_threadpool(_merge_rows, session, actor, payload)


def _merge_rows(session: Session, actor: Actor, payload: RowsSubmission) -> dict[str, Any]:
    table = TableInput(headers=json_headers(payload.rows), rows=iter_json_rows(payload.rows))
    result = ingest_table(
        session,
        actor,
        table,
        item_code=payload.item,
        department_code=payload.department,
        channel="api",
        # Rows in the request, committed per chunk like a job's: a writer waits at most
        # a chunk (submissions.ingest.SQLITE_CHUNK_ROWS on SQLite) for the write lock.
        on_chunk=session.commit,
    )
    return result.as_dict()


async def _queue_file(
    session: SessionDep,
    actor: ActorDep,
    upload: UploadFile,
    item: str | None,
    department: str | None,
) -> Response:
    # Stored and queued in a worker thread: writing the file blocks, and on SQLite the
    # queue's write waits for the write lock, neither on the event loop.
    batch = await run_in_threadpool(_store_and_queue, session, actor, upload, item, department)
    body = QueuedRead(
        batch_id=batch.id,
        status=batch.status,
        status_url=f"/api/v1/submissions/{batch.id}",
    )
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": body.status_url})


def _store_and_queue(
    session: Session, actor: Actor, upload: UploadFile, item: str | None, department: str | None
) -> SubmissionBatch:
    path = store_upload(upload)
    on_rollback(session, lambda: drop_upload(path))  # also when the commit fails
    begin_writing(session)
    return queue_file(
        session, actor, path, channel="api", item_code=item, department_code=department
    )


class BatchRead(BaseModel):
    id: int
    status: str
    filename: str | None
    record_format: str | None
    total_rows: int
    accepted: int
    rejected: int
    created: int
    updated: int
    unchanged: int
    failure: str | None
    notes: list[SubmissionNoteRead] | None = None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    errors: list[SubmissionErrorRead] = Field(
        default=[], description=f"拒收行的原因（前 {MAX_BATCH_ERRORS} 条）"
    )
    errors_truncated: bool = False


@router.get("/submissions/{batch_id}", response_model=BatchRead)
def get_batch(batch_id: PathId, session: SessionDep, actor: SubmissionsReaderDep) -> Any:
    """A batch: `status` queued（排队中）→ running（运行中; `total_rows` so far are its
    progress）→ done, failed（`failure`）or interrupted（中断）; the counts, the rejected
    rows' reasons and the notes on accepted rows."""
    # The department's own batches (the office: all), as on the workbench's rejected rows.
    batch = batch_for(session, actor, batch_id, own_only=True)
    errors = batch_errors(session, batch_id, limit=MAX_BATCH_ERRORS + 1)
    body = BatchRead.model_validate(batch, from_attributes=True)
    body.errors = [
        SubmissionErrorRead(
            row=e.row_number, column=e.column, code=e.code, message=e.message, value=e.value_masked
        )
        for e in errors[:MAX_BATCH_ERRORS]
    ]
    body.errors_truncated = len(errors) > MAX_BATCH_ERRORS
    return body
