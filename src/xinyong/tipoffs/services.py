"""Tip-off services: anonymous submission with a tracking code, routing, handling."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, Role
from xinyong.catalog.models import Department
from xinyong.db import utcnow
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.tipoffs.models import Tipoff
from xinyong.tipoffs.workflow import (
    STATE_NAMES,
    TIPOFF_MACHINE,
    TipoffAction,
    TipoffState,
    new_tracking_code,
    scrub_identity_numbers,
    tracking_hash,
)
from xinyong.workflows.access import refuse_auditor
from xinyong.workflows.cases import open_case
from xinyong.workflows.evidence import Upload, evidence_as_dicts, evidence_of
from xinyong.workflows.history import history_as_dicts, history_of, take_step

WORKFLOW = "tipoff"
PUBLIC = Actor(name="公众举报人", role="public", channel="web")
ROUTER = Actor(name="system:tipoff-routing", role=Role.SYSTEM, channel="web")
MAX_CONTENT = 5000


def _department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(f"部门 {code} 未登记", code="unknown_department")
    return dept


def _step(
    session: Session, actor: Actor, tipoff: Tipoff, action: TipoffAction, reason: str | None
) -> None:
    take_step(session, actor, tipoff, TIPOFF_MACHINE, WORKFLOW, action.value, reason)


def submit_tipoff(
    session: Session,
    *,
    about: str,
    content: str,
    domain: str | None = None,
    department_code: str | None = None,
    attachments: list[Upload] | None = None,
) -> tuple[Tipoff, str]:
    """举报: stored with identity numbers masked; routed to the named department, else
    to the credit office for routing. Returns the tip-off and its tracking code (shown
    once; only its hash is kept)."""
    who = (about or "").strip()
    text = (content or "").strip()
    if not who:
        raise InvalidInput("须填写被举报对象", code="about_required")
    if len(text) < 10:
        raise InvalidInput(
            "举报内容过短，请具体描述失信行为（至少 10 字）", code="content_too_short"
        )
    if len(text) > MAX_CONTENT:
        raise InvalidInput(f"举报内容不能超过 {MAX_CONTENT} 字", code="text_too_long")
    dept = _department(session, department_code) if department_code else None
    code = new_tracking_code()
    tipoff = Tipoff(
        tracking_hash=tracking_hash(code),
        about=scrub_identity_numbers(who)[:200],
        domain=(domain or "").strip()[:64] or None,
        content=scrub_identity_numbers(text),
        state=TipoffState.RECEIVED.value,
    )
    open_case(session, PUBLIC, tipoff, WORKFLOW, "submit", evidence=attachments)
    if dept is not None:
        tipoff.department_id = dept.id
        _step(session, ROUTER, tipoff, TipoffAction.ROUTE, f"举报人选择 {dept.name}")
    return tipoff, code


def track_tipoff(session: Session, code: str) -> dict[str, Any]:
    """The submitter's view: state and reply, nothing about who handles it internally."""
    tipoff = session.scalar(select(Tipoff).where(Tipoff.tracking_hash == tracking_hash(code)))
    if tipoff is None:
        raise NotFound("查询码不存在，请核对后重试", code="tipoff_not_found")
    dept = session.get(Department, tipoff.department_id) if tipoff.department_id else None
    return {
        "state": tipoff.state,
        "state_name": STATE_NAMES[TipoffState(tipoff.state)],
        "submitted_at": tipoff.submitted_at.isoformat(),
        "department": dept.name if dept else None,
        "reply": tipoff.reply,
        "closed_at": tipoff.closed_at.isoformat() if tipoff.closed_at else None,
    }


def get_tipoff(session: Session, actor: Actor, tipoff_id: int) -> Tipoff:
    refuse_auditor(actor, "举报内容")
    tipoff = session.get(Tipoff, tipoff_id)
    if tipoff is None or not (
        actor.is_admin or (actor.is_department and tipoff.department_id == actor.department_id)
    ):
        raise NotFound("举报不存在", code="tipoff_not_found")
    return tipoff


def act_on_tipoff(
    session: Session,
    actor: Actor,
    tipoff_id: int,
    *,
    action: str,
    reason: str | None = None,
    department_code: str | None = None,
) -> Tipoff:
    """Route (信用办), return, investigate, close with a reply, or reject with a reason."""
    try:
        chosen = TipoffAction(action)
    except ValueError:
        raise InvalidInput(
            "操作应为 route、return、investigate、close 或 reject", code="bad_action"
        ) from None
    tipoff = get_tipoff(session, actor, tipoff_id)
    text = (reason or "").strip()
    if chosen in (TipoffAction.CLOSE, TipoffAction.REJECT, TipoffAction.RETURN) and not text:
        raise InvalidInput("须写明处理结果或理由", code="reason_required")
    if chosen is TipoffAction.ROUTE:
        if not department_code:
            raise InvalidInput("转办须指定责任部门", code="department_required")
        dept = _department(session, department_code)
        _step(session, actor, tipoff, chosen, text or f"转 {dept.name}")
        tipoff.department_id = dept.id
        return tipoff
    _step(session, actor, tipoff, chosen, text or None)
    if chosen is TipoffAction.RETURN:
        tipoff.department_id = None
    if chosen in (TipoffAction.CLOSE, TipoffAction.REJECT):
        tipoff.reply = text[:4000]
        tipoff.closed_at = utcnow()
    return tipoff


def tipoff_as_dict(session: Session, tipoff: Tipoff) -> dict[str, Any]:
    return {
        "id": tipoff.id,
        "about": tipoff.about,
        "domain": tipoff.domain,
        "content": tipoff.content,
        "department_id": tipoff.department_id,
        "state": tipoff.state,
        "state_name": STATE_NAMES[TipoffState(tipoff.state)],
        "reply": tipoff.reply,
        "submitted_at": tipoff.submitted_at.isoformat(),
        "attachments": evidence_as_dicts(evidence_of(session, WORKFLOW, tipoff.id)),
        "history": history_as_dicts(history_of(session, WORKFLOW, tipoff.id)),
    }


def list_tipoffs(session: Session, actor: Actor, *, state: str | None = None) -> list[Tipoff]:
    refuse_auditor(actor, "举报内容")
    stmt = select(Tipoff).order_by(Tipoff.id.desc()).limit(500)
    if actor.is_department:
        stmt = stmt.where(Tipoff.department_id == (actor.department_id or -1))
    elif not actor.is_admin:
        raise Forbidden("无权查看举报", code="forbidden")
    if state:
        stmt = stmt.where(Tipoff.state == state)
    return list(session.scalars(stmt))
