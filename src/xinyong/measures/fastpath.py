"""The check API's hot path on PostgreSQL: reads on the event loop, records written behind.

A business system's check is a read (the subject's facts), a decision (pure) and a record
(the check row, its query-log row, its audit event). On this path:

- the facts come from the one indexed statement of ``facts.facts_by_index``, run on an
  async psycopg connection from a per-process pool (no worker thread, no ORM);
- the records of all checks that arrive while the previous write is in flight are written
  together, in one transaction (application-level group commit): one statement for the
  check rows and their query-log rows, one chain append for their audit events, one
  commit. The check ids are taken from the table's sequence first, so each answer and its
  audit event carry their id;
- an answer leaves only after the transaction holding its records has committed, as on
  the one-transaction path; if that transaction fails, every check in it is answered with
  an error and nothing of it remains.

The read and the record are in two transactions here (the read commits nothing). That is
the one difference from ``services.run_check``, whose answers and records are otherwise
the same: ``tests/integration/measures/test_fast_path.py`` compares them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from xinyong.actors import Actor
from xinyong.audit.services import APPEND_CTES, PendingEvent, append_params
from xinyong.bulk import unnest_insert
from xinyong.catalog.catalog import Catalog
from xinyong.db import utcnow
from xinyong.errors import XinyongError
from xinyong.measures.engine import SubjectFacts
from xinyong.measures.facts import facts_from_row, facts_statement
from xinyong.measures.models import Check
from xinyong.measures.services import (
    CHECK_COLUMNS,
    CheckPlan,
    CheckResult,
    answer_check,
    check_not_found_event,
    check_read,
    check_row,
    pg_check_row,
)
from xinyong.queries.recorder import Read, SetRecorder, read_event

log = logging.getLogger("xinyong.checks")

MAX_BATCH = 500
ID_BLOCK = 1000


class CheckNotRecorded(XinyongError):
    """The check's record could not be committed: it is not answered."""

    http_status = 503


