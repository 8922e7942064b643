"""The daily job (``xinyong expire``): end display periods and list memberships, and queue
notices for displays ending soon. Idempotent: running it twice for a date changes nothing
the second time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, func, insert, select, update
from sqlalchemy.orm import Session

from xinyong.actors import SYSTEM
from xinyong.audit.services import record_event
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import is_postgres, utcnow
from xinyong.lists.models import EndReason, EntryStatus, ListEntry
from xinyong.notices.models import Notice
from xinyong.records.models import Record, RecordState


@dataclass
class ExpireResult:
    records_expired: int
    entries_ended: int
    notices_queued: int
    entries_expired_unanswered: int = 0
    # Subjects whose records or list entries this run ended: the scope of the list sync
    # that follows (``sync_entries_from_records(..., subject_ids=...)``).
    touched_subjects: frozenset[int] = field(default=frozenset(), repr=False)


# The daily run expires a day's records: they are found through
# ix_records_display_until_active in display_until order, with a LIMIT so that the planner
# walks the index whatever it estimates (it cannot know that, of the active records, only
# today's few have a display period in the past, and would otherwise scan the whole table).
# When more than that are due (a catch-up after a migration or an outage), one scan of the
# table is cheaper than probing millions of rows one by one.
EXPIRE_CHUNK = 50_000


def _due(on: dt.date) -> list[ColumnElement[bool]]:
    return [
        Record.state == RecordState.ACTIVE.value,
        Record.display_until.is_not(None),
        Record.display_until < on,
    ]


def _expire_records(session: Session, on: dt.date) -> tuple[int, set[int]]:
    values = {"state": RecordState.EXPIRED.value, "updated_at": utcnow()}
    options = {"synchronize_session": False}
    first = select(Record.id).where(*_due(on)).order_by(Record.display_until).limit(EXPIRE_CHUNK)
    subjects = session.scalars(
        update(Record)
        .where(Record.id.in_(first.scalar_subquery()))
        .values(**values)
        .returning(Record.subject_id),
        execution_options=options,
    ).all()
    expired, touched = len(subjects), set(subjects)
    if expired < EXPIRE_CHUNK:
        return expired, touched
    rest = update(Record).where(*_due(on)).values(**values)
    if is_postgres(session):
        # Millions of rows: count them and keep only the distinct subjects, in the database.
        changed = rest.returning(Record.subject_id).cte("changed")
        for subject_id, count in session.execute(
            select(changed.c.subject_id, func.count()).group_by(changed.c.subject_id),
            execution_options=options,
        ):
            touched.add(subject_id)
            expired += count
        return expired, touched
    subjects = session.scalars(rest.returning(Record.subject_id), execution_options=options).all()
    return expired + len(subjects), touched.union(subjects)


def expire(session: Session, on: dt.date) -> ExpireResult:
    records, touched = _expire_records(session, on)
    ended = session.scalars(
        update(ListEntry)
        .where(
            ListEntry.status == EntryStatus.LISTED.value,
            ListEntry.end_date.is_not(None),
            ListEntry.end_date < on,
        )
        .values(
            status=EntryStatus.ENDED.value,
            ended_on=on,
            end_reason=EndReason.PERIOD_OVER.value,
            updated_at=utcnow(),
        )
        .returning(ListEntry.subject_id),
        execution_options={"synchronize_session": False},
    ).all()
    touched.update(ended)
    notices = _queue_display_ending(session, on)
    record_event(session, SYSTEM, "records:display:expired", details={"on": on.isoformat(), "records": records, "entries_ended": len(ended), "notices": notices})  # fmt: skip
    return ExpireResult(records, len(ended), notices, touched_subjects=frozenset(touched))


def _queue_display_ending(session: Session, on: dt.date) -> int:
    """信用告知 before a display period ends (Jiangyin §四(三))."""
    horizon = on + dt.timedelta(days=get_settings().display_notice_days)
    catalog = current_catalog(session)
    rows = session.execute(
        select(Record.id, Record.subject_id, Record.item_code, Record.display_until).where(
            Record.state == RecordState.ACTIVE.value,
            Record.nature == "negative",
            Record.display_until.is_not(None),
            and_(Record.display_until >= on, Record.display_until <= horizon),
            ~select(Notice.id)
            .where(Notice.record_id == Record.id, Notice.kind == "display:ending")
            .exists(),
        )
    ).all()
    if not rows:
        return 0
    now = utcnow()
    session.execute(
        insert(Notice),
        [
            {
                "subject_id": subject_id,
                "kind": "display:ending",
                "title": "信用记录公示期即将届满",
                "body": (
                    f"您的“{catalog.items[item].name if item in catalog.items else item}”记录"
                    f"将于 {until:%Y年%m月%d日} 公示期满，届满后不再公示和使用。"
                ),
                "record_id": record_id,
                "dedupe_key": f"display:ending:{record_id}:{until}",
                "status": "queued",
                "created_at": now,
            }
            for record_id, subject_id, item, until in rows
        ],
    )
    return len(rows)


@dataclass
class DailyResult:
    expire: ExpireResult
    escalated: int
    interrupted: int = 0  # import batches killed before they finished, now marked 中断


def run_daily(session: Session, on: dt.date) -> DailyResult:
    """The daily job's rules (``xinyong expire``, and the last step of ``xinyong demo``):
    end the display periods and memberships due, sync the list entries of the subjects
    touched, escalate overdue objections, mark 中断 the imports killed before they finished.
    Idempotent."""
    from xinyong.lists.services import sync_entries_from_records
    from xinyong.objections.services import escalate_overdue
    from xinyong.submissions.ingest import mark_interrupted_batches

    interrupted = mark_interrupted_batches(session)

    result = expire(session, on)
    # The day's run only ends displays and memberships; entries that records in use
    # imply are created where records change (submission, workflows), so the sync
    # looks at the subjects this run touched, not at every record.
    sync_entries_from_records(session, on, subject_ids=result.touched_subjects)
    escalated = escalate_overdue(session, SYSTEM, on)
    return DailyResult(result, len(escalated), interrupted)
