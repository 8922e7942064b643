"""What a change to records implies, in one place: list memberships, the subjects' scores,
the notices to the persons concerned and the outbox for the upper platform.

Callers make the change (a submission batch merged, a record re-graded, a workflow's
record state) and call this module in the same transaction; ``records`` itself never
reaches lists, scores, notices or the exchange.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from xinyong.changes.outbox import queue_change
from xinyong.db import is_postgres
from xinyong.lists.models import ListEntry
from xinyong.lists.services import sync_entries_from_records
from xinyong.notices.services import queue_new_record_notices
from xinyong.records.models import Record
from xinyong.scoring.services import rescore_subjects

RESCORE_SLICE = 20_000


def apply_batch_consequences(
    session: Session, batch_id: int, subject_ids: set[int], *, queue_for_upper: bool = True
) -> None:
    """What new or changed records imply: list memberships and the subjects' scores."""
    today = dt.date.today()
    sync_entries_from_records(session, today, batch_id=batch_id)
    # On SQLite in slices: each subject's score is independent of the others', and the
    # scope of a million-row file (hundreds of thousands of subjects) is bound as Python
    # objects there. PostgreSQL loads the scope by COPY, and one statement over the
    # whole scope is several times faster than slices (each scans its join once).
    ordered = sorted(subject_ids)
    step = len(ordered) if is_postgres(session) else RESCORE_SLICE
    for start in range(0, len(ordered), max(step, 1)):
        rescore_subjects(session, ordered[start : start + step], today)
    queue_new_record_notices(session, batch_id)
    if queue_for_upper:
        queue_change(session, "batch:merged", "batch", batch_id, {"batch_id": batch_id})


def after_record_change(session: Session, record: Record) -> None:
    """What a record's new grade implies: its list entries end when its display period
    now ends, and its subject is rescored."""
    session.execute(
        update(ListEntry)
        .where(ListEntry.record_id == record.id, ListEntry.status == "listed")
        .values(end_date=record.display_until)
    )
    rescore_subjects(session, [record.subject_id], dt.date.today())
