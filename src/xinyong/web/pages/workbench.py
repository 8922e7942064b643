"""The department workbench (部门工作台): upload, submission history, rejected rows, checks.

A clerk or reviewer sees only their own department (``actor.department_id``); the credit
office sees every department. Uploads are plain multipart form posts that work without
JavaScript; with JavaScript the page shows the upload's progress.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from xinyong.accounts.permissions import Permission, can
from xinyong.accounts.services import Caller
from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import begin_writing
from xinyong.errors import InvalidInput, NotFound, XinyongError
from xinyong.identity.masking import mask_value
from xinyong.identity.protection import protector_for
from xinyong.measures.batch import compare_file
from xinyong.measures.engine import VERDICT_NAMES
from xinyong.measures.services import add_feedback, check_for, checks_of, feedback_of, run_check
from xinyong.records.models import BatchStatus
from xinyong.submissions.history import (
    batch_errors,
    batch_for,
    batch_grade_sources,
    batches_of,
    write_error_file,
)
from xinyong.submissions.jobs import queue_file
from xinyong.submissions.templates import build_template, template_csv, template_xlsx
from xinyong.web.deps import FormDep, SessionDep, on_rollback
from xinyong.web.pages.common import (
    CheckerPage,
    FeedbackPage,
    StaffPage,
    SubmitterPage,
    flash_redirect,
    render,
    workbench_context,
)
from xinyong.web.uploads import drop_upload, store_upload

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload_form_context(session: SessionDep, caller: Caller) -> dict[str, Any]:
    catalog = current_catalog(session)
    items = sorted(catalog.items.values(), key=lambda i: i.code)
    departments = (
        list(session.scalars(select(Department).order_by(Department.code)))
        if caller.actor.is_admin
        else []
    )
    return {"items": items, "departments": departments}


@router.get("/workbench", response_class=HTMLResponse)
def workbench(request: Request, session: SessionDep, access: StaffPage) -> Response:
    return render(
        request,
        "workbench/index.html",
        access,
        recent=batches_of(session, access.actor, 1, 10),
        **workbench_context(session, access),
        **_upload_form_context(session, access),
    )


# -- submission templates (报送模板) ----------------------------------------------------------


@router.get("/workbench/templates", response_class=HTMLResponse)
def templates_page(request: Request, session: SessionDep, access: StaffPage) -> Response:
    catalog = current_catalog(session)
    items = sorted(
        catalog.items.values(),
        key=lambda i: (i.record_format == "generic", i.code),
    )
    return render(
        request,
        "workbench/templates.html",
        access,
        items=items,
        **workbench_context(session, access),
    )


@router.get("/workbench/templates/{item_code}.{ext}")
def template_file(
    item_code: Annotated[str, FastPath(max_length=64)],
    ext: Annotated[str, FastPath(max_length=4)],
    request: Request,
    session: SessionDep,
    access: StaffPage,
) -> Response:
    item = current_catalog(session).items.get(item_code)
    if item is None or ext not in ("xlsx", "csv"):
        raise NotFound("没有这个目录项的模板", code="template_not_found")
    template = build_template(item, access.actor.department_code, dt.date.today())
    filename = quote(f"{template.filename}.{ext}")
    if ext == "csv":
        body, media = template_csv(template), "text/csv; charset=utf-8"
    else:
        body, media = template_xlsx(template), XLSX
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


@router.post("/workbench/upload", response_class=HTMLResponse)
def upload(request: Request, form: FormDep, session: SessionDep, access: SubmitterPage) -> Response:
    upload_file = form.get("file")
    item = str(form.get("item") or "") or None
    department = str(form.get("department") or "") or None
    if not access.actor.is_admin:
        department = None  # a department submits for itself only
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        return _upload_error(request, session, access, "请选择要上传的文件")
    # Stored under the job folder and queued: the job runner (submissions.jobs) imports it,
    # and the batch page shows its progress while the request is long answered.
    try:
        path = store_upload(upload_file)
    except XinyongError as exc:
        return _upload_error(request, session, access, exc.message)
    on_rollback(session, lambda: drop_upload(path))  # also when the commit fails
    try:
        begin_writing(session)
        batch = queue_file(
            session,
            access.actor,
            path,
            channel="web",
            item_code=item,
            department_code=department,
        )
    except XinyongError as exc:
        session.rollback()
        drop_upload(path)
        return _upload_error(request, session, access, exc.message)
    return RedirectResponse(f"/workbench/batches/{batch.id}", status_code=303)


def _upload_error(
    request: Request, session: SessionDep, caller: Caller, message: str
) -> HTMLResponse:
    return render(
        request,
        "workbench/index.html",
        caller,
        status_code=422,
        error=message,
        recent=batches_of(session, caller.actor, 1, 10),
        **workbench_context(session, caller),
        **_upload_form_context(session, caller),
    )


@router.get("/workbench/batches", response_class=HTMLResponse)
def batches(
    request: Request,
    session: SessionDep,
    access: StaffPage,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return render(
        request,
        "workbench/batches.html",
        access,
        result=batches_of(session, access.actor, page),
        **workbench_context(session, access),
    )


def _batch_context(session: SessionDep, caller: Caller, batch_id: int) -> dict[str, Any]:
    batch = batch_for(session, caller.actor, batch_id)
    dept = session.get(Department, batch.department_id) if batch.department_id else None
    return {
        "batch": batch,
        "batch_department": dept.name if dept else "信用办代报",
        "running": batch.status in (BatchStatus.QUEUED.value, BatchStatus.RUNNING.value),
        **workbench_context(session, caller),
    }


@router.get("/workbench/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(batch_id: int, request: Request, session: SessionDep, access: StaffPage) -> Response:
    context = _batch_context(session, access, batch_id)
    return render(
        request,
        "workbench/batch.html",
        access,
        errors=batch_errors(session, batch_id),
        grade_sources=batch_grade_sources(session, batch_id),
        **context,
    )


@router.get("/workbench/batches/{batch_id}/status", response_class=HTMLResponse)
def batch_status(
    batch_id: int, request: Request, session: SessionDep, access: StaffPage
) -> Response:
    """The progress fragment htmx polls while a batch is running."""
    context = _batch_context(session, access, batch_id)
    response = render(request, "workbench/_batch_status.html", access, **context)
    if not context["running"]:
        response.headers["HX-Refresh"] = "true"  # finished: reload for the error list
    return response


@router.get("/workbench/batches/{batch_id}/errors.xlsx")
def batch_error_file(
    batch_id: int, request: Request, session: SessionDep, access: StaffPage
) -> Response:
    batch = batch_for(session, access.actor, batch_id, own_only=True)
    if not batch.rejected:
        raise NotFound("该批次没有拒收行", code="no_rejected_rows")
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-errors-"))
    out = tmp / "errors.xlsx"
    try:
        write_error_file(session, protector_for(), batch, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type=XLSX,
        filename=f"批次{batch.id}拒收行.xlsx",
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


# -- checks (联合奖惩核查) ---------------------------------------------------------------


def _scenarios(session: SessionDep) -> list[Any]:
    return sorted(current_catalog(session).scenarios.values(), key=lambda s: s.code)


@router.get("/workbench/check", response_class=HTMLResponse)
def check_form(request: Request, session: SessionDep, access: CheckerPage) -> Response:
    return render(
        request,
        "workbench/check.html",
        access,
        scenarios=_scenarios(session),
        **workbench_context(session, access),
    )


@router.post("/workbench/check", response_class=HTMLResponse)
def check_run(
    request: Request,
    session: SessionDep,
    access: CheckerPage,
    id_number: Annotated[str, Form(max_length=64)] = "",
    scenario: Annotated[str, Form(max_length=64)] = "",
    operator: Annotated[str, Form(max_length=200)] = "",
    business_ref: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        if not id_number.strip():
            raise InvalidInput("请输入证件号码", code="missing_number")
        result = run_check(
            session,
            access.actor,
            protector_for(),
            id_number=id_number,
            scenario=scenario,
            operator=operator,
            business_ref=business_ref,
        )
    except XinyongError as exc:
        session.rollback()
        return render(
            request,
            "workbench/check.html",
            access,
            status_code=422,
            error=exc.message,
            scenarios=_scenarios(session),
            form={"scenario": scenario, "operator": operator, "business_ref": business_ref},
            **workbench_context(session, access),
        )
    # The number stays out of the URL: the result page is addressed by the check's id.
    return RedirectResponse(
        f"/workbench/checks/{result.check_id}?n={mask_value(id_number)}", status_code=303
    )


@router.get("/workbench/checks", response_class=HTMLResponse)
def checks_list(
    request: Request,
    session: SessionDep,
    access: CheckerPage,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The department's checks, newest first, with the ones still awaiting 反馈 marked."""
    result = checks_of(session, access.actor, page)
    scenarios = current_catalog(session).scenarios
    return render(
        request,
        "workbench/checks.html",
        access,
        checks=result.checks,
        answered=result.answered,
        scenario_names={code: s.name for code, s in scenarios.items()},
        verdict_names=VERDICT_NAMES,
        page=result.page,
        has_next=result.has_next,
        **workbench_context(session, access),
    )


