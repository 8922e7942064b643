"""Changes to a record outside a submission: what a workflow does to a record (change its
state, correct it) and a department's re-grading, each bringing lists and scores up to
date in the same transaction (moved here from ``workflows.records`` and
``records.services``).

Whether a record in a given state is shown, shared or used is decided in one place only,
:func:`xinyong.records.display.visibility` (and its SQL twin
``records.display_sql.used_clause``): a disputed record is kept and labelled 异议处理中 but
not used; repaired and revoked records are neither shown to others, shared nor used. This module only changes the state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.catalog.services import current_catalog
from xinyong.changes.effects import after_record_change
from xinyong.changes.outbox import queue_change
from xinyong.config import get_settings
from xinyong.db import utcnow
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.lists.models import EndReason, EntryStatus, ListEntry
from xinyong.lists.services import end_entries_for_record, sync_entries_from_records
from xinyong.records.display import display_window
from xinyong.records.models import Record, RecordState
from xinyong.records.services import archive_version
from xinyong.scoring.services import rescore_subjects
from xinyong.workflows.history import record_transition

_END_REASONS = {
    RecordState.REVOKED: EndReason.REVOKED,
    RecordState.REPAIRED: EndReason.REPAIRED,
}

# What a department may change when it corrects a record (更正). Identity and submission
# key never change: a record about the wrong person is revoked, not corrected.
CORRECTABLE = ("behaviour", "grade", "decision_date", "facts")


def record_payload(record: Record) -> dict[str, Any]:
    """What the upper platform receives about a record change: no identity number."""
    return {
        "record_id": record.id,
        "subject_id": record.subject_id,
        "department_id": record.department_id,
        "item_code": record.item_code,
        "document_number": record.document_number,
        "state": record.state,
        "version": record.version,
        "grade": record.grade,
        "display_until": record.display_until.isoformat() if record.display_until else None,
    }


def set_record_state(
    session: Session,
    actor: Actor,
    record: Record,
    state: RecordState,
    *,
    action: str,
    reason: str | None,
    on: dt.date,
    exchange: bool = False,
) -> None:
    """Change the record's state, end the list memberships a revoked or repaired record
    caused, rescore its subject, and write the step; queue it for the upper platform when
    the change is one the upper platform must know (repair, revocation)."""
    before = record.state
    record.state = state.value
    record.updated_at = utcnow()
    session.flush()
    record_transition(
        session,
        actor,
        workflow="record",
        entity_id=record.id,
        action=action,
        from_state=before,
        to_state=state.value,
        reason=reason,
    )
    end_reason = _END_REASONS.get(state)
    if end_reason is not None:
        end_entries_for_record(session, record.id, end_reason, on)
    if state is RecordState.ACTIVE:
        # Back in use (an objection upheld or withdrawn): the list entries it implies are
        # created now; the daily job only looks at the subjects it touches.
        sync_entries_from_records(session, on, record_ids=[record.id])
    rescore_subjects(session, [record.subject_id], on)
    if exchange:
        queue_change(session, f"record:{state.value}", "record", record.id, record_payload(record))


def validate_corrections(
    session: Session, record: Record, corrections: dict[str, Any]
) -> tuple[str | None, dt.date]:
    """Refuse a correction before anything changes: (grade code, decision date) after it."""
    if not corrections:
        raise InvalidInput(
            "更正须写明更正内容（等级、行为、决定日期或字段）", code="corrections_required"
        )
    unknown = set(corrections) - set(CORRECTABLE)
    if unknown:
        raise InvalidInput(
            f"不能更正这些字段：{'、'.join(sorted(unknown))}", code="not_correctable"
        )
    catalog = current_catalog(session)
    grade_code = record.grade
    if corrections.get("grade"):
        found = catalog.grade_by_name(str(corrections["grade"]))
        if found is None:
            raise InvalidInput(f"等级 {corrections['grade']} 不存在", code="unknown_grade")
        grade_code = found.code
    decision_date = record.decision_date
    if corrections.get("decision_date"):
        try:
            decision_date = dt.date.fromisoformat(str(corrections["decision_date"]))
        except ValueError:
            raise InvalidInput("决定日期格式应为 YYYY-MM-DD", code="bad_date") from None
        if decision_date > dt.date.today():
            raise InvalidInput("决定日期不能晚于今天", code="bad_date")
    if "facts" in corrections:
        facts = corrections["facts"]
        if not isinstance(facts, dict):
            raise InvalidInput("更正字段应为 字段: 值 的映射", code="bad_facts")
        item = catalog.items.get(record.item_code)
        known = {f.name: f.label for f in item.fields} if item else {}
        by_label = {label: name for name, label in known.items()}
        renamed = {}
        for key, value in facts.items():
            name = key if key in known else by_label.get(key)
            if name is None:
                raise InvalidInput(f"目录项没有字段“{str(key)[:50]}”", code="unknown_field")
            renamed[name] = value
        corrections["facts"] = renamed
    if grade_code != record.grade and record.nature != "negative":
        raise InvalidInput("只有失信记录有失信等级", code="not_negative")
    return grade_code, decision_date


def correct_record(
    session: Session,
    actor: Actor,
    record: Record,
    corrections: dict[str, Any],
    *,
    reason: str,
    on: dt.date,
) -> Record:
    """更正: the record as it was is kept in its history (state 已更正); the current version
    carries the corrections, is active again, and its display window follows the new
    grade or decision date."""
    grade_code, decision_date = validate_corrections(session, record, corrections)
    catalog = current_catalog(session)
    item = catalog.item(record.item_code)
    before = record.state
    # The superseded version is stored as 已更正; the record itself becomes active again.
    record.state = RecordState.CORRECTED.value
    archive_version(session, record)
    if "behaviour" in corrections:
        record.behaviour = str(corrections["behaviour"] or "").strip()[:500] or None
    if isinstance(corrections.get("facts"), dict):
        record.facts = {**record.facts, **corrections["facts"]}
    if grade_code != record.grade or decision_date != record.decision_date:
        grade = catalog.grades.get(grade_code) if grade_code else None
        record.display_from, record.display_until = display_window(
            item, grade, decision_date, profile=get_settings().profile
        )
        if grade_code != record.grade:
            record.grade_source = "department"
            record.grade_set_by = actor.name[:200]
            record.grade_reason = reason[:2000]
        record.grade = grade_code
        record.decision_date = decision_date
    record.state = RecordState.ACTIVE.value
    record.version += 1
    record.updated_at = utcnow()
    session.flush()
    record_transition(
        session,
        actor,
        workflow="record",
        entity_id=record.id,
        action="correct",
        from_state=before,
        to_state=RecordState.ACTIVE.value,
        reason=reason,
    )
    session.execute(
        update(ListEntry)
        .where(ListEntry.record_id == record.id, ListEntry.status == EntryStatus.LISTED.value)
        .values(end_date=record.display_until, updated_at=utcnow())
    )
    rescore_subjects(session, [record.subject_id], on)
    queue_change(session, "record:corrected", "record", record.id, record_payload(record))
    return record


def change_grade(session: Session, actor: Actor, record_id: int, grade: str, reason: str) -> Record:
    """A department re-grades its own record, with a reason; the change is a new version."""
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound("记录不存在", code="record_not_found")
    if not actor.is_admin and actor.department_id != record.department_id:
        raise Forbidden("只能调整本部门报送记录的等级", code="not_own_record")
    if record.nature != "negative":
        raise InvalidInput("只有失信记录有失信等级", code="not_negative")
    if not reason.strip():
        raise InvalidInput("调整失信等级必须说明理由", code="reason_required")
    catalog = current_catalog(session)
    found = catalog.grade_by_name(grade)
    if found is None:
        raise InvalidInput(f"等级 {grade} 不存在", code="unknown_grade")
    if found.code == record.grade:
        raise InvalidInput("新等级与当前等级相同", code="grade_unchanged")
    item = catalog.item(record.item_code)
    archive_version(session, record)
    _, until = display_window(item, found, record.decision_date, profile=get_settings().profile)
    record_event(session, actor, "records:record:regraded", target_type="record", target_id=record.id, purpose=reason, details={"from": record.grade, "to": found.code, "version": record.version + 1})  # fmt: skip
    record.grade = found.code
    record.grade_source = "department"
    record.grade_set_by = actor.name
    record.grade_reason = reason.strip()[:2000]
    record.display_until = until
    record.version += 1
    record.updated_at = utcnow()
    session.flush()
    after_record_change(session, record)
    return record
