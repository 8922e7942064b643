"""partitioning: query_log by year, audit_events by month (issue 8)

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-23 14:00:00

PostgreSQL only; SQLite is unchanged. See ``xinyong.partitions`` and docs/scale.md, which
also gives the measurements for which ``records`` is *not* partitioned (hash by subject was
built and measured first, commit 47af401: it slowed the import's keyed merge and the check).

Each table is converted by copy: the old table is renamed, its constraints and indexes are
dropped (their definitions kept), a partitioned table ``LIKE`` it is created with its
partitions, the rows are copied, then the primary key (now including the partition key),
unique constraints, foreign keys and indexes are re-created on the parent (and so on every
partition), the id sequence is handed over, and the old table is dropped.

Locks: the conversion holds ACCESS EXCLUSIVE on each table while it is copied — the
platform is down for its duration (measured in docs/scale.md). Backward compatible: the
application does not know whether a table is partitioned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.engine import Connection

from xinyong.partitions import AUDIT_EVENTS, QUERY_LOG, ensure

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRIMARY_KEYS = {
    "query_log": ("id", "queried_at"),
    "audit_events": ("seq", "occurred_at"),
}
UNPARTITIONED_KEYS = {"query_log": ("id",), "audit_events": ("seq",)}


def _rebuild(conn: Connection, table: str, partition_by: str | None, key: Sequence[str]) -> None:
    """Rebuild ``table`` partitioned by ``partition_by`` (or plain when None), by copy."""
    old = f"{table}_old"
    constraints = conn.execute(
        text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u', 'f') "
            "AND conparentid = 0 ORDER BY contype DESC, conname"
        ),
        {"t": table},
    ).all()
    indexes = conn.execute(
        text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = CAST(:t AS regclass) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
            "AND k.conrelid = i.indrelid) ORDER BY c.relname"
        ),
        {"t": table},
    ).all()
    sequence = conn.execute(
        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": key[0]}
    ).scalar()
    conn.execute(text(f"ALTER TABLE {table} RENAME TO {old}"))
    for name, _kind, _ in constraints:
        conn.execute(text(f"ALTER TABLE {old} DROP CONSTRAINT {name}"))
    for name, _ in indexes:
        conn.execute(text(f"DROP INDEX {name}"))
    clause = f" PARTITION BY {partition_by}" if partition_by else ""
    conn.execute(
        text(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE){clause}"
        )
    )
    if partition_by:
        spec = QUERY_LOG if table == QUERY_LOG.table else AUDIT_EVENTS
        conn.execute(text(f"CREATE TABLE {spec.default} PARTITION OF {table} DEFAULT"))
        oldest = conn.execute(text(f"SELECT min({spec.column}) FROM {old}")).scalar()
        today = dt.date.today()
        since = oldest.astimezone(dt.UTC).date() if oldest else today
        ensure(conn, today, months=3, since=since, tables=(spec,))
    conn.execute(text(f"INSERT INTO {table} SELECT * FROM {old}"))
    conn.execute(
        text(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(key)})")
    )
    for name, kind, definition in constraints:
        if kind != "p":
            conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for _, definition in indexes:
        conn.execute(text(definition.replace(" ON ONLY ", " ON ")))
    if sequence:
        conn.execute(text(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{key[0]}"))
    conn.execute(text(f"DROP TABLE {old}"))
    conn.execute(text(f"ANALYZE {table}"))


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    _rebuild(conn, "query_log", "RANGE (queried_at)", PRIMARY_KEYS["query_log"])
    _rebuild(conn, "audit_events", "RANGE (occurred_at)", PRIMARY_KEYS["audit_events"])


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table in ("audit_events", "query_log"):
        _rebuild(conn, table, None, UNPARTITIONED_KEYS[table])
