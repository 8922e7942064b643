"""Repair services: the eligibility check, the application, the decisions.

Approval makes the record 已修复 in the same transaction: it is no longer shown, shared or
used (:func:`xinyong.records.display.visibility`), the list memberships it caused end,
measures resting on it lift (they are derived from records in use), the subject is
rescored, the application stays as the repair record, and the change is queued for the
upper platform."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, Role
from xinyong.catalog.services import current_catalog
from xinyong.changes.records import set_record_state
from xinyong.commitments.models import Commitment
from xinyong.commitments.services import make_commitment
from xinyong.commitments.workflow import CommitmentKind, CommitmentState
from xinyong.config import get_settings
from xinyong.errors import Conflict, Forbidden, InvalidInput
from xinyong.lists.models import EntryStatus, ListEntry, ListKind
from xinyong.notices.services import queue_case_notice
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query
from xinyong.records.display import repair_eligible_from
from xinyong.records.models import Record, RecordState
from xinyong.records.services import get_record
from xinyong.repair.models import RepairApplication
from xinyong.repair.workflow import (
    METHOD_NAMES,
    OPEN_STATES,
    STATE_NAMES,
    Eligibility,
    RepairAction,
    RepairFacts,
    RepairMethod,
    RepairState,
    eligibility,
    parse_method,
    repair_machine,
)
from xinyong.workdays import WorkdayCalendar
from xinyong.workdays.services import calendar_for
from xinyong.workflows.access import (
    may_read_subject,
    refuse_auditor,
    require_department,
    require_filer,
    require_for_subject,
)
from xinyong.workflows.cases import CaseKind, case_head, case_tail, open_case
from xinyong.workflows.evidence import Upload
from xinyong.workflows.history import take_step

WORKFLOW = "repair"
AUTHORIZATION_SCOPE = "repair"
DEFAULT_COMMITMENT = (
    "本人承诺已纠正失信行为、履行相关义务，今后诚实守信、依法依规开展活动；"
    "如违背承诺，愿意接受相应处理并记入信用档案。"
)


CASES = CaseKind(
    model=RepairApplication,
    filed_by=RepairApplication.applied_by,
    state=RepairApplication.state,
    action="repair:view",
    what="信用修复申请",
    content="信用修复申请内容",
    refusal="无权查看修复申请",
    missing="修复申请不存在",
    missing_code="repair_not_found",
)


def repair_facts(session: Session, record: Record, on: dt.date) -> RepairFacts:
    catalog = current_catalog(session)
    grade = catalog.grades.get(record.grade) if record.grade else None
    item = catalog.items.get(record.item_code)
    min_end = (
        repair_eligible_from(item, grade, record.decision_date, get_settings().profile)
        if item is not None and grade is not None
        else None
    )
    black = session.execute(
        select(ListEntry.id, ListEntry.end_date).where(
            ListEntry.record_id == record.id,
            ListEntry.subject_id == record.subject_id,
            ListEntry.list_kind == ListKind.BLACK.value,
            ListEntry.status.in_([EntryStatus.LISTED.value, EntryStatus.NOTIFIED.value]),
        )
    ).first()
    has_commitment = (
        session.scalar(
            select(Commitment.id).where(
                Commitment.record_id == record.id,
                Commitment.kind == CommitmentKind.REPAIR.value,
                Commitment.state == CommitmentState.SIGNED.value,
            )
        )
        is not None
    )
    open_application = session.scalar(
        select(RepairApplication.id).where(
            RepairApplication.record_id == record.id,
            RepairApplication.state.in_(sorted(OPEN_STATES)),
        )
    )
    rejections, last_rejection = session.execute(
        select(func.count(RepairApplication.id), func.max(RepairApplication.decided_on)).where(
            RepairApplication.record_id == record.id,
            RepairApplication.state == RepairState.REJECTED.value,
        )
    ).one()
    return RepairFacts(
        nature=record.nature,
        state=record.state,
        grade=record.grade,
        grade_name=grade.name if grade else None,
        min_period_ends=min_end,
        black_list_until=black[1] if black else None,
        on_black_list=black is not None,
        has_commitment=has_commitment,
        open_application=open_application,
        last_rejection_on=last_rejection,
        rejections=rejections or 0,
    )


def _eligibility(session: Session, record: Record, on: dt.date) -> Eligibility:
    settings = get_settings()
    return eligibility(
        repair_facts(session, record, on),
        on,
        reapply_after_days=settings.repair_reapply_after_days,
        max_rejections=settings.repair_max_rejections,
    )


def _require_reader(
    session: Session, actor: Actor, record: Record, authorization_id: int | None
) -> QueryBasis:
    if actor.role in (Role.PERSON, Role.INSTITUTION):
        require_for_subject(
            session,
            actor,
            record.subject_id,
            scope=AUTHORIZATION_SCOPE,
            authorization_id=authorization_id,
        )
        return QueryBasis.SELF if actor.role == Role.PERSON else QueryBasis.AUTHORIZATION
    if not may_read_subject(actor, record.subject_id, record.department_id):
        raise Forbidden("无权查看该记录", code="forbidden")
    return QueryBasis.ADMINISTRATION if actor.is_admin else QueryBasis.LEGAL_DUTY


def check_repair(
    session: Session,
    actor: Actor,
    record_id: int,
    *,
    on: dt.date | None = None,
    authorization_id: int | None = None,
) -> dict[str, Any]:
    """Whether this record may be repaired now; if not, from when and what is missing."""
    refuse_auditor(actor, "信用记录内容")
    on = on or dt.date.today()
    record = get_record(session, record_id)
    basis = _require_reader(session, actor, record, authorization_id)
    result = _eligibility(session, record, on)
    item = current_catalog(session).items.get(record.item_code)
    log_query(
        session,
        actor,
        record.subject_id,
        action="repair:check",
        purpose="信用修复条件查询",
        basis=basis,
        authorization_id=authorization_id,
        returned={"record": record.id, "eligible": result.eligible},
        organisation=actor.organisation_name,
    )
    return {
        "record_id": record.id,
        "item_name": item.name if item else record.item_code,
        "document_number": record.document_number,
        "grade": record.grade,
        "state": record.state,
        "decision_date": record.decision_date.isoformat(),
        "display_until": record.display_until.isoformat() if record.display_until else None,
        "on": on.isoformat(),
        **result.as_dict(),
    }


def repair_options(
    session: Session, actor: Actor, subject_id: int, *, on: dt.date | None = None
) -> list[dict[str, Any]]:
    """For each negative record of the person: may it be repaired now, or from when, and
    what is missing. The person's own view (or the office's); one logged read."""
    on = on or dt.date.today()
    if not (actor.is_admin or (actor.role == Role.PERSON and actor.subject_id == subject_id)):
        raise Forbidden("只能查看本人的信用修复条件", code="not_own_archive")
    catalog = current_catalog(session)
    records = session.scalars(
        select(Record)
        .where(Record.subject_id == subject_id, Record.nature == "negative")
        .order_by(Record.decision_date.desc(), Record.id.desc())
    ).all()
    options = []
    for record in records:
        item = catalog.items.get(record.item_code)
        options.append(
            {
                "record_id": record.id,
                "item_name": item.name if item else record.item_code,
                "document_number": record.document_number,
                "grade": record.grade,
                "state": record.state,
                "decision_date": record.decision_date.isoformat(),
                **_eligibility(session, record, on).as_dict(),
            }
        )
    log_query(
        session,
        actor,
        subject_id,
        action="repair:options",
        purpose="信用修复条件查询",
        basis=QueryBasis.SELF if actor.role == Role.PERSON else QueryBasis.ADMINISTRATION,
        returned={"records": [o["record_id"] for o in options]},
        organisation=actor.organisation_name,
    )
    return options


def _step(
    session: Session,
    actor: Actor,
    case: RepairApplication,
    action: RepairAction,
    reason: str | None,
) -> str:
    machine = repair_machine(get_settings().repair_office_review)
    return take_step(session, actor, case, machine, WORKFLOW, action.value, reason)


def _notify(session: Session, application: RepairApplication, title: str, body: str) -> None:
    queue_case_notice(session, WORKFLOW, application, title, body)


def apply_for_repair(
    session: Session,
    actor: Actor,
    record_id: int,
    *,
    method: str,
    statement: str,
    duties_performed: bool,
    commit: bool = False,
    commitment_text: str | None = None,
    evidence: list[Upload] | None = None,
    authorization_id: int | None = None,
    on: dt.date | None = None,
    calendar: WorkdayCalendar | None = None,
) -> RepairApplication:
    """申请信用修复: refused, with what is missing, unless the record may be repaired now."""
    on = on or dt.date.today()
    record = get_record(session, record_id)
    if actor.role not in (Role.PERSON, Role.INSTITUTION, Role.ADMIN):
        raise Forbidden("信用修复须由信息主体本人或其授权机构申请", code="role_not_allowed")
    require_for_subject(
        session,
        actor,
        record.subject_id,
        scope=AUTHORIZATION_SCOPE,
        authorization_id=authorization_id,
    )
    chosen = parse_method(method)
    if chosen is None:
        raise InvalidInput(
            "修复方式应为：" + "、".join(f"{m.value}（{n}）" for m, n in METHOD_NAMES.items()),
            code="bad_method",
        )
    text = (statement or "").strip()
    if not text:
        raise InvalidInput("须说明纠正失信行为、履行义务的情况", code="statement_required")
    result = _eligibility(session, record, on)
    if not result.eligible:
        blocking = [m.message for m in result.missing if not m.at_application]
        raise Conflict("暂不能申请信用修复：" + "；".join(blocking), code="not_eligible")
    if not duties_performed:
        raise InvalidInput(
            "须先履行行政处罚等决定规定的义务，方可申请信用修复", code="duties_not_performed"
        )
    commitment_id = session.scalar(
        select(Commitment.id).where(
            Commitment.record_id == record.id,
            Commitment.kind == CommitmentKind.REPAIR.value,
            Commitment.state == CommitmentState.SIGNED.value,
        )
    )
    if commitment_id is None:
        if not commit:
            raise InvalidInput("申请信用修复须作出信用修复承诺", code="commitment_required")
        commitment_id = make_commitment(
            session,
            actor,
            record.subject_id,
            kind=CommitmentKind.REPAIR.value,
            matter=(commitment_text or DEFAULT_COMMITMENT),
            business_ref=f"信用修复：{record.document_number}"[:200],
            record_id=record.id,
            authorization_id=authorization_id,
            on=on,
        ).id
    application = RepairApplication(
        record_id=record.id,
        subject_id=record.subject_id,
        department_id=record.department_id,
        method=chosen.value,
        statement=text[:4000],
        duties_performed=True,
        commitment_id=commitment_id,
        state=RepairState.SUBMITTED.value,
        applied_by=actor.name[:200],
        applied_role=actor.role,
        authorization_id=authorization_id,
        submitted_on=on,
        decide_by=(calendar or calendar_for(session)).add_workdays(
            on, get_settings().repair_decide_workdays
        ),
    )
    open_case(session, actor, application, WORKFLOW, "apply", text, evidence)
    _notify(
        session,
        application,
        "信用修复申请已提交",
        f"您的信用修复申请（编号 {application.id}，方式：{METHOD_NAMES[chosen]}）已提交，"
        f"认定部门应于 {application.decide_by:%Y年%m月%d日} 前作出决定。",
    )
    return application


def get_application(session: Session, application_id: int) -> RepairApplication:
    return CASES.get(session, application_id)


def decide_repair(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    approve: bool,
    reason: str,
    on: dt.date | None = None,
) -> RepairApplication:
    """The department's decision, then (if configured) the credit office's."""
    on = on or dt.date.today()
    application = get_application(session, application_id)
    require_department(actor, application.department_id)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("须写明审核理由", code="reason_required")
    before = _step(
        session, actor, application, RepairAction.APPROVE if approve else RepairAction.REJECT, text
    )
    if before == RepairState.SUBMITTED.value:
        application.department_decided_on = on
        application.department_decided_by = actor.name[:200]
        application.department_reason = text[:4000]
    record = get_record(session, application.record_id)
    if application.state == RepairState.DEPT_APPROVED.value:
        return application
    application.decided_on = on
    application.decided_by = actor.name[:200]
    application.decision_reason = text[:4000]
    if application.state == RepairState.APPROVED.value:
        if record.state != RecordState.ACTIVE.value:
            raise Conflict("该记录当前状态已不能修复", code="record_not_active")
        set_record_state(
            session,
            actor,
            record,
            RecordState.REPAIRED,
            action="repair",
            reason=f"信用修复申请 {application.id}：{text}",
            on=on,
            exchange=True,
        )
        _notify(
            session,
            application,
            "信用修复决定",
            f"您的信用修复申请（编号 {application.id}）已通过。记录（{record.document_number}）"
            "已修复，不再公示、共享和用于联合惩戒，因其列入的名单已移出。",
        )
    else:
        settings = get_settings()
        again = on + dt.timedelta(days=settings.repair_reapply_after_days)
        _notify(
            session,
            application,
            "信用修复决定",
            f"您的信用修复申请（编号 {application.id}）不予修复。理由：{text}。"
            f"符合条件的，可于 {again:%Y年%m月%d日} 起重新申请。",
        )
    return application


def withdraw_repair(
    session: Session, actor: Actor, application_id: int, *, on: dt.date | None = None
) -> RepairApplication:
    application = get_application(session, application_id)
    require_filer(
        actor,
        application.subject_id,
        application.applied_by,
        noun="申请",
        code="not_own_application",
    )
    _step(session, actor, application, RepairAction.WITHDRAW, None)
    application.decided_on = on or dt.date.today()
    _notify(
        session,
        application,
        "信用修复申请已撤回",
        f"您的信用修复申请（编号 {application.id}）已撤回。",
    )
    return application


def application_as_dict(
    session: Session, application: RepairApplication, actor: Actor | None = None
) -> dict[str, Any]:
    record = session.get(Record, application.record_id)
    machine = repair_machine(get_settings().repair_office_review)
    return {
        **case_head(application, record),
        "record_state": record.state if record else None,
        "method": application.method,
        "method_name": METHOD_NAMES[RepairMethod(application.method)],
        "statement": application.statement,
        "commitment_id": application.commitment_id,
        "state": application.state,
        "state_name": STATE_NAMES[RepairState(application.state)],
        "submitted_on": application.submitted_on.isoformat(),
        "decide_by": application.decide_by.isoformat(),
        "department_reason": application.department_reason,
        **case_tail(
            session, WORKFLOW, application, machine, actor, OPEN_STATES, application.submitted_on
        ),
    }


def read_application(session: Session, actor: Actor, application_id: int) -> dict[str, Any]:
    return application_as_dict(session, CASES.read(session, actor, application_id), actor)


def list_applications(
    session: Session, actor: Actor, *, state: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    rows = CASES.list(session, actor, state=state, limit=limit)
    return [application_as_dict(session, a, actor) for a in rows]
