"""The person's remedies in the personal centre: objections (异议), credit repair (信用修复),
commitments (信用承诺); and the public tip-off form (举报) with its tracking.

Forms post multipart (evidence files are optional) and work without JavaScript. Every
service call is the one the API makes; the pages only translate forms and errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from xinyong.accounts.services import Caller
from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.commitments import services as commitments
from xinyong.commitments.workflow import KIND_NAMES as COMMITMENT_KIND_NAMES
from xinyong.commitments.workflow import CommitmentKind
from xinyong.errors import InvalidInput, NotFound, XinyongError
from xinyong.objections import services as objections
from xinyong.records.models import Record
from xinyong.repair import services as repair
from xinyong.repair.workflow import METHOD_NAMES
from xinyong.tipoffs import services as tipoffs
from xinyong.web.deps import FormDep, SessionDep
from xinyong.web.pages.account import login_csrf_ok
from xinyong.web.pages.common import (
    EXTRA_NAV,
    PersonPage,
    flash_redirect,
    render,
    render_with_login_csrf,
)
from xinyong.web.pages.home import client_key
from xinyong.web.ratelimit import limiter
from xinyong.web.uploads import evidence_from_form

router = APIRouter(include_in_schema=False)

EXTRA_NAV.append(("/tipoffs", "信用举报"))

# Commitments a person makes on their own initiative here; the others belong to a
# department's business (审批替代型…) or to a repair application (信用修复型).
SELF_COMMITMENT_KINDS = (CommitmentKind.VOLUNTARY, CommitmentKind.EMPLOYMENT)


def _own_record(session: SessionDep, caller: Caller, record_id: int) -> Record:
    record = session.get(Record, record_id)
    if record is None or record.subject_id != caller.actor.subject_id:
        raise NotFound("记录不存在", code="record_not_found")
    return record


def _record_view(session: SessionDep, record: Record) -> dict[str, Any]:
    catalog = current_catalog(session)
    item = catalog.items.get(record.item_code)
    dept = session.get(Department, record.department_id)
    grade = catalog.grades.get(record.grade or "")
    return {
        "id": record.id,
        "item_name": item.name if item else record.item_code,
        "behaviour": record.behaviour,
        "document_number": record.document_number,
        "decision_date": record.decision_date,
        "department": dept.name if dept else "",
        "grade_name": grade.name if grade else None,
        "display_until": record.display_until,
    }


def _to_me(request: Request, message: str, anchor: str) -> RedirectResponse:
    return flash_redirect(request, f"/me#{anchor}", message)


# -- objections ---------------------------------------------------------------------------


@router.get("/me/objections/new", response_class=HTMLResponse)
def objection_form(
    request: Request, session: SessionDep, access: PersonPage, record: int = 0
) -> Response:
    found = _own_record(session, access, record)
    return render(
        request, "remedies/objection_form.html", access, record=_record_view(session, found)
    )


@router.post("/me/objections", response_class=HTMLResponse)
def file_objection(
    request: Request, form: FormDep, session: SessionDep, access: PersonPage
) -> Response:
    try:
        record_id = int(str(form.get("record_id") or 0))
    except ValueError:
        record_id = 0
    record = _own_record(session, access, record_id)
    reason = str(form.get("reason") or "")
    try:
        filed = objections.file_objection(
            session, access.actor, record.id, reason=reason, evidence=evidence_from_form(form)
        )
    except XinyongError as exc:
        session.rollback()
        return render(
            request,
            "remedies/objection_form.html",
            access,
            status_code=exc.http_status,
            record=_record_view(session, record),
            error=exc.message,
            reason=reason,
        )
    return _to_me(request, f"异议已提交（编号 {filed.id}），该记录已标注为异议处理中", "objections")


@router.post("/me/objections/{objection_id}/withdraw")
def withdraw_objection(
    objection_id: int, request: Request, session: SessionDep, access: PersonPage
) -> Response:
    try:
        objections.withdraw_objection(session, access.actor, objection_id)
    except XinyongError as exc:
        session.rollback()
        return _to_me(request, exc.message, "objections")
    return _to_me(request, "异议已撤回", "objections")


# -- repair -------------------------------------------------------------------------------


@router.get("/me/repairs/new", response_class=HTMLResponse)
def repair_form(
    request: Request, session: SessionDep, access: PersonPage, record: int = 0
) -> Response:
    found = _own_record(session, access, record)
    eligibility = repair.check_repair(session, access.actor, found.id)
    return render(
        request,
        "remedies/repair_form.html",
        access,
        record=_record_view(session, found),
        eligibility=eligibility,
        methods={m.value: n for m, n in METHOD_NAMES.items()},
    )


@router.post("/me/repairs", response_class=HTMLResponse)
def apply_for_repair(
    request: Request, form: FormDep, session: SessionDep, access: PersonPage
) -> Response:
    try:
        record_id = int(str(form.get("record_id") or 0))
    except ValueError:
        record_id = 0
    record = _own_record(session, access, record_id)
    values = {
        "method": str(form.get("method") or ""),
        "statement": str(form.get("statement") or ""),
        "commitment_text": str(form.get("commitment_text") or ""),
    }
    try:
        application = repair.apply_for_repair(
            session,
            access.actor,
            record.id,
            method=values["method"],
            statement=values["statement"],
            duties_performed=form.get("duties_performed") == "on",
            commit=form.get("commitment") == "on",
            commitment_text=values["commitment_text"] or None,
            evidence=evidence_from_form(form),
        )
    except XinyongError as exc:
        session.rollback()
        return render(
            request,
            "remedies/repair_form.html",
            access,
            status_code=exc.http_status,
            record=_record_view(session, record),
            eligibility=repair.check_repair(session, access.actor, record.id),
            methods={m.value: n for m, n in METHOD_NAMES.items()},
            error=exc.message,
            values=values,
        )
    return _to_me(request, f"信用修复申请已提交（编号 {application.id}）", "repairs")


@router.post("/me/repairs/{application_id}/withdraw")
def withdraw_repair(
    application_id: int, request: Request, session: SessionDep, access: PersonPage
) -> Response:
    try:
        repair.withdraw_repair(session, access.actor, application_id)
    except XinyongError as exc:
        session.rollback()
        return _to_me(request, exc.message, "repairs")
    return _to_me(request, "修复申请已撤回", "repairs")


# -- commitments --------------------------------------------------------------------------


@router.post("/me/commitments")
def make_commitment(
    request: Request, form: FormDep, session: SessionDep, access: PersonPage
) -> Response:
    kind = str(form.get("kind") or "")
    if kind not in {k.value for k in SELF_COMMITMENT_KINDS}:
        return _to_me(request, "请选择承诺类型", "commitments")
    due = str(form.get("due_on") or "")
    try:
        made = commitments.make_commitment(
            session,
            access.actor,
            access.actor.subject_id or 0,
            kind=kind,
            matter=str(form.get("matter") or ""),
            due_on=dt.date.fromisoformat(due) if due else None,
        )
    except ValueError:
        session.rollback()
        return _to_me(request, "履约期限日期格式不正确", "commitments")
    except XinyongError as exc:
        session.rollback()
        return _to_me(request, exc.message, "commitments")
    return _to_me(request, f"已作出信用承诺（编号 {made.code}）", "commitments")


def personal_remedies(session: SessionDep, caller: Caller) -> dict[str, Any]:
    """What the personal centre shows of the person's remedies, and each record's actions."""
    actor = caller.actor
    assert actor.subject_id is not None
    own_objections = objections.list_objections(session, actor)
    applications = repair.list_applications(session, actor)
    options = {o["record_id"]: o for o in repair.repair_options(session, actor, actor.subject_id)}
    open_objection = {o["record_id"] for o in own_objections if o["actions"]}
    open_repair = {a["record_id"] for a in applications if a["actions"]}
    actions: dict[int, list[tuple[str, str]]] = {}
    for record_id, state in session.execute(
        select(Record.id, Record.state).where(Record.subject_id == actor.subject_id)
    ):
        links = []
        if state == "active" and record_id not in open_objection:
            links.append((f"/me/objections/new?record={record_id}", "提出异议"))
        option = options.get(record_id)
        if option and option["eligible"] and record_id not in open_repair:
            links.append((f"/me/repairs/new?record={record_id}", "申请信用修复"))
        elif option and state == "active" and option.get("eligible_from"):
            links.append((f"/me/repairs/new?record={record_id}", "修复条件"))
        if links:
            actions[record_id] = links
    return {
        "objections": own_objections,
        "repairs": applications,
        "commitments": [
            commitments.commitment_as_dict(session, c)
            for c in commitments.list_commitments(session, actor)
        ],
        "record_actions": actions,
        "commitment_kinds": {k.value: COMMITMENT_KIND_NAMES[k] for k in SELF_COMMITMENT_KINDS},
    }


# -- tip-offs (public) --------------------------------------------------------------------


def _tipoff_form(
    request: Request, session: SessionDep, status_code: int = 200, **extra: Any
) -> Response:
    catalog = current_catalog(session)
    return render_with_login_csrf(
        request,
        "remedies/tipoff.html",
        status_code,
        domains=sorted(catalog.domains.values(), key=lambda d: d.code),
        departments=list(session.scalars(select(Department).order_by(Department.code))),
        **extra,
    )


@router.get("/tipoffs", response_class=HTMLResponse)
def tipoff_page(request: Request, session: SessionDep) -> Response:
    return _tipoff_form(request, session)


@router.post("/tipoffs", response_class=HTMLResponse)
def submit_tipoff(request: Request, form: FormDep, session: SessionDep) -> Response:
    values = {k: str(form.get(k) or "") for k in ("about", "content", "domain", "department")}
    try:
        if not login_csrf_ok(request, str(form.get("csrf_token") or "")):
            raise InvalidInput("页面已失效，请刷新后重试", code="csrf_failed")
        limiter.hit("tipoff", client_key(request))
        _tipoff, code = tipoffs.submit_tipoff(
            session,
            about=values["about"],
            content=values["content"],
            domain=values["domain"] or None,
            department_code=values["department"] or None,
            attachments=evidence_from_form(form, "attachments"),
        )
    except XinyongError as exc:
        session.rollback()
        return _tipoff_form(request, session, exc.http_status, error=exc.message, values=values)
    return _tipoff_form(request, session, submitted_code=code)


@router.post("/tipoffs/track", response_class=HTMLResponse)
def track_tipoff(request: Request, form: FormDep, session: SessionDep) -> Response:
    """The tracking code travels in the body, never in a URL."""
    code = str(form.get("code") or "").strip()[:32]
    try:
        if not login_csrf_ok(request, str(form.get("csrf_token") or "")):
            raise InvalidInput("页面已失效，请刷新后重试", code="csrf_failed")
        # Tracking codes are guessable only by brute force: the search limiter bounds it.
        if limiter.wait("search", client_key(request)):
            raise InvalidInput("查询过于频繁，请稍后再试", code="too_many_requests")
        status = tipoffs.track_tipoff(session, code)
    except XinyongError as exc:
        return _tipoff_form(request, session, exc.http_status, track_error=exc.message)
    return _tipoff_form(request, session, tracked=status)
