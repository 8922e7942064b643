"""The department's queues: objections (异议) and repair applications (信用修复) with their
deadlines and overdue marks, and tip-offs (举报). The credit office sees every department's.

Who may act is the workflows' state machines' business: the pages show the actions the
machine offers the actor and call the same services as the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.errors import XinyongError
from xinyong.objections import services as objections
from xinyong.objections.workflow import OBJECTION_MACHINE
from xinyong.records.grading import grade_source_label
from xinyong.records.models import Record
from xinyong.repair import services as repair
from xinyong.repair.workflow import repair_machine
from xinyong.tipoffs import services as tipoffs
from xinyong.tipoffs.workflow import STATE_NAMES as TIPOFF_STATE_NAMES
from xinyong.web.deps import SessionDep
from xinyong.web.pages.common import (
    CaseStaffPage,
    flash_redirect,
    render,
    workbench_context,
)

router = APIRouter(include_in_schema=False)


def _overdue(case: dict[str, Any], today: str) -> bool:
    return bool(case["actions"]) and case["decide_by"] < today


def _record_context(session: SessionDep, record_id: int) -> dict[str, Any]:
    record = session.get(Record, record_id)
    if record is None:
        return {}
    catalog = current_catalog(session)
    item = catalog.items.get(record.item_code)
    grade = catalog.grades.get(record.grade or "")
    return {
        "item_name": item.name if item else record.item_code,
        "behaviour": record.behaviour,
        "document_number": record.document_number,
        "decision_date": record.decision_date,
        "grade_name": grade.name if grade else None,
        "grade_source_name": grade_source_label(record.grade_source, catalog),
        "display_until": record.display_until,
        "nature": record.nature,
    }


# -- objections ---------------------------------------------------------------------------


@router.get("/workbench/objections", response_class=HTMLResponse)
def objection_queue(
    request: Request, session: SessionDep, access: CaseStaffPage, state: str = ""
) -> Response:
    today = dt.date.today().isoformat()
    cases = objections.list_objections(session, access.actor, state=state or None)
    return render(
        request,
        "cases/objections.html",
        access,
        cases=cases,
        overdue={c["id"] for c in cases if _overdue(c, today)},
        open_count=sum(1 for c in cases if c["actions"]),
        **workbench_context(session, access),
    )


@router.get("/workbench/objections/{objection_id}", response_class=HTMLResponse)
def objection_page(
    objection_id: int, request: Request, session: SessionDep, access: CaseStaffPage
) -> Response:
    case = objections.read_objection(session, access.actor, objection_id)
    catalog = current_catalog(session)
    return render(
        request,
        "cases/objection.html",
        access,
        case=case,
        record=_record_context(session, case["record_id"]),
        overdue=_overdue(case, dt.date.today().isoformat()),
        grades=sorted(catalog.grades.values(), key=lambda g: g.rank),
        machine=OBJECTION_MACHINE,
        **workbench_context(session, access),
    )


def _back(request: Request, path: str, message: str) -> RedirectResponse:
    return flash_redirect(request, path, message)


@router.post("/workbench/objections/{objection_id}/accept")
def accept_objection(
    objection_id: int, request: Request, session: SessionDep, access: CaseStaffPage
) -> Response:
    path = f"/workbench/objections/{objection_id}"
    try:
        objections.accept_objection(session, access.actor, objection_id)
    except XinyongError as exc:
        session.rollback()
        return _back(request, path, exc.message)
    return _back(request, path, "已受理")


@router.post("/workbench/objections/{objection_id}/extend")
def extend_objection(
    objection_id: int,
    request: Request,
    session: SessionDep,
    access: CaseStaffPage,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    path = f"/workbench/objections/{objection_id}"
    try:
        objections.extend_objection(session, access.actor, objection_id, reason=reason)
    except XinyongError as exc:
        session.rollback()
        return _back(request, path, exc.message)
    return _back(request, path, "已延期")


@router.post("/workbench/objections/{objection_id}/decide")
def decide_objection(
    objection_id: int,
    request: Request,
    session: SessionDep,
    access: CaseStaffPage,
    outcome: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    grade: Annotated[str, Form(max_length=32)] = "",
    behaviour: Annotated[str, Form(max_length=500)] = "",
    decision_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    path = f"/workbench/objections/{objection_id}"
    corrections: dict[str, Any] | None = None
    if outcome == "corrected":
        corrections = {
            k: v
            for k, v in (
                ("grade", grade),
                ("behaviour", behaviour.strip()),
                ("decision_date", decision_date),
            )
            if v
        }
    try:
        objections.decide_objection(
            session,
            access.actor,
            objection_id,
            outcome=outcome,
            reason=reason,
            corrections=corrections,
        )
    except XinyongError as exc:
        session.rollback()
        return _back(request, path, exc.message)
    return _back(request, path, "已作出处理决定，并已通知信息主体")


# -- repair -------------------------------------------------------------------------------


@router.get("/workbench/repairs", response_class=HTMLResponse)
def repair_queue(
    request: Request, session: SessionDep, access: CaseStaffPage, state: str = ""
) -> Response:
    today = dt.date.today().isoformat()
    cases = repair.list_applications(session, access.actor, state=state or None)
    return render(
        request,
        "cases/repairs.html",
        access,
        cases=cases,
        overdue={c["id"] for c in cases if _overdue(c, today)},
        open_count=sum(1 for c in cases if c["actions"]),
        **workbench_context(session, access),
    )


@router.get("/workbench/repairs/{application_id}", response_class=HTMLResponse)
def repair_page(
    application_id: int, request: Request, session: SessionDep, access: CaseStaffPage
) -> Response:
    case = repair.read_application(session, access.actor, application_id)
    return render(
        request,
        "cases/repair.html",
        access,
        case=case,
        record=_record_context(session, case["record_id"]),
        overdue=_overdue(case, dt.date.today().isoformat()),
        machine=repair_machine(get_settings().repair_office_review),
        **workbench_context(session, access),
    )


@router.post("/workbench/repairs/{application_id}/decide")
def decide_repair(
    application_id: int,
    request: Request,
    session: SessionDep,
    access: CaseStaffPage,
    approve: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    path = f"/workbench/repairs/{application_id}"
    try:
        repair.decide_repair(
            session, access.actor, application_id, approve=approve == "yes", reason=reason
        )
    except XinyongError as exc:
        session.rollback()
        return _back(request, path, exc.message)
    return _back(request, path, "已作出审核决定，并已通知信息主体")


# -- tip-offs -----------------------------------------------------------------------------


@router.get("/workbench/tipoffs", response_class=HTMLResponse)
def tipoff_queue(request: Request, session: SessionDep, access: CaseStaffPage) -> Response:
    rows = tipoffs.list_tipoffs(session, access.actor)
    departments = list(session.scalars(select(Department).order_by(Department.code)))
    names = {d.id: d.name for d in departments}
    from xinyong.tipoffs.workflow import TIPOFF_MACHINE

    cases = []
    for t in rows:
        case = tipoffs.tipoff_as_dict(session, t)
        case["department"] = names.get(t.department_id or 0)
        case["actions"] = TIPOFF_MACHINE.actions_for(t.state, access.actor.role)
        cases.append(case)
    return render(
        request,
        "cases/tipoffs.html",
        access,
        cases=cases,
        departments=departments,
        state_names={s.value: n for s, n in TIPOFF_STATE_NAMES.items()},
        **workbench_context(session, access),
    )


@router.post("/workbench/tipoffs/{tipoff_id}")
def act_on_tipoff(
    tipoff_id: int,
    request: Request,
    session: SessionDep,
    access: CaseStaffPage,
    action: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    department: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        tipoffs.act_on_tipoff(
            session,
            access.actor,
            tipoff_id,
            action=action,
            reason=reason or None,
            department_code=department or None,
        )
    except XinyongError as exc:
        session.rollback()
        return _back(request, "/workbench/tipoffs", exc.message)
    return _back(request, "/workbench/tipoffs", f"举报 {tipoff_id} 已处理")
