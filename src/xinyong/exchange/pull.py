"""Pulling national lists from the upper platform (名单下发): incremental, resumable,
exactly once in effect.

The pull watermark (``exchange_state``, stream ``pull:lists``) is the upper platform's feed
cursor up to which every entry has been applied here. A page is fetched outside any
transaction; then one transaction takes the stream's lock, re-reads the watermark (another
run may have applied the page meanwhile), applies every entry of the page and moves the
watermark to the page's end. A crash, a failed entry or a lost connection rolls the whole
page back with the watermark, and the next run fetches it again: each entry's effect is
committed once, together with the watermark that says so. Applying an entry is idempotent
besides (it sets the state the upper platform holds now), so even a page applied twice
would change nothing the second time.

A pulled entry becomes what a local one is: a record (under the department standing for
the upper platform, ``UP-<code>``, so the archive shows where it came from) and a list
entry with the upper platform's reasons, basis and period (source ``upper_platform``), which
the joint-punishment engine uses like any other. Pulled records never enter the outbox.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xinyong.actors import SYSTEM
from xinyong.audit.services import record_event
from xinyong.catalog.models import Department
from xinyong.db import utcnow
from xinyong.errors import XinyongError
from xinyong.exchange.models import ExchangeState
from xinyong.exchange.push import UPPER_PREFIX, ExchangeFailed
from xinyong.exchange.receive import find_record
from xinyong.exchange.services import lock_stream
from xinyong.exchange.wire import PAGE_LIMIT, ListPage, WireListEntry, as_row, parse_list_page
from xinyong.lists.models import EndReason, EntryStatus, ListEntry, ListKind
from xinyong.lists.services import DEFAULT_TEXTS, sync_entries_from_records
from xinyong.records.models import Record
from xinyong.records.states import RecordState
from xinyong.scoring.services import rescore_subjects
from xinyong.submissions.ingest import TableInput, ingest_table, iter_json_rows

PULL_STREAM = "pull:lists"
UPPER_SOURCE = "upper_platform"  # ListEntry.source of pulled entries
# The upper platform's record state when it ended an entry, as the state of the record here.
ENDED_STATES = {
    "repaired": RecordState.REPAIRED,
    "revoked": RecordState.REVOKED,
    "expired": RecordState.EXPIRED,
}
# Records that left use here, which a listing upstream brings back into use.
RELISTABLE = {s.value for s in ENDED_STATES.values()}

Fetcher = Callable[[int, int], bytes]  # (after, limit) -> the page as answered


@dataclass
class PageOutcome:
    listed: int = 0
    ended: int = 0
    skipped: int = 0  # ended upstream, never held here
    rejected: int = 0  # the record failed this platform's validation


@dataclass
class PullResult:
    pages: int = 0
    entries: int = 0
    listed: int = 0
    ended: int = 0
    skipped: int = 0
    rejected: int = 0
    watermark: int = 0
    finished: bool = False


def pull_watermark(session: Session) -> int:
    state = session.get(ExchangeState, PULL_STREAM)
    return state.watermark if state else 0


def upper_department(session: Session, source: str) -> Department:
    """Records pulled from an upper platform are kept under a department standing for it."""
    code = f"{UPPER_PREFIX}{source}"[:32]
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        dept = Department(code=code, name=f"上级信用平台 {source}")
        session.add(dept)
        session.flush()
    return dept


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _held(session: Session, dept: Department, entry: WireListEntry) -> Record | None:
    try:
        return find_record(session, dept, entry.record)
    except XinyongError:  # an identity number this platform cannot read: never held here
        return None


def _apply_listed(
    session: Session, dept: Department, entry: WireListEntry, record: Record, on: dt.date
) -> None:
    if record.state in RELISTABLE:
        from xinyong.changes.records import set_record_state

        set_record_state(session, SYSTEM, record, RecordState.ACTIVE, action="exchange:list:relisted", reason=f"上级平台 {dept.name} 重新列入名单", on=on)  # fmt: skip
    held = session.scalar(
        select(ListEntry).where(
            ListEntry.list_kind == entry.list_kind,
            ListEntry.subject_id == record.subject_id,
            ListEntry.record_id == record.id,
        )
    )
    start = _date(entry.start_date) or record.decision_date
    if held is None:
        texts = DEFAULT_TEXTS[ListKind(entry.list_kind)]
        held = ListEntry(
            subject_id=record.subject_id,
            list_kind=entry.list_kind,
            record_id=record.id,
            item_code=record.item_code,
            measures=texts["measures"],
            exit_conditions=texts["exit"],
            remedies=texts["remedies"],
        )
        session.add(held)
    held.status = EntryStatus.LISTED.value
    held.source = UPPER_SOURCE
    held.department_id = dept.id
    held.reasons = entry.reasons or record.item_code
    held.basis = entry.basis or f"上级平台 {dept.name} 下发"
    held.decided_on = start
    held.start_date = start
    held.end_date = _date(entry.end_date)
    held.ended_on = None
    held.end_reason = None
    held.decided_by = dept.name
    session.flush()


def _apply_ended(
    session: Session, dept: Department, entry: WireListEntry, record: Record, on: dt.date
) -> None:
    session.execute(
        update(ListEntry)
        .where(
            ListEntry.record_id == record.id,
            ListEntry.list_kind == entry.list_kind,
            ListEntry.status.in_([EntryStatus.LISTED.value, EntryStatus.NOTIFIED.value]),
        )
        .values(
            status=EntryStatus.ENDED.value,
            ended_on=_date(entry.ended_on) or on,
            end_reason=EndReason.SOURCE_REMOVED.value,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    target = ENDED_STATES.get(entry.record.state)
    if target is not None and record.state == RecordState.ACTIVE.value:
        # The record upstream left use (repaired, revoked, display over): here too, so
        # that punishments tied to the item itself stop as well.
        from xinyong.changes.records import set_record_state

        set_record_state(session, SYSTEM, record, target, action="exchange:list:ended", reason=f"上级平台 {dept.name} 移出名单", on=on)  # fmt: skip


def apply_page(
    session: Session,
    page: ListPage,
    *,
    on: dt.date | None = None,
    after_each: Callable[[int], None] | None = None,
) -> PageOutcome:
    """Apply every entry of ``page`` in the caller's transaction (flush, no commit).

    ``after_each`` is called with the number of entries applied so far (progress; tests
    inject a crash there)."""
    on = on or dt.date.today()
    outcome = PageOutcome()
    dept = upper_department(session, page.source)
    # An entry may appear twice in a page; every appearance shows its current state.
    latest = {e.entry_id: e for e in page.entries}
    entries = sorted(latest.values(), key=lambda e: e.seq)
    listed = [e for e in entries if e.status == "listed"]
    if listed:
        rows = [as_row(e.record) for e in listed]
        ingest_table(
            session,
            SYSTEM,
            TableInput(
                headers=list(dict.fromkeys(k for row in rows for k in row)),
                rows=iter_json_rows(rows),
                filename=f"exchange:{page.source}:lists",
            ),
            department_code=dept.code,
            channel="exchange",
            queue_for_upper=False,
        )
    touched: set[int] = set()
    relisted: list[int] = []
    for done, entry in enumerate(entries, start=1):
        record = _held(session, dept, entry)
        if record is None:
            if entry.status == "listed":
                outcome.rejected += 1
            else:
                outcome.skipped += 1
        elif entry.status == "listed":
            _apply_listed(session, dept, entry, record, on)
            relisted.append(record.id)
            touched.add(record.subject_id)
            outcome.listed += 1
        else:
            _apply_ended(session, dept, entry, record, on)
            touched.add(record.subject_id)
            outcome.ended += 1
        if after_each is not None:
            after_each(done)
    if relisted:
        # 落实到人: the responsible persons of a listed organisation, as for local entries.
        sync_entries_from_records(session, on, record_ids=relisted)
    if touched:
        rescore_subjects(session, sorted(touched), on)
    session.flush()
    return outcome


def pull(
    factory: Callable[[], Session],
    fetch: Fetcher,
    *,
    limit: int = PAGE_LIMIT,
    max_pages: int | None = None,
    after_each: Callable[[int], None] | None = None,
) -> PullResult:
    """Fetch and apply pages after the watermark until the upper platform has no more.
    Stops early (resumable) after ``max_pages``; raises ExchangeFailed or BadListPage when
    the upper platform fails, with every page applied before that kept."""
    result = PullResult()
    with factory() as session:
        result.watermark = pull_watermark(session)
    while max_pages is None or result.pages < max_pages:
        after = result.watermark
        page = parse_list_page(fetch(after, limit), after)
        with factory() as session:
            held = lock_stream(session, PULL_STREAM)
            if held != after:
                # Another run applied pages meanwhile: continue from where it got to.
                session.rollback()
                result.watermark = held
                continue
            outcome = apply_page(session, page, after_each=after_each)
            state = session.get(ExchangeState, PULL_STREAM)
            assert state is not None
            state.watermark = page.next_after
            state.updated_at = utcnow()
            record_event(session, SYSTEM, "exchange:lists:pulled", target_type="exchange_stream", target_id=PULL_STREAM, details={"counterpart": page.source, "after": after, "watermark": page.next_after, "entries": len(page.entries), "listed": outcome.listed, "ended": outcome.ended, "skipped": outcome.skipped, "rejected": outcome.rejected})  # fmt: skip
            session.commit()
        result.pages += 1
        result.entries += len(page.entries)
        result.listed += outcome.listed
        result.ended += outcome.ended
        result.skipped += outcome.skipped
        result.rejected += outcome.rejected
        result.watermark = page.next_after
        if not page.more:
            result.finished = True
            break
    return result


def http_fetcher(base_url: str, api_key: str, timeout: float = 60.0) -> Fetcher:
    """GET the upper platform's ``/api/v1/exchange/lists`` after a cursor."""
    root = base_url.rstrip("/") + "/api/v1/exchange/lists"

    def fetch(after: int, limit: int) -> bytes:
        query = urllib.parse.urlencode({"after": after, "limit": limit})
        request = urllib.request.Request(
            f"{root}?{query}",
            headers={"Accept": "application/json", "Authorization": f"Bearer {api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            raise ExchangeFailed(f"上级平台拒绝了名单拉取（HTTP {exc.code}）") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ExchangeFailed("无法连接上级平台，稍后重试") from exc

    return fetch
