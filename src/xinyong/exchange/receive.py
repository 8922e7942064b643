"""Receiving a lower platform's changes: each idempotency key applied at most once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.catalog.models import Department
from xinyong.exchange.models import ExchangeInbox
from xinyong.exchange.wire import (
    BatchAnswer,
    ChangeBatch,
    ChangeOutcome,
    WireChange,
    WireRecord,
    as_row,
)
from xinyong.identity.protection import protector_for
from xinyong.records.models import Record
from xinyong.records.states import RecordState
from xinyong.subjects.models import Subject
from xinyong.subjects.services import blind_index_for
from xinyong.submissions.ingest import TableInput, ingest_table, iter_json_rows

STATE_CHANGES = {
    "record:repaired": RecordState.REPAIRED,
    "record:revoked": RecordState.REVOKED,
}


def source_department(session: Session, source: str) -> Department:
    """Records received from a lower platform are kept under a department standing for it."""
    code = f"PT-{source}"[:32]
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        dept = Department(code=code, name=f"下级信用平台 {source}")
        session.add(dept)
        session.flush()
    return dept


def find_record(session: Session, dept: Department, record: WireRecord) -> Record | None:
    """The record a platform sent, as held here under the department standing for it."""
    subject = record.subject
    index = blind_index_for(protector_for(), subject.id_number, subject.id_type)
    return session.scalar(
        select(Record)
        .join(Subject, Subject.id == Record.subject_id)
        .where(
            Record.department_id == dept.id,
            Record.item_code == record.item_code,
            Record.document_number == record.document_number,
            Subject.id_index == index,
        )
    )


def apply_changes(session: Session, actor: Actor, batch: ChangeBatch) -> BatchAnswer:
    """Apply a batch in the caller's transaction; answer every key."""
    from xinyong.changes.records import set_record_state

    source = actor.organisation or batch.source
    dept = source_department(session, source)
    seen = set(
        session.scalars(
            select(ExchangeInbox.key).where(
                ExchangeInbox.source == source,
                ExchangeInbox.key.in_([c.key for c in batch.changes]),
            )
        )
    )
    outcomes: dict[str, ChangeOutcome] = {}
    upserts: list[WireChange] = []
    for change in batch.changes:
        if change.key in seen or change.key in outcomes:
            outcomes[change.key] = ChangeOutcome(key=change.key, status="duplicate")
        elif change.kind in STATE_CHANGES:
            record = find_record(session, dept, change.record)
            if record is None:
                outcomes[change.key] = ChangeOutcome(
                    key=change.key, status="rejected", detail="本平台没有该记录"
                )
            else:
                if record.state != STATE_CHANGES[change.kind].value:
                    set_record_state(
                        session,
                        actor,
                        record,
                        STATE_CHANGES[change.kind],
                        action=f"exchange:{change.kind}",
                        reason=f"下级平台 {source} 推送",
                        on=dt.date.today(),
                    )
                outcomes[change.key] = ChangeOutcome(key=change.key, status="applied")
        else:  # record:upsert and record:corrected: the same merge as any submission
            upserts.append(change)
            outcomes[change.key] = ChangeOutcome(key=change.key, status="applied")
    if upserts:
        rows = [as_row(c.record) for c in upserts]
        headers = list(dict.fromkeys(k for row in rows for k in row))
        result = ingest_table(
            session,
            actor,
            TableInput(headers=headers, rows=iter_json_rows(rows), filename=f"exchange:{source}"),
            department_code=dept.code,
            channel="exchange",
        )
        for error in result.errors:
            change = upserts[error.row - 1]
            outcomes[change.key] = ChangeOutcome(
                key=change.key, status="rejected", detail=f"{error.column}: {error.message}"[:500]
            )
    for change in batch.changes:
        outcome = outcomes[change.key]
        if outcome.status != "duplicate":
            session.add(
                ExchangeInbox(
                    source=source,
                    key=change.key,
                    kind=change.kind,
                    status=outcome.status,
                    detail=outcome.detail,
                )
            )
            seen.add(change.key)
    session.flush()
    ordered = [outcomes[c.key] for c in batch.changes]
    answer = BatchAnswer(
        applied=sum(o.status == "applied" for o in outcomes.values()),
        duplicates=sum(o.status == "duplicate" for o in ordered),
        rejected=sum(o.status == "rejected" for o in outcomes.values()),
        outcomes=ordered,
    )
    record_event(session, actor, "exchange:batch:received", target_type="department", target_id=dept.id, details={"counterpart": source, "changes": len(batch.changes), "applied": answer.applied, "duplicates": answer.duplicates, "rejected": answer.rejected})  # fmt: skip
    return answer
