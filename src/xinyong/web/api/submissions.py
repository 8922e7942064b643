"""POST /api/v1/submissions: department systems submit rows as JSON or as a file."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from xinyong.config import get_settings
from xinyong.errors import InvalidInput, NotFound, UnreadableFile
from xinyong.records.ingest import (
    TableInput,
    ingest_file,
    ingest_table,
    iter_json_rows,
    json_headers,
    record_unreadable,
)
from xinyong.records.models import SubmissionBatch
from xinyong.web.deps import ActorDep, PathId, SessionDep, SubmissionsReaderDep, SubmitterDep

router = APIRouter(tags=["归集 submissions"])

MAX_JSON_ROWS = 50_000


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


@router.post("/submissions", response_model=SubmissionRead)
async def submit(request: Request, session: SessionDep, actor: SubmitterDep) -> Any:
    """Submit rows as `application/json` ({item, rows}) or a file as `multipart/form-data`
    (fields `file`, optional `item`, `department`). Bad rows are rejected with reasons;
    good rows land."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("请以 file 字段上传文件", code="missing_file")
        item = form.get("item")
        department = form.get("department")
        return await _submit_file(
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
    table = TableInput(headers=json_headers(payload.rows), rows=iter_json_rows(payload.rows))
    result = ingest_table(
        session,
        actor,
        table,
        item_code=payload.item,
        department_code=payload.department,
        channel="api",
    )
    return result.as_dict()


async def _submit_file(
    session: SessionDep,
    actor: ActorDep,
    upload: UploadFile,
    item: str | None,
    department: str | None,
) -> Any:
    settings = get_settings()
    limit = settings.max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="xinyong-upload-") as tmp:
        path = Path(tmp) / Path(upload.filename or "upload").name
        size = 0
        with path.open("wb") as out:
            while block := await upload.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise InvalidInput(f"文件超过 {limit // (1 << 20)} MB 上限", code="too_large")
                out.write(block)
        try:
            result = ingest_file(
                session,
                actor,
                path,
                item_code=item,
                department_code=department,
                channel="api",
                on_chunk=session.commit,
            )
        except UnreadableFile as exc:
            session.rollback()
            record_unreadable(session, actor, upload.filename, exc, "api")
            session.commit()
            raise
    shutil.rmtree(tmp, ignore_errors=True)
    return result.as_dict()


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


@router.get("/submissions/{batch_id}", response_model=BatchRead)
def get_batch(batch_id: PathId, session: SessionDep, actor: SubmissionsReaderDep) -> Any:
    batch = session.get(SubmissionBatch, batch_id)
    if batch is None or (not actor.is_admin and batch.department_id != actor.department_id):
        raise NotFound("批次不存在", code="batch_not_found")
    return batch