@router.get("/workbench/checks/{check_id}", response_class=HTMLResponse)
def check_page(
    check_id: int,
    request: Request,
    session: SessionDep,
    access: CheckerPage,
    n: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    check = check_for(session, access.actor, check_id)
    feedback = feedback_of(session, check)
    scenario = current_catalog(session).scenarios.get(check.scenario)
    return render(
        request,
        "workbench/check_result.html",
        access,
        check=check,
        scenario_name=scenario.name if scenario else check.scenario,
        verdict_name=VERDICT_NAMES.get(check.verdict, check.verdict),
        masked_number="*" * 4 if "*" not in n else n,
        feedback=feedback,
        given={f.measure_code for f in feedback},
        can_feedback=can(access.actor, Permission.CHECK_FEEDBACK),
        **workbench_context(session, access),
    )


@router.post("/workbench/checks/{check_id}/feedback")
def check_feedback(
    check_id: int,
    request: Request,
    session: SessionDep,
    access: FeedbackPage,
    measure: Annotated[str, Form(max_length=64)] = "",
    applied: Annotated[str, Form(max_length=8)] = "yes",
    outcome: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        add_feedback(
            session,
            access.actor,
            check_id,
            measure=measure,
            applied=applied == "yes",
            outcome=outcome,
            note=note or None,
        )
    except XinyongError as exc:
        session.rollback()
        return flash_redirect(request, f"/workbench/checks/{check_id}", exc.message)
    return flash_redirect(request, f"/workbench/checks/{check_id}", "已反馈处理结果")


@router.get("/workbench/compare", response_class=HTMLResponse)
def compare_form(request: Request, session: SessionDep, access: CheckerPage) -> Response:
    return render(
        request,
        "workbench/compare.html",
        access,
        scenarios=_scenarios(session),
        **workbench_context(session, access),
    )


@router.post("/workbench/compare")
def compare(request: Request, form: FormDep, session: SessionDep, access: CheckerPage) -> Response:
    upload_file = form.get("file")
    scenario = str(form.get("scenario") or "")
    operator = str(form.get("operator") or "").strip()
    error = None
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        error = "请选择要比对的名单文件"
    elif not operator:
        error = "请填写经办人"
    elif scenario not in current_catalog(session).scenarios:
        error = "请选择应用场景"
    if error is not None or not isinstance(upload_file, UploadFile):
        return render(
            request,
            "workbench/compare.html",
            access,
            status_code=422,
            error=error,
            scenarios=_scenarios(session),
            **workbench_context(session, access),
        )
    limit = get_settings().max_upload_bytes
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-compare-"))
    source = tmp / ("input" + Path(upload_file.filename or "").suffix.lower())
    size = 0
    with source.open("wb") as fh:
        while block := upload_file.file.read(1 << 20):
            size += len(block)
            if size > limit:
                shutil.rmtree(tmp, ignore_errors=True)
                raise InvalidInput(f"文件超过 {limit // (1 << 20)} MB 上限", code="too_large")
            fh.write(block)
    out = tmp / "result.xlsx"
    try:
        compare_file(
            source,
            out,
            scenario=scenario,
            operator=operator,
            actor=access.actor,
            session=session,
        )
    except XinyongError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        session.rollback()
        return render(
            request,
            "workbench/compare.html",
            access,
            status_code=422,
            error=exc.message,
            scenarios=_scenarios(session),
            **workbench_context(session, access),
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type=XLSX,
        filename="比对结果.xlsx",
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )
