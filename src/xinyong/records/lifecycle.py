"""The daily job (``xinyong expire``): end display periods and list memberships, and queue
notices for displays ending soon. Idempotent: running it twice for a date changes nothing
the second time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from xinyong.actors import SYSTEM
from xinyong.audit.services import record_event
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import affected, utcnow
from xinyong.lists.models import EndReason, EntryStatus, ListEntry
from xinyong.notices.models import Notice
from xinyong.records.models import Record, RecordState


@dataclass
class ExpireResult:
    records_expired: int
    entries_ended: int
    notices_queued: int
    entries_expired_unanswered: int = 0


def expire(session: Session, on: dt.date) -> ExpireResult:
    records = affected(
        session.execute(
            update(Record)
            .where(
                Record.state == RecordState.ACTIVE.value,
                Record.display_until.is_not(None),
                Record.display_until < on,
            )
            .values(state=RecordState.EXPIRED.value, updated_at=utcnow())
        )
    )
    ended = affected(
        session.execute(
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
        )
    )
    notices = _queue_display_ending(session, on)
    record_event(session, SYSTEM, "records:display:expired", details={"on": on.isoformat(), "records": records or 0, "entries_ended": ended or 0, "notices": notices})  # fmt: skip
    return ExpireResult(records or 0, ended or 0, notices)


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
