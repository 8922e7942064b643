"""Commitment services: make a commitment, assess its fulfilment; a broken commitment
becomes a 违背信用承诺 (COMMITMENT_BREACH) record through the ordinary submission pipeline,
so it is validated, graded, listed and scored like any other record."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, Role
from xinyong.catalog.models import Department
from xinyong.commitments.models import Commitment
from xinyong.commitments.workflow import (
    BROKEN,
    CATALOG_KIND,
    COMMITMENT_MACHINE,
    KIND_NAMES,
    SIGNERS,
    STATE_NAMES,
    CommitmentAction,
    CommitmentKind,
    CommitmentState,
    commitment_code,
)
from xinyong.config import get_settings
from xinyong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xinyong.notices.services import queue_notice
from xinyong.records.models import Record
from xinyong.subjects.services import get_subject
from xinyong.workflows.access import require_department, require_for_subject
from xinyong.workflows.cases import CaseKind, open_case
from xinyong.workflows.history import history_as_dicts, history_of, record_transition

WORKFLOW = "commitment"
BREACH_ITEM = "COMMITMENT_BREACH"
CASES = CaseKind(
    model=Commitment,
    filed_by=Commitment.made_by,
    state=Commitment.state,
    action="commitment:view",
    what="信用承诺",
    content="信用承诺内容",
    refusal="无权查看信用承诺",
    missing="信用承诺不存在",
    missing_code="commitment_not_found",
)
OUTCOME_ACTIONS = {
    "fulfilled": CommitmentAction.FULFIL,
    "partly": CommitmentAction.PARTLY,
    "unfulfilled": CommitmentAction.BREAK,
}


def _department(session: Session, code: str | None) -> Department | None:
    if not code:
        return None
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(f"部门 {code} 未登记", code="unknown_department")
    return dept


def make_commitment(
    session: Session,
    actor: Actor,
    subject_id: int,
    *,
    kind: str,
    matter: str,
    business_ref: str | None = None,
    department_code: str | None = None,
    record_id: int | None = None,
    due_on: dt.date | None = None,
    authorization_id: int | None = None,
    on: dt.date | None = None,
) -> Commitment:
    """作出信用承诺: numbered, linked to its business (and, for 信用修复型, to the record)."""
    on = on or dt.date.today()
    if actor.role not in SIGNERS:
        raise Forbidden("信用承诺须由信息主体本人作出", code="role_not_allowed")
    require_for_subject(
        session, actor, subject_id, scope="repair", authorization_id=authorization_id
    )
    try:
        kind_value = CommitmentKind(kind)
    except ValueError:
        raise InvalidInput(
            "承诺类型应为：" + "、".join(f"{k.value}（{n}）" for k, n in KIND_NAMES.items()),
            code="bad_kind",
        ) from None
    text = (matter or "").strip()
    if not text:
        raise InvalidInput("须写明承诺事项", code="matter_required")
    if len(text) > 1000:
        raise InvalidInput("承诺事项不能超过 1000 字", code="text_too_long")
    get_subject(session, subject_id)
    dept = _department(session, department_code)
    if kind_value is CommitmentKind.REPAIR:
        if record_id is None:
            raise InvalidInput("信用修复型承诺须指明所修复的记录", code="record_required")
        record = session.get(Record, record_id)
        if record is None or record.subject_id != subject_id:
            raise NotFound("记录不存在", code="record_not_found")
        if dept is None:
            dept = session.get(Department, record.department_id)
    if due_on is not None and due_on < on:
        raise InvalidInput("履行期限不能早于承诺日期", code="bad_due_date")
    serial = (
        session.scalar(select(func.count(Commitment.id)).where(Commitment.signed_on == on)) or 0
    ) + 1
    commitment = Commitment(
        code=commitment_code(get_settings().city_region_code, on, serial),
        subject_id=subject_id,
        kind=kind_value.value,
        matter=text,
        business_ref=(business_ref or "").strip()[:200] or None,
        department_id=dept.id if dept else None,
        record_id=record_id,
        state=CommitmentState.SIGNED.value,
        signed_on=on,
        due_on=due_on,
        made_by=actor.name[:200],
        made_role=actor.role,
        authorization_id=authorization_id,
    )
    open_case(session, actor, commitment, WORKFLOW, "sign", text)
    queue_notice(
        session,
        subject_id,
        kind="commitment:signed",
        title="信用承诺已作出",
        body=f"您已作出{KIND_NAMES[kind_value]}信用承诺（编号 {commitment.code}）：{text}。"
        "承诺将记入信用档案，违背承诺将形成失信记录。",
        dedupe_key=f"commitment:{commitment.id}:signed",
    )
    return commitment


def get_commitment(session: Session, commitment_id: int) -> Commitment:
    return CASES.get(session, commitment_id)


def assess_commitment(
    session: Session,
    actor: Actor,
    commitment_id: int,
    *,
    outcome: str,
    note: str,
    on: dt.date | None = None,
) -> Commitment:
    """履约认定: 全部履行, 部分履行 or 未履行. A broken commitment becomes a negative record
    of the receiving department."""
    on = on or dt.date.today()
    action = OUTCOME_ACTIONS.get(outcome)
    if action is None:
        raise InvalidInput("履行情况应为 fulfilled、partly 或 unfulfilled", code="bad_outcome")
    commitment = get_commitment(session, commitment_id)
    department_id = commitment.department_id or actor.department_id
    if department_id is None:
        raise InvalidInput("该承诺未指定受理部门，无法认定履约", code="no_department")
    require_department(actor, department_id)
    text = (note or "").strip()
    if not text:
        raise InvalidInput("须写明履约认定的情况说明", code="reason_required")
    before = commitment.state
    after = COMMITMENT_MACHINE.next_state(before, action.value, actor.role)
    if after in BROKEN and commitment.due_on is not None and on <= commitment.due_on:
        # The due date is the last day to perform (it ends at 24:00, 《民法典》第二百零三条):
        # a breach can be found only once it has passed; a promise kept early is fine.
        raise Conflict(
            f"承诺履行期限至 {commitment.due_on:%Y年%m月%d日}，期限届满前不能认定为"
            f"“{STATE_NAMES[CommitmentState(after)]}”",
            code="commitment_not_due",
        )
    commitment.state = after
    commitment.department_id = department_id
    commitment.assessed_on = on
    commitment.assessed_by = actor.name[:200]
    commitment.assessment = text[:4000]
    session.flush()
    record_transition(
        session,
        actor,
        workflow=WORKFLOW,
        entity_id=commitment.id,
        action=action.value,
        from_state=before,
        to_state=commitment.state,
        reason=text,
    )
    state_name = STATE_NAMES[CommitmentState(commitment.state)]
    body = f"您的信用承诺（编号 {commitment.code}）经认定为“{state_name}”。说明：{text}。"
    if commitment.state in BROKEN:
        commitment.breach_record_id = _breach_record(session, actor, commitment, on)
        body += "违背承诺的情况已记入您的信用档案，如有异议可提出。"
    queue_notice(
        session,
        commitment.subject_id,
        kind=f"commitment:{commitment.state}",
        title="信用承诺履约认定",
        body=body,
        dedupe_key=f"commitment:{commitment.id}:{commitment.state}",
        record_id=commitment.breach_record_id,
    )
    return commitment


def _breach_record(session: Session, actor: Actor, commitment: Commitment, on: dt.date) -> int:
    from xinyong.identity.protection import protector_for
    from xinyong.subjects.services import reveal_number
    from xinyong.submissions.ingest import TableInput, ingest_table, iter_json_rows

    subject = get_subject(session, commitment.subject_id)
    dept = session.get(Department, commitment.department_id)
    assert dept is not None
    protector = protector_for()
    row = {
        "目录项": BREACH_ITEM,
        "姓名": subject.name,
        "证件类型": subject.id_type,
        "证件号码": reveal_number(protector, subject),
        "文书号": f"信用承诺{commitment.code}",
        "决定日期": on.isoformat(),
        "承诺类型": CATALOG_KIND[CommitmentKind(commitment.kind)],
        "承诺事项": commitment.matter[:1000],
        "履行情况": STATE_NAMES[CommitmentState(commitment.state)],
    }
    submitter = (
        actor
        if actor.is_department
        else Actor(name=actor.name, role=Role.ADMIN, channel=actor.channel)
    )
    result = ingest_table(
        session,
        submitter,
        TableInput(headers=list(row), rows=iter_json_rows([row])),
        item_code=BREACH_ITEM,
        department_code=None if actor.is_department else dept.code,
        protector=protector,
    )
    if result.rejected:
        message = result.errors[0].message if result.errors else "失信记录生成失败"
        raise InvalidInput(f"违背承诺记录未能生成：{message}", code="breach_rejected")
    record_id = session.scalar(
        select(Record.id).where(
            Record.department_id == dept.id,
            Record.item_code == BREACH_ITEM,
            Record.document_number == row["文书号"],
            Record.subject_id == subject.id,
        )
    )
    assert record_id is not None
    return record_id


def commitment_as_dict(session: Session, commitment: Commitment) -> dict[str, Any]:
    return {
        "id": commitment.id,
        "code": commitment.code,
        "subject_id": commitment.subject_id,
        "kind": commitment.kind,
        "kind_name": KIND_NAMES[CommitmentKind(commitment.kind)],
        "matter": commitment.matter,
        "business_ref": commitment.business_ref,
        "department_id": commitment.department_id,
        "record_id": commitment.record_id,
        "state": commitment.state,
        "state_name": STATE_NAMES[CommitmentState(commitment.state)],
        "signed_on": commitment.signed_on.isoformat(),
        "due_on": commitment.due_on.isoformat() if commitment.due_on else None,
        "assessed_on": commitment.assessed_on.isoformat() if commitment.assessed_on else None,
        "assessment": commitment.assessment,
        "breach_record_id": commitment.breach_record_id,
        "history": history_as_dicts(history_of(session, WORKFLOW, commitment.id)),
    }


def list_commitments(session: Session, actor: Actor, *, limit: int = 200) -> list[Commitment]:
    return CASES.list(session, actor, limit=limit)


def read_commitment(session: Session, actor: Actor, commitment_id: int) -> Commitment:
    """One commitment for a reader who may see it; the read is logged."""
    return CASES.read(session, actor, commitment_id)
