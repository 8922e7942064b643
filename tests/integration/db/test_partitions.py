"""PostgreSQL partitioning of query_log and audit_events (xinyong.partitions)."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests import factories
from xinyong import partitions
from xinyong.actors import cli_operator
from xinyong.audit.services import verify
from xinyong.identity.protection import protector_for
from xinyong.migrate import alembic_config
from xinyong.queries.models import QueryBasis, QueryLog
from xinyong.queries.services import log_query, purge_query_log
from xinyong.subjects.services import find_subject

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("partitioning is PostgreSQL-only; SQLite keeps plain tables")


def _where(session: Session, table: str, condition: str, params: dict[str, object]) -> list[str]:
    rows = session.execute(
        text(f"SELECT DISTINCT tableoid::regclass::text FROM {table} WHERE {condition}"), params
    )
    return sorted(r[0].rsplit(".", 1)[-1] for r in rows)


def _subject_with_records(session: Session) -> int:
    dept = factories.department(session)
    number = factories.resident_id()
    rows = [factories.penalty_row(id_number=number, dept=dept) for _ in range(3)]
    assert factories.submit_rows(session, rows).accepted == 3
    subject = find_subject(session, protector_for(), number)
    assert subject is not None
    return subject.id


def test_the_log_tables_are_partitioned_and_records_are_not(session: Session) -> None:
    conn = session.connection()
    names = {t: [n for n, _ in partitions.partitions_of(conn, t)] for t in partitions.PARTITIONED}
    today = dt.date.today()
    assert {"query_log_default", f"query_log_y{today:%Y}"} <= set(names["query_log"])
    assert {"audit_events_default", f"audit_events_m{today:%Y%m}"} <= set(names["audit_events"])
    # The migration made the next three months ahead.
    ahead = partitions.AUDIT_EVENTS.next_start(partitions.AUDIT_EVENTS.start_of(today))
    assert partitions.AUDIT_EVENTS.name(ahead) in names["audit_events"]
    assert not partitions.is_partitioned(conn, "records")  # measured: docs/scale.md


def test_rows_land_in_their_partitions(session: Session) -> None:
    subject_id = _subject_with_records(session)
    entry = log_query(
        session,
        cli_operator("test"),
        subject_id,
        action="archive:view",
        purpose="测试",
        basis=QueryBasis.ADMINISTRATION,
        returned={},
    )
    session.commit()  # the audit event is appended at commit
    now = dt.datetime.now(dt.UTC)
    assert _where(session, "query_log", "id = :i", {"i": entry.id}) == [f"query_log_y{now:%Y}"]
    assert _where(session, "audit_events", "seq = (SELECT max(seq) FROM audit_events)", {}) == [
        f"audit_events_m{now:%Y%m}"
    ]


def test_the_default_partition_catches_and_ensure_moves_rows_out(session: Session) -> None:
    subject_id = _subject_with_records(session)
    far = dt.datetime(2061, 6, 15, tzinfo=dt.UTC)
    session.add(
        QueryLog(
            subject_id=subject_id, actor="t", channel="cli", action="archive:view",
            purpose="测试", basis="self", returned={}, queried_at=far,
        )
    )  # fmt: skip
    session.flush()
    assert _where(session, "query_log", "queried_at = :t", {"t": far}) == ["query_log_default"]
    made = partitions.ensure(session.connection(), far.date(), months=0)
    assert made == ["query_log_y2061", "audit_events_m206106"]
    assert _where(session, "query_log", "queried_at = :t", {"t": far}) == ["query_log_y2061"]
    assert partitions.ensure(session.connection(), far.date(), months=0) == []  # idempotent


def test_purge_drops_whole_years_and_deletes_in_the_boundary_year(session: Session) -> None:
    subject_id = _subject_with_records(session)
    conn = session.connection()
    partitions.ensure(conn, dt.date(2010, 1, 1), months=0)
    partitions.ensure(conn, dt.date(2016, 1, 1), months=0)
    times = [
        dt.datetime(2010, 3, 1, tzinfo=dt.UTC),  # year wholly past retention: dropped
        dt.datetime(2016, 2, 1, tzinfo=dt.UTC),  # boundary year, past: deleted
        dt.datetime(2016, 12, 1, tzinfo=dt.UTC),  # boundary year, kept
        dt.datetime(2009, 5, 1, tzinfo=dt.UTC),  # no partition: in the default, deleted
    ]
    for t in times:
        session.add(
            QueryLog(
                subject_id=subject_id, actor="t", channel="cli", action="archive:view",
                purpose="测试", basis="self", returned={}, queried_at=t,
            )
        )  # fmt: skip
    session.flush()
    removed = purge_query_log(session, dt.date(2026, 11, 23), 10)
    assert removed == 3
    left = [n for n, _ in partitions.partitions_of(conn, "query_log")]
    assert "query_log_y2010" not in left and "query_log_y2016" in left
    kept = session.scalars(select(QueryLog.queried_at).where(QueryLog.subject_id == subject_id))
    assert list(kept) == [times[2]]


def test_the_migration_converts_existing_rows_both_ways(
    connection: Connection, session: Session
) -> None:
    """0013 on a database with data: rows copied down to plain tables and back up again;
    the audit chain still verifies. (DDL inside the test's transaction, rolled back.)"""
    subject_id = _subject_with_records(session)
    log_query(
        session, cli_operator("test"), subject_id, action="archive:view", purpose="测试",
        basis=QueryBasis.ADMINISTRATION, returned={},
    )  # fmt: skip
    session.commit()

    def counts() -> list[int]:
        return [
            connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in partitions.PARTITIONED
        ]

    before = counts()
    assert before[0] >= 1 and before[1] >= 1
    command.downgrade(alembic_config(connection), "0012")
    assert not any(partitions.is_partitioned(connection, t) for t in partitions.PARTITIONED)
    assert counts() == before
    command.upgrade(alembic_config(connection), "head")
    assert all(partitions.is_partitioned(connection, t) for t in partitions.PARTITIONED)
    assert counts() == before
    session.expire_all()
    assert verify(session).ok


def test_purge_reads_bounds_in_any_session_time_zone(session: Session) -> None:
    """PostgreSQL prints partition bounds in the session's time zone."""
    session.execute(text("SET LOCAL TimeZone = 'America/New_York'"))
    partitions.ensure(session.connection(), dt.date(2010, 1, 1), months=0)
    assert (
        partitions.drop_before(
            session.connection(), partitions.QUERY_LOG, dt.datetime(2011, 1, 1, tzinfo=dt.UTC)
        )
        == 0
    )
    left = [n for n, _ in partitions.partitions_of(session.connection(), "query_log")]
    assert "query_log_y2010" not in left and f"query_log_y{dt.date.today():%Y}" in left
