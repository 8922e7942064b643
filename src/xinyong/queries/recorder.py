"""The one recorder of reads of a person's data (查询日志): what a read writes, on every path.

A ``Read`` is one read: who, of whom, what (``action``), why, on what basis, what was
returned, and the details of its audit event (``None``: the caller records one event for
many reads, as a batch comparison does for its file). Every strategy writes the same
``query_log`` row (``log_row``) and the same audit event (``read_event``, tagged
``query:<action>``, a member of ``audit.tags.EventTag``) for the same read:

- ``OrmRecorder``: one ``QueryLog`` per read through the ORM (``log_query``: any read; a
  check on SQLite). Its event may also name the row's id (``Read.names_log_id``).
- ``SetRecorder``: many reads in one set-based statement, ``INSERT … SELECT FROM unnest``
  of one array per column on PostgreSQL (a check; the check API's fast path composes
  ``insert_sql``/``params`` into its own statement), one ``executemany`` on SQLite.
- ``CopyRecorder``: a bulk of reads by COPY on PostgreSQL (``bulk.copy_rows``; batch
  comparison), one ``executemany`` on SQLite.

``tests/integration/queries/test_recorder.py`` checks that the strategies write the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg.types.json import Jsonb
from sqlalchemy import insert
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import PendingEvent, pending_event, queue_event
from xinyong.bulk import copy_rows, table_columns, unnest_insert
from xinyong.db import is_postgres, utcnow
from xinyong.queries.models import QueryLog

# The query log's columns a read writes (all but the id), from the model.
LOG_COLUMNS = table_columns(QueryLog.__table__, without=("id",))


@dataclass(frozen=True, slots=True)
class Read:
    """One read of a person's data, as the query log and the audit trail record it."""

    actor: Actor
    subject_id: int
    action: str  # the query log's action; the event's tag is "query:" + action
    purpose: str
    basis: str
    returned: dict[str, Any]
    organisation: str | None = None  # default: the actor's organisation
    authorization_id: int | None = None
    reference: str | None = None  # 业务编号 of a department's read
    # The audit event's details; None: no event of its own (one for many reads, elsewhere).
    details: dict[str, Any] | None = None
    names_log_id: bool = False  # the event names the row's id first (OrmRecorder only)
    at: dt.datetime | None = None  # when read; default: when recorded


def clean_reference(reference: str | None) -> str | None:
    """A 业务编号 as the query log keeps it."""
    return (reference or "").strip()[:100] or None


def log_row(read: Read, at: dt.datetime) -> dict[str, Any]:
    """The read's ``query_log`` row, by column name."""
    return {
        "subject_id": read.subject_id,
        "actor": read.actor.name,
        "organisation": read.organisation or read.actor.organisation_name,
        "channel": read.actor.channel,
        "action": read.action,
        "purpose": read.purpose[:200],
        "reference": clean_reference(read.reference),
        "basis": read.basis,
        "authorization_id": read.authorization_id,
        "returned": read.returned,
        "queried_at": read.at or at,
    }


def read_event(read: Read, log_id: int | None = None) -> PendingEvent | None:
    """The read's audit event (None: it has none of its own, or the trail is off)."""
    if read.details is None:
        return None
    details = read.details
    if read.names_log_id:
        if log_id is None:
            raise ValueError("only the ORM recorder knows the query log row's id")
        details = {"query_log_id": log_id, **details}
    return pending_event(
        read.actor,
        f"query:{read.action}",
        target_type="subject",
        target_id=read.subject_id,
        purpose=read.purpose,
        basis=read.basis,
        organisation=read.organisation or read.actor.organisation_name,
        details=details,
    )


class ReadRecorder(Protocol):
    def record(self, session: Session, reads: Sequence[Read]) -> None:
        """Write the reads' query-log rows and queue their audit events, in the session's
        transaction (the read is logged with it, or not answered)."""


class OrmRecorder:
    """One ``QueryLog`` per read through the ORM."""

    def record(self, session: Session, reads: Sequence[Read]) -> None:
        self.entries(session, reads)

    def entries(self, session: Session, reads: Sequence[Read]) -> list[QueryLog]:
        now = utcnow()
        entries = [QueryLog(**log_row(read, now)) for read in reads]
        session.add_all(entries)
        session.flush()
        for read, entry in zip(reads, entries, strict=True):
            queue_event(session, read_event(read, entry.id))
        return entries


class SetRecorder:
    """Many reads in one set-based statement."""

    @staticmethod
    def insert_sql(prefix: str = "q_") -> str:
        """``INSERT INTO query_log … SELECT FROM unnest(…)`` of one array parameter per
        column, named ``prefix`` + column (PostgreSQL, psycopg)."""
        return unnest_insert(QueryLog.__table__, LOG_COLUMNS, prefix)

    @staticmethod
    def params(reads: Sequence[Read], prefix: str = "q_") -> dict[str, list[Any]]:
        """The arrays of ``insert_sql`` for the reads."""
        now = utcnow()
        arrays: dict[str, list[Any]] = {f"{prefix}{name}": [] for name in LOG_COLUMNS}
        for read in reads:
            row = log_row(read, now)
            row["returned"] = Jsonb(row["returned"])
            for name in LOG_COLUMNS:
                arrays[f"{prefix}{name}"].append(row[name])
        return arrays

    def record(self, session: Session, reads: Sequence[Read]) -> None:
        if not reads:
            return
        if is_postgres(session):
            driver: Any = session.connection().connection.driver_connection
            with driver.cursor() as cur:
                cur.execute(self.insert_sql(), self.params(reads))
        else:
            now = utcnow()
            session.execute(insert(QueryLog), [log_row(read, now) for read in reads])
        for read in reads:
            queue_event(session, read_event(read))


class CopyRecorder:
    """A bulk of reads by COPY (``bulk.copy_rows``)."""

    def record(self, session: Session, reads: Sequence[Read]) -> None:
        if not reads:
            return
        now = utcnow()
        copy_rows(
            session, QueryLog.__table__, (log_row(read, now) for read in reads), columns=LOG_COLUMNS
        )
        for read in reads:
            queue_event(session, read_event(read))


STRATEGIES: dict[str, ReadRecorder] = {
    "orm": OrmRecorder(),
    "set": SetRecorder(),
    "copy": CopyRecorder(),
}
