"""约谈 (credit interviews, Jiangyin §四(三)): recorded with time, place, attendees, reason
and outcome; the person is told when one is arranged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, Role
from xinyong.audit.services import record_event
from xinyong.audit.tags import EventTag
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.notices.models import Interview
from xinyong.notices.services import queue_notice
from xinyong.records.models import Record
from xinyong.subjects.services import get_subject
from xinyong.workflows.access import (
    log_case_read,
    log_case_reads,
    may_read_subject,
    refuse_auditor,
)

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _required(value: str, what: str, limit: int = 2000) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"须填写{what}", code="field_required")
    return text[:limit]


def record_interview(
    session: Session,
    actor: Actor,
    subject_id: int,
    *,
    held_at: dt.datetime,
    place: str,
    attendees: str,
    reason: str,
    outcome: str | None = None,
    record_id: int | None = None,
) -> Interview:
    if not (actor.is_admin or actor.role in (Role.REVIEWER, Role.CLERK)):
        raise Forbidden("仅部门工作人员或信用办可以安排约谈", code="role_not_allowed")
    if held_at.tzinfo is None:
        raise InvalidInput("约谈时间须带时区", code="naive_time")
    get_subject(session, subject_id)
    if record_id is not None:
        record = session.get(Record, record_id)
        if record is None or record.subject_id != subject_id:
            raise NotFound("记录不存在", code="record_not_found")
        if not actor.is_admin and record.department_id != actor.department_id:
            raise Forbidden("只能就本部门报送的记录约谈", code="not_own_department")
    interview = Interview(
        subject_id=subject_id,
        department_id=actor.department_id,
        record_id=record_id,
        held_at=held_at,
        place=_required(place, "约谈地点", 200),
        attendees=_required(attendees, "参加人员"),
        reason=_required(reason, "约谈事由"),
        outcome=(outcome or "").strip() or None,
        recorded_by=actor.name[:200],
    )
    session.add(interview)
    session.flush()
    local = held_at.astimezone(SHANGHAI)
    queue_notice(
        session,
        subject_id,
        kind="interview:arranged",
        title="信用约谈通知",
        body=f"请于 {local:%Y年%m月%d日 %H:%M} 到 {interview.place} 参加信用约谈。事由：{interview.reason}。",
        dedupe_key=f"interview:{interview.id}:arranged",
        record_id=record_id,
    )
    record_event(session, actor, EventTag.NOTICES_INTERVIEW_RECORDED, target_type="interview", target_id=interview.id, purpose=interview.reason, details={"subject_id": subject_id, "record_id": record_id, "held_at": held_at.isoformat(), "place": interview.place, "concluded": interview.outcome is not None})  # fmt: skip
    return interview


def conclude_interview(
    session: Session, actor: Actor, interview_id: int, outcome: str
) -> Interview:
    interview = session.get(Interview, interview_id)
    if interview is None:
        raise NotFound("约谈记录不存在", code="interview_not_found")
    if not (
        actor.is_admin
        or (
            actor.role in (Role.REVIEWER, Role.CLERK)
            and actor.department_id == interview.department_id
        )
    ):
        raise Forbidden("无权登记该约谈结果", code="forbidden")
    interview.outcome = _required(outcome, "约谈结果")
    session.flush()
    record_event(session, actor, EventTag.NOTICES_INTERVIEW_CONCLUDED, target_type="interview", target_id=interview.id, details={"subject_id": interview.subject_id, "record_id": interview.record_id})  # fmt: skip
    return interview


def record_for_interview(session: Session, actor: Actor, reference: str) -> Record:
    """The record an interview is about, named by its number or its document number
    (决定文书号); a department names only records it submitted."""
    text = (reference or "").strip()
    if not text:
        raise InvalidInput("须填写记录编号或决定文书号", code="field_required")
    own = [] if actor.is_admin else [Record.department_id == (actor.department_id or -1)]
    if text.isdigit() and len(text) < 19:
        record = session.get(Record, int(text))
        if record is not None and (actor.is_admin or record.department_id == actor.department_id):
            return record
    found = list(
        session.scalars(select(Record).where(Record.document_number == text, *own).limit(2))
    )
    if not found:
        raise NotFound("本部门没有该记录", code="record_not_found")
    if len(found) > 1:
        raise InvalidInput("该文书号对应多条记录，请填写记录编号", code="ambiguous_record")
    return found[0]


def interview_as_dict(interview: Interview) -> dict[str, Any]:
    return {
        "id": interview.id,
        "subject_id": interview.subject_id,
        "held_at": interview.held_at.isoformat(),
        "place": interview.place,
        "attendees": interview.attendees,
        "reason": interview.reason,
        "outcome": interview.outcome,
        "record_id": interview.record_id,
        "recorded_by": interview.recorded_by,
    }


def list_interviews(session: Session, actor: Actor, *, limit: int = 200) -> list[dict[str, Any]]:
    """A department's interviews (the office: all), newest first; each person's read logged."""
    refuse_auditor(actor, "约谈内容")
    stmt = select(Interview).order_by(Interview.held_at.desc(), Interview.id.desc()).limit(limit)
    if actor.is_department:
        stmt = stmt.where(Interview.department_id == (actor.department_id or -1))
    elif not actor.is_admin:
        raise Forbidden("无权查看约谈记录", code="forbidden")
    rows = list(session.scalars(stmt))
    log_case_reads(
        session,
        actor,
        [(i.subject_id, i.id) for i in rows],
        action="interview:view",
        what="约谈记录",
    )
    return [interview_as_dict(i) for i in rows]


def interviews_of(session: Session, actor: Actor, subject_id: int) -> list[dict[str, Any]]:
    """The interviews of a person its reader may see; the read is logged.

    Auditors read the trail (who read or recorded an interview, in the audit log and the
    query log), not the interview's content: place, attendees, reasons, outcome."""
    refuse_auditor(actor, "约谈内容")
    rows = [
        i
        for i in session.scalars(
            select(Interview).where(Interview.subject_id == subject_id).order_by(Interview.held_at)
        )
        if may_read_subject(actor, i.subject_id, i.department_id)
    ]
    if rows:
        log_case_read(
            session,
            actor,
            subject_id,
            action="interview:view",
            what="约谈记录",
            ids=[i.id for i in rows],
        )
    return [interview_as_dict(i) for i in rows]
