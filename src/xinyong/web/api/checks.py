"""联合奖惩核查 for departments' business systems: check, batch comparison, feedback."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from xinyong.config import get_settings
from xinyong.errors import InvalidInput
from xinyong.measures.batch import compare_file
from xinyong.measures.services import add_feedback, run_check
from xinyong.records.ingest import protector_for
from xinyong.web.deps import CheckerDep, FeedbackDep, PathId, SessionDep

router = APIRouter(tags=["联合奖惩 checks"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CheckCreate(BaseModel):
    id_number: str = Field(min_length=1, max_length=64, description="身份证号或统一社会信用代码")
    id_type: str | None = Field(default=None, description="证件类型；默认按号码识别")
    scenario: str = Field(min_length=1, max_length=64, description="应用场景代码")
    operator: str = Field(min_length=1, max_length=200, description="经办人")
    business_ref: str = Field(min_length=1, max_length=200, description="业务编号")


class TriggerRead(BaseModel):
    kind: str
    ref: int | None
    text: str
    via_organisation: str | None


class DecisionRead(BaseModel):
    measure: str
    name: str
    kind: Literal["reward", "punishment"]
    effect: str
    effect_name: str
    basis: str
    departments: list[str]
    triggers: list[TriggerRead]


class CheckRead(BaseModel):
    check_id: int
    verdict: Literal["blocked", "restricted", "eased", "clear"]
    verdict_name: str
    decisions: list[DecisionRead]


@router.post("/checks", response_model=CheckRead)
def create_check(body: CheckCreate, session: SessionDep, actor: CheckerDep) -> Any:
    """Which joint rewards and punishments apply to the subject in the scenario, and why.

    A person not in the archive is answered as having no records."""
    result = run_check(
        session,
        actor,
        protector_for(),
        id_number=body.id_number,
        id_type=body.id_type,
        scenario=body.scenario,
        operator=body.operator,
        business_ref=body.business_ref,
    )
    return result.as_dict()


@router.post(
    "/checks/batches",
    response_class=FileResponse,
    responses={
        200: {"content": {XLSX: {}}, "description": "比对结果 XLSX；汇总见 X-Batch-Summary"}
    },
)
async def create_batch(request: Request, session: SessionDep, actor: CheckerDep) -> Any:
    """批量比对: upload a CSV/XLSX of people (`file`, `scenario`, `operator` form fields);
    get back the same rows with verdict and measures, and a summary sheet."""
    form = await request.form()
    upload = form.get("file")
    scenario = form.get("scenario")
    operator = form.get("operator")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("请以 file 字段上传文件", code="missing_file")
    if not isinstance(scenario, str) or not scenario:
        raise InvalidInput("须指定应用场景 scenario", code="unknown_scenario")
    if not isinstance(operator, str) or not operator.strip():
        raise InvalidInput("须填写经办人 operator", code="missing_operator")
    limit = get_settings().max_upload_bytes
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-batch-"))
    source = tmp / "input"
    size = 0
    with source.open("wb") as fh:
        while block := await upload.read(1 << 20):
            size += len(block)
            if size > limit:
                shutil.rmtree(tmp, ignore_errors=True)
                raise InvalidInput(f"文件超过 {limit // (1 << 20)} MB 上限", code="too_large")
            fh.write(block)
    out = tmp / "result.xlsx"
    try:
        summary = await run_in_threadpool(
            compare_file,
            source,
            out,
            scenario=scenario,
            operator=operator.strip(),
            actor=actor,
            session=session,
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type=XLSX,
        filename="比对结果.xlsx",
        headers={"X-Batch-Summary": json.dumps(summary)},
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


class FeedbackCreate(BaseModel):
    measure: str = Field(min_length=1, max_length=64)
    applied: bool
    outcome: str = Field(min_length=1, max_length=200, description="处理结果，如 不予许可")
    note: str | None = Field(default=None, max_length=2000)


class FeedbackRead(BaseModel):
    id: int
    check_id: int
    measure_code: str
    applied: bool
    outcome: str


@router.post("/checks/{check_id}/feedback", response_model=FeedbackRead)
def create_feedback(
    check_id: PathId, body: FeedbackCreate, session: SessionDep, actor: FeedbackDep
) -> Any:
    """反馈: what the department did with the check's measures."""
    return add_feedback(
        session,
        actor,
        check_id,
        measure=body.measure,
        applied=body.applied,
        outcome=body.outcome,
        note=body.note,
    )
