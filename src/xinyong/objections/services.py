"""Objection services: file, accept, extend, decide, withdraw, escalate; and the
行政复议 / 诉讼 outcomes a department enters. Each call is one step of the state machine in
:mod:`xinyong.objections.workflow`, flushed in the caller's transaction together with the
record's new state, the list and score updates, the step's history and the notice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, Role
from xinyong.catalog.services import current_catalog
from xinyong.changes.records import correct_record, set_record_state, validate_corrections
from xinyong.config import get_settings
from xinyong.errors import Conflict, Forbidden, InvalidInput
from xinyong.notices.services import queue_case_notice, queue_notice
from xinyong.objections.models import Objection
from xinyong.objections.workflow import (
    OBJECTION_MACHINE,
    OPEN_STATES,
    OUTCOME_ACTIONS,
    STATE_NAMES,
    ObjectionAction,
    ObjectionState,
    deadlines,
    is_overdue,
)
from xinyong.records.models import Record, RecordState
from xinyong.records.services import get_record
from xinyong.records.states import STATE_NAMES as RECORD_STATE_NAMES
from xinyong.workdays import WorkdayCalendar
from xinyong.workdays.services import calendar_for
from xinyong.workflows.access import require_department, require_filer, require_for_subject
from xinyong.workflows.cases import CaseKind, case_head, case_tail, open_case
from xinyong.workflows.evidence import Upload
from xinyong.workflows.history import take_step

WORKFLOW = "objection"
AUTHORIZATION_SCOPE = "objection"
MAX_TEXT = 4000


def _text(value: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"须填写{what}", code="reason_required")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{what}不能超过 {MAX_TEXT} 字", code="text_too_long")
    return text


def _item_name(session: Session, record: Record) -> str:
    item = current_catalog(session).items.get(record.item_code)
    return item.name if item else record.item_code


CASES = CaseKind(
    model=Objection,
    filed_by=Objection.filed_by,
    state=Objection.state,
    action="objection:view",
    what="异议",
    content="异议内容",
    refusal="无权查看异议",
    missing="异议不存在",
    missing_code="objection_not_found",
)


def _step(
    session: Session, actor: Actor, case: Objection, action: ObjectionAction, reason: str | None
) -> str:
    return take_step(session, actor, case, OBJECTION_MACHINE, WORKFLOW, action.value, reason)


def _notify(session: Session, objection: Objection, title: str, body: str) -> None:
    queue_case_notice(session, WORKFLOW, objection, title, body)


def _provisional_note(calendar: WorkdayCalendar, objection: Objection) -> str:
    if calendar.provisional_between(objection.filed_on, objection.decide_by):
        return "（暂定：该年度节假日安排尚未公布，公布后期限将重新计算）"
    return ""


def file_objection(
    session: Session,
    actor: Actor,
    record_id: int,
    *,
    reason: str,
    evidence: list[Upload] | None = None,
    authorization_id: int | None = None,
    on: dt.date | None = None,
    calendar: WorkdayCalendar | None = None,
) -> Objection:
    """提出异议: the record is marked 异议处理中 at once and routed to its department."""
    on = on or dt.date.today()
    record = get_record(session, record_id)
    require_for_subject(
        session,
        actor,
        record.subject_id,
        scope=AUTHORIZATION_SCOPE,
        authorization_id=authorization_id,
    )
    text = _text(reason, "异议理由")
    if record.state != RecordState.ACTIVE.value:
        raise Conflict(
            f"该记录当前为“{RECORD_STATE_NAMES[RecordState(record.state)]}”，不能提出异议",
            code="record_not_active",
        )
    open_one = session.scalar(
        select(Objection.id).where(
            Objection.record_id == record.id, Objection.state.in_(sorted(OPEN_STATES))
        )
    )
    if open_one is not None:
        raise Conflict(f"该记录已有未办结的异议（编号 {open_one}）", code="objection_open")
    settings = get_settings()
    calendar = calendar or calendar_for(session)
    due = deadlines(
        calendar,
        on,
        mark_workdays=settings.objection_mark_workdays,
        decide_workdays=settings.objection_decide_workdays,
        extended_workdays=settings.objection_extended_workdays,
    )
    objection = Objection(
        record_id=record.id,
        subject_id=record.subject_id,
        department_id=record.department_id,
        record_version=record.version,
        record_state_before=record.state,
        state=ObjectionState.FILED.value,
        reason=text,
        filed_by=actor.name[:200],
        filed_role=actor.role,
        authorization_id=authorization_id,
        filed_on=on,
        mark_by=due.mark_by,
        decide_by=due.decide_by,
    )
    open_case(session, actor, objection, WORKFLOW, "file", text, evidence)
    set_record_state(
        session,
        actor,
        record,
        RecordState.DISPUTED,
        action="dispute",
        reason=f"异议 {objection.id}",
        on=on,
    )
    _notify(
        session,
        objection,
        "异议已提交",
        f"您对“{_item_name(session, record)}”记录（{record.document_number}）提出的异议已提交，"
        f"异议编号 {objection.id}。该记录已标注为“异议处理中”，处理完毕前不用于核查、名单和积分。"
        f"认定部门应于 {objection.decide_by:%Y年%m月%d日} 前作出处理"
        f"{_provisional_note(calendar, objection)}。",
    )
    return objection


def get_objection(session: Session, objection_id: int) -> Objection:
    return CASES.get(session, objection_id)


def _require_department_side(actor: Actor, objection: Objection) -> None:
    require_department(actor, objection.department_id)


def accept_objection(
    session: Session, actor: Actor, objection_id: int, *, on: dt.date | None = None
) -> Objection:
    """受理: the department confirms it has the objection (within the marking deadline)."""
    objection = get_objection(session, objection_id)
    _require_department_side(actor, objection)
    _step(session, actor, objection, ObjectionAction.ACCEPT, None)
    objection.accepted_on = on or dt.date.today()
    return objection


def extend_objection(
    session: Session,
    actor: Actor,
    objection_id: int,
    *,
    reason: str,
    on: dt.date | None = None,
    calendar: WorkdayCalendar | None = None,
) -> Objection:
    """延期 (once): the decision deadline becomes ``objection_extended_workdays`` after filing."""
    objection = get_objection(session, objection_id)
    _require_department_side(actor, objection)
    text = _text(reason, "延期理由")
    _step(session, actor, objection, ObjectionAction.EXTEND, text)
    settings = get_settings()
    objection.extended_on = on or dt.date.today()
    calendar = calendar or calendar_for(session)
    objection.decide_by = deadlines(
        calendar,
        objection.filed_on,
        mark_workdays=settings.objection_mark_workdays,
        decide_workdays=settings.objection_decide_workdays,
        extended_workdays=settings.objection_extended_workdays,
        extended=True,
    ).decide_by
    _notify(
        session,
        objection,
        "异议处理期限延长",
        f"您的异议（编号 {objection.id}）处理期限延长至 {objection.decide_by:%Y年%m月%d日}"
        f"{_provisional_note(calendar, objection)}。"
        f"理由：{text}",
    )
    return objection


def decide_objection(
    session: Session,
    actor: Actor,
    objection_id: int,
    *,
    outcome: str,
    reason: str,
    corrections: dict[str, Any] | None = None,
    on: dt.date | None = None,
) -> Objection:
    """The decision: 更正 (a new version of the record), 撤销 (the record revoked), or
    维持 (upheld, with reasons; the record is used again). The person is told."""
    on = on or dt.date.today()
    action = OUTCOME_ACTIONS.get(outcome)
    if action is None:
        raise InvalidInput("处理结果应为 corrected、revoked 或 upheld", code="bad_outcome")
    objection = get_objection(session, objection_id)
    _require_department_side(actor, objection)
    text = _text(reason, "处理理由")
    record = get_record(session, objection.record_id)
    if action is ObjectionAction.CORRECT:
        validate_corrections(session, record, dict(corrections or {}))
    _step(session, actor, objection, action, text)
    objection.decided_on = on
    objection.decided_by = actor.name[:200]
    objection.decision_reason = text
    if action is ObjectionAction.CORRECT:
        objection.corrections = dict(corrections or {})
        correct_record(session, actor, record, dict(corrections or {}), reason=text, on=on)
        summary = "经核查，记录已更正"
    elif action is ObjectionAction.REVOKE:
        set_record_state(
            session,
            actor,
            record,
            RecordState.REVOKED,
            action="revoke",
            reason=f"异议 {objection.id}：{text}",
            on=on,
            exchange=True,
        )
        summary = "经核查，记录已撤销，不再公示和使用"
    else:
        set_record_state(
            session,
            actor,
            record,
            RecordState(objection.record_state_before),
            action="uphold",
            reason=f"异议 {objection.id}：{text}",
            on=on,
        )
        summary = "经核查，维持原记录"
    _notify(
        session,
        objection,
        "异议处理结果",
        f"您对“{_item_name(session, record)}”记录（{record.document_number}）的异议"
        f"（编号 {objection.id}）已处理：{summary}。理由：{text}。"
        "如对处理结果不服，可依法申请行政复议或提起行政诉讼。",
    )
    return objection


def withdraw_objection(
    session: Session, actor: Actor, objection_id: int, *, on: dt.date | None = None
) -> Objection:
    """撤回: the applicant withdraws; the record is used again as it was."""
    on = on or dt.date.today()
    objection = get_objection(session, objection_id)
    require_filer(
        actor, objection.subject_id, objection.filed_by, noun="异议", code="not_own_objection"
    )
    _step(session, actor, objection, ObjectionAction.WITHDRAW, None)
    objection.decided_on = on
    record = get_record(session, objection.record_id)
    if record.state == RecordState.DISPUTED.value:
        set_record_state(
            session,
            actor,
            record,
            RecordState(objection.record_state_before),
            action="withdraw",
            reason=f"异议 {objection.id} 撤回",
            on=on,
        )
    _notify(session, objection, "异议已撤回", f"您的异议（编号 {objection.id}）已撤回。")
    return objection


def escalate_overdue(session: Session, actor: Actor, on: dt.date) -> list[Objection]:
    """Objections past their decision deadline go to the credit office (督办); idempotent."""
    rows = list(
        session.scalars(
            select(Objection)
            .where(
                Objection.state.in_(
                    [ObjectionState.FILED, ObjectionState.ACCEPTED, ObjectionState.EXTENDED]
                ),
                Objection.decide_by < on,
            )
            .order_by(Objection.id)
        )
    )
    escalated = []
    for objection in rows:
        if not is_overdue(objection.state, objection.decide_by, on):
            continue
        _step(session, actor, objection, ObjectionAction.ESCALATE, "逾期未处理")
        objection.escalated_on = on
        _notify(
            session,
            objection,
            "异议已转信用办督办",
            f"您的异议（编号 {objection.id}）认定部门逾期未处理，已转市信用办督办。",
        )
        escalated.append(objection)
    return escalated


def enter_review_outcome(
    session: Session,
    actor: Actor,
    record_id: int,
    *,
    kind: str,
    outcome: str,
    document: str,
    reason: str,
    corrections: dict[str, Any] | None = None,
    on: dt.date | None = None,
) -> Record:
    """行政复议 or 诉讼 outcome entered by the department: the record is revoked or changed
    the same way an objection would; an open objection on it is closed by the same
    decision."""
    on = on or dt.date.today()
    kinds = {"reconsideration": "行政复议", "litigation": "行政诉讼"}
    if kind not in kinds:
        raise InvalidInput(
            "类型应为 reconsideration（行政复议）或 litigation（行政诉讼）", code="bad_kind"
        )
    if outcome not in ("revoked", "corrected"):
        raise InvalidInput("结果应为 revoked 或 corrected", code="bad_outcome")
    record = get_record(session, record_id)
    require_department(actor, record.department_id)
    if not actor.is_admin and actor.role != Role.REVIEWER:
        raise Forbidden("仅部门审核员可以录入复议、诉讼结果", code="role_not_allowed")
    doc = _text(document, "复议决定书或裁判文书号")
    text = f"{kinds[kind]}（{doc}）：{_text(reason, '理由')}"
    open_objection = session.scalar(
        select(Objection).where(
            Objection.record_id == record.id, Objection.state.in_(sorted(OPEN_STATES))
        )
    )
    if open_objection is not None:
        decide_objection(
            session,
            actor,
            open_objection.id,
            outcome=outcome,
            reason=text,
            corrections=corrections,
            on=on,
        )
        return record
    if record.state not in (RecordState.ACTIVE.value, RecordState.EXPIRED.value):
        raise Conflict("该记录当前状态不能再变更", code="record_not_active")
    if outcome == "revoked":
        set_record_state(
            session,
            actor,
            record,
            RecordState.REVOKED,
            action=f"{kind}:revoke",
            reason=text,
            on=on,
            exchange=True,
        )
        summary = "记录已撤销"
    else:
        if not corrections:
            raise InvalidInput("更正须写明更正内容", code="corrections_required")
        correct_record(session, actor, record, corrections, reason=text, on=on)
        summary = "记录已更正"
    queue_notice(
        session,
        record.subject_id,
        kind=f"record:{kind}",
        title=f"{kinds[kind]}结果",
        body=f"根据{text}，您的“{_item_name(session, record)}”记录（{record.document_number}）{summary}。",
        dedupe_key=f"record:{record.id}:{kind}:{record.version}:{record.state}",
        record_id=record.id,
    )
    return record


def objection_as_dict(
    session: Session, objection: Objection, actor: Actor | None = None
) -> dict[str, Any]:
    record = session.get(Record, objection.record_id)
    return {
        **case_head(objection, record),
        "item_name": _item_name(session, record) if record else None,
        "record_state": record.state if record else None,
        "state": objection.state,
        "state_name": STATE_NAMES[ObjectionState(objection.state)],
        "reason": objection.reason,
        "filed_on": objection.filed_on.isoformat(),
        "mark_by": objection.mark_by.isoformat(),
        "decide_by": objection.decide_by.isoformat(),
        "corrections": objection.corrections,
        **case_tail(
            session, WORKFLOW, objection, OBJECTION_MACHINE, actor, OPEN_STATES, objection.filed_on
        ),
    }


def read_objection(session: Session, actor: Actor, objection_id: int) -> dict[str, Any]:
    """One objection as its reader may see it; the read is logged (it is the person's data)."""
    return objection_as_dict(session, CASES.read(session, actor, objection_id), actor)


def list_objections(
    session: Session, actor: Actor, *, state: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The person's own objections; a department's queue; everything for the office."""
    rows = CASES.list(session, actor, state=state, limit=limit)
    return [objection_as_dict(session, o, actor) for o in rows]
