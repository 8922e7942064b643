"""Serving this platform's list memberships to the platforms below it (名单下发).

A lower platform pulls the feed after its cursor. The feed is the table
``exchange_list_feed``: each row says "list entry E was announced in state S". It is filled
by ``catch_up``, which compares every list entry this platform holds — its own, those
received from other cities, those entered nationally — with the state last announced, and
appends a row for each one that changed. ``catch_up`` runs under a lock (the feed's row in
``exchange_state``), so rows are appended by one transaction at a time: seq order is commit
order, and a lower platform that has read up to seq N can never later find a row below N.

A page shows each entry as it is *now* (an entry announced twice shows its current state
twice), which is what lets the lower platform apply entries idempotently. Entries derived
here for responsible persons (落实到人) are not served: every platform derives them itself.
Entries a lower platform sent up are not served back to it (no echo).
"""

from __future__ import annotations

from sqlalchemy import and_, case, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.catalog.models import Department
from xinyong.config import get_settings
from xinyong.db import UtcDateTime, affected, utcnow
from xinyong.exchange.models import ExchangeListFeed
from xinyong.exchange.push import wire_record
from xinyong.exchange.services import lock_stream
from xinyong.exchange.wire import PAGE_LIMIT, ListPage, WireListEntry
from xinyong.identity.protection import IdentityProtector
from xinyong.lists.models import EntryStatus, ListEntry
from xinyong.records.models import Record
from xinyong.subjects.models import Subject

FEED_STREAM = "feed:lists"


def platform_code() -> str:
    """This platform's code in the exchange (what its pages say they come from)."""
    settings = get_settings()
    return settings.exchange_source or settings.city_region_code


def _feed_status() -> ColumnElement[str]:
    return case((ListEntry.status == EntryStatus.LISTED.value, "listed"), else_="ended")


def catch_up(session: Session) -> int:
    """Append a feed row for every list entry whose state differs from the one last
    announced; set-based, idempotent. Returns the number of rows appended."""
    lock_stream(session, FEED_STREAM)
    last = aliased(ExchangeListFeed)
    latest = aliased(ExchangeListFeed)
    any_row = aliased(ExchangeListFeed)
    status = _feed_status()
    last_seq = (
        select(func.max(latest.seq))
        .where(latest.entry_id == ListEntry.id)
        .correlate(ListEntry)
        .scalar_subquery()
    )
    unchanged = exists().where(
        last.seq == last_seq,
        last.status == status,
        last.end_date.is_not_distinct_from(ListEntry.end_date),
        last.record_version == Record.version,
    )
    announced = exists().where(any_row.entry_id == ListEntry.id)
    changed = (
        select(
            ListEntry.id,
            status,
            ListEntry.end_date,
            Record.version,
            literal(utcnow(), UtcDateTime),
        )
        .join(Record, Record.id == ListEntry.record_id)
        .where(
            ListEntry.source != "responsible_person",
            # An entry ended (or withdrawn) before anyone was told of it is never served.
            or_(
                ListEntry.status == EntryStatus.LISTED.value,
                and_(
                    ListEntry.status.in_([EntryStatus.ENDED.value, EntryStatus.WITHDRAWN.value]),
                    announced,
                ),
            ),
            ~unchanged,
        )
        .order_by(ListEntry.id)
    )
    result = session.execute(
        insert(ExchangeListFeed).from_select(
            ["entry_id", "status", "end_date", "record_version", "created_at"], changed
        )
    )
    session.flush()
    return affected(result)


def list_page(
    session: Session,
    protector: IdentityProtector,
    actor: Actor,
    after: int,
    limit: int = PAGE_LIMIT,
) -> ListPage:
    """The feed after ``after`` for the lower platform ``actor`` (its code is the key's
    organisation). The feed is caught up when the caller reaches its end."""
    limit = min(max(limit, 1), PAGE_LIMIT)
    query = (
        select(ExchangeListFeed.seq, ListEntry, Record, Subject)
        .join(ListEntry, ListEntry.id == ExchangeListFeed.entry_id)
        .join(Record, Record.id == ListEntry.record_id)
        .join(Subject, Subject.id == ListEntry.subject_id)
        .where(ExchangeListFeed.seq > after)
        .order_by(ExchangeListFeed.seq)
        .limit(limit + 1)
    )
    rows = session.execute(query).all()
    if len(rows) <= limit and catch_up(session):
        # The caller reached the end of the feed: what changed since is appended first.
        rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    caller = actor.organisation
    echo_department = (
        session.scalar(select(Department.id).where(Department.code == f"PT-{caller}"[:32]))
        if caller
        else None
    )
    entries = [
        WireListEntry(
            seq=seq,
            entry_id=entry.id,
            status="listed" if entry.status == EntryStatus.LISTED.value else "ended",
            list_kind=entry.list_kind,
            reasons=entry.reasons[:5000],
            basis=entry.basis[:5000],
            start_date=entry.start_date.isoformat() if entry.start_date else None,
            end_date=entry.end_date.isoformat() if entry.end_date else None,
            ended_on=entry.ended_on.isoformat() if entry.ended_on else None,
            end_reason=entry.end_reason,
            record=wire_record(protector, record, subject),
        )
        for seq, entry, record, subject in rows
        # No echo: what the caller sent up is its own already.
        if echo_department is None or record.department_id != echo_department
    ]
    next_after = rows[-1][0] if rows else after
    record_event(session, actor, "exchange:lists:served", target_type="exchange_stream", target_id=FEED_STREAM, details={"counterpart": caller, "after": after, "next_after": next_after, "entries": len(entries), "more": more})  # fmt: skip
    return ListPage(source=platform_code(), entries=entries, next_after=next_after, more=more)