@functools.lru_cache(maxsize=4)
def conninfo_of(sqlalchemy_url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL (driver suffix removed)."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@dataclass(slots=True)
class _Pending:
    actor: Actor
    plan: CheckPlan
    subject_id: int | None
    verdict: str
    decisions: list[dict[str, Any]]
    done: asyncio.Future[int]
    now: dt.datetime = field(default_factory=utcnow)


_NEXT_IDS_SQL = "SELECT nextval(pg_get_serial_sequence('checks', 'id')) FROM generate_series(1, %s)"
# The check ids come first (taken from the sequence ahead of need), then the rest.
_CHECK_IDS = ("id", *CHECK_COLUMNS)

# The checks and the query-log rows of the known subjects (queries.recorder), in one
# statement; with their audit events when the trail is on.
_RECORD_CTES = (
    f"c AS ({unnest_insert(Check.__table__, _CHECK_IDS, 'c_')}), "
    f"q AS ({SetRecorder.insert_sql('q_')})"
)
RECORD_SQL = f"WITH {_RECORD_CTES} SELECT 1"
RECORD_AND_AUDIT_SQL = f"WITH RECURSIVE {_RECORD_CTES}, {APPEND_CTES} SELECT 1"


def _reads(batch: list[_Pending], ids: list[int]) -> list[Read]:
    return [
        check_read(e.actor, e.plan, e.subject_id, check_id, e.verdict, e.decisions, at=e.now)
        for e, check_id in zip(batch, ids, strict=True)
        if e.subject_id is not None
    ]


def record_params(batch: list[_Pending], ids: list[int]) -> dict[str, Any]:
    """The arrays of ``RECORD_SQL`` for a batch whose check ids are ``ids``."""
    checks: dict[str, list[Any]] = {f"c_{name}": [] for name in _CHECK_IDS}
    for entry, check_id in zip(batch, ids, strict=True):
        row = pg_check_row(
            check_row(
                entry.actor, entry.plan, entry.subject_id, entry.verdict, entry.decisions, entry.now
            )
        )
        row["id"] = check_id
        for name in _CHECK_IDS:
            checks[f"c_{name}"].append(row[name])
    return checks | SetRecorder.params(_reads(batch, ids), "q_")


class CheckJournal:
    """Writes checks' records behind their reads, many per transaction (see the module)."""

    def __init__(self, conninfo: str, *, max_batch: int = MAX_BATCH) -> None:
        self._conninfo = conninfo
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection[Any] | None = None
        self._spare_ids: list[int] = []

    async def record(
        self,
        actor: Actor,
        plan: CheckPlan,
        subject_id: int | None,
        verdict: str,
        decisions: list[dict[str, Any]],
    ) -> int:
        """The check's id, once its records are committed."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(actor, plan, subject_id, verdict, decisions, done))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="check-journal")
        return await done

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                try:
                    ids = await self._write(batch)
                except Exception:
                    log.exception("check records not committed (%d checks)", len(batch))
                    await self._reset()
                    failure = CheckNotRecorded(
                        "核查记录未能保存，请稍后重试", code="check_not_recorded"
                    )
                    for entry in batch:
                        if not entry.done.done():
                            entry.done.set_exception(failure)
                else:
                    for entry, check_id in zip(batch, ids, strict=True):
                        if not entry.done.done():
                            entry.done.set_result(check_id)

    async def _reset(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            finally:
                self._conn = None

    async def _connection(self) -> AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._conn

    async def _ids(self, conn: AsyncConnection[Any], n: int) -> list[int]:
        """``n`` fresh check ids, from a block taken from the sequence ahead of need."""
        while len(self._spare_ids) < n:
            cur = await conn.execute(_NEXT_IDS_SQL, (max(ID_BLOCK, n),))
            self._spare_ids.extend(int(row[0]) for row in await cur.fetchall())
        ids = self._spare_ids[:n]
        del self._spare_ids[:n]
        return ids

    async def _write(self, batch: list[_Pending]) -> list[int]:
        """One statement (its own transaction): the checks, their query-log rows and
        their audit events chained onto the head."""
        conn = await self._connection()
        ids = await self._ids(conn, len(batch))
        params = record_params(batch, ids)
        found = iter(_reads(batch, ids))
        events: list[PendingEvent] = []
        for entry, check_id in zip(batch, ids, strict=True):
            pending = (
                check_not_found_event(entry.actor, entry.plan, check_id)
                if entry.subject_id is None
                else read_event(next(found))
            )
            if pending is not None:
                events.append(pending)
        if events:
            params.update(append_params(events))
            await conn.execute(RECORD_AND_AUDIT_SQL, params)
        else:
            await conn.execute(RECORD_SQL, params)
        return ids


class FastChecks:
    """The per-process (per event loop) reader pool and journal of the check API."""

    def __init__(self, conninfo: str, *, pool_size: int = 8) -> None:
        self.conninfo = conninfo
        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=2,
            max_size=pool_size,
            kwargs={"autocommit": True},
            open=False,
            name="checks",
        )
        self.journal = CheckJournal(conninfo)
        self._opened = False
        self._opening = asyncio.Lock()

    async def open(self) -> None:
        if self._opened:
            return
        async with self._opening:
            if not self._opened:
                await self.pool.open(wait=True)
                self._opened = True

    async def close(self) -> None:
        await self.journal.close()
        await self.pool.close()

    async def facts(self, index: str, catalog: Catalog, on: dt.date) -> SubjectFacts | None:
        """``facts.facts_by_index`` on a pooled connection (prepared after a few uses)."""
        await self.open()
        async with self.pool.connection() as conn:
            cur = await conn.execute(facts_statement(on), {"index": index})
            row = await cur.fetchone()
        return None if row is None else facts_from_row(catalog, *row)

    async def check(self, actor: Actor, plan: CheckPlan, catalog: Catalog) -> CheckResult:
        on = dt.date.today()
        facts = await self.facts(plan.index, catalog, on)
        subject_id = facts.subject_id if facts is not None else None
        verdict, decisions = answer_check(plan, facts, catalog, on)
        check_id = await self.journal.record(actor, plan, subject_id, verdict, decisions)
        return CheckResult(check_id, verdict, decisions, subject_id is not None)


# One reader pool and journal per event loop (each server worker has one; tests make more).
_instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FastChecks] = (
    weakref.WeakKeyDictionary()
)


def for_this_loop(database_url: str) -> FastChecks:
    conninfo = conninfo_of(database_url)
    loop = asyncio.get_running_loop()
    found = _instances.get(loop)
    if found is None or found.conninfo != conninfo:
        found = _instances[loop] = FastChecks(conninfo)
    return found


async def close_for_this_loop() -> None:
    found = _instances.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()
