"""PostgreSQL partitioning of the two append-only tables (docs/scale.md). SQLite: none of this.

- ``query_log``: ``PARTITION BY RANGE (queried_at)``, one partition a **year**
  (``query_log_y2026``). Kept ten years, so about eleven partitions are live; a person's
  "who read my file" probes eleven small indexes; ``purge-queries`` drops the years wholly
  past retention and deletes only in the boundary year.
- ``audit_events``: ``PARTITION BY RANGE (occurred_at)``, one partition a **month**
  (``audit_events_m202611``). Every read and write appends one event, so it is the fastest
  growing table; the abuse scan reads yesterday and today (one or two partitions), and old
  months can be detached to cold storage once verified and anchored.

Each has a ``…_default`` partition so an insert never fails; :func:`ensure` creates the
coming partitions (``xinyong partitions ensure``, and the daily ``xinyong expire``) and
moves any rows the default partition caught into them.

``records`` is not partitioned: hash partitioning by subject was built and measured (the
keyed merge of a resubmission 1.7–3.8× slower, the check's facts statement 2.4× the
database time, nothing faster); docs/scale.md gives the figures and what it would take.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class RangeTable:
    table: str
    column: str
    unit: str  # "year" or "month"

    def start_of(self, day: dt.date) -> dt.date:
        return dt.date(day.year, 1, 1) if self.unit == "year" else dt.date(day.year, day.month, 1)

    def next_start(self, start: dt.date) -> dt.date:
        if self.unit == "year":
            return dt.date(start.year + 1, 1, 1)
        return dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)

    def name(self, start: dt.date) -> str:
        suffix = f"y{start:%Y}" if self.unit == "year" else f"m{start:%Y%m}"
        return f"{self.table}_{suffix}"

    @property
    def default(self) -> str:
        return f"{self.table}_default"


QUERY_LOG = RangeTable("query_log", "queried_at", "year")
AUDIT_EVENTS = RangeTable("audit_events", "occurred_at", "month")
RANGE_TABLES = (QUERY_LOG, AUDIT_EVENTS)
PARTITIONED = (QUERY_LOG.table, AUDIT_EVENTS.table)

_PARTITION_NAME = re.compile(r"^(query_log_(y\d{4}|default)|audit_events_(m\d{6}|default))$")


def is_partition_name(name: str | None) -> bool:
    return bool(name and _PARTITION_NAME.match(name))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, _: Any) -> bool:
    """Alembic's ``include_object`` for comparing models and database: partitions are not
    models (their parent table is)."""
    return not (type_ == "table" and reflected and is_partition_name(name))


def _bound(day: dt.date) -> str:
    return f"'{day.isoformat()} 00:00:00+00'"


def is_partitioned(conn: Connection, table: str) -> bool:
    return bool(
        conn.execute(
            text(
                "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                "WHERE c.relname = :t AND pg_table_is_visible(c.oid)"
            ),
            {"t": table},
        ).first()
    )


def partitions_of(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, bound expression) of each partition of ``table``, by name."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = :t AND pg_table_is_visible(p.oid) ORDER BY c.relname"
        ),
        {"t": table},
    )
    return [(r[0], r[1]) for r in rows]


def _add_range_partition(conn: Connection, spec: RangeTable, start: dt.date) -> str:
    """Create the partition starting at ``start``; rows the default partition caught for
    that range move into it first (ATTACH would otherwise refuse)."""
    name, end = spec.name(start), spec.next_start(start)
    lo, hi = _bound(start), _bound(end)
    conn.execute(
        text(f"CREATE TABLE {name} (LIKE {spec.table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    )
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {spec.default} WHERE {spec.column} >= {lo} "
            f"AND {spec.column} < {hi} RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        )
    )
    conn.execute(
        text(f"ALTER TABLE {spec.table} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})")
    )
    return name


def ensure(
    conn: Connection,
    on: dt.date,
    months: int = 3,
    since: dt.date | None = None,
    tables: tuple[RangeTable, ...] = RANGE_TABLES,
) -> list[str]:
    """Create the partitions of ``tables`` covering ``since`` (default: ``on``) to ``on`` +
    ``months``.

    Idempotent; on SQLite or unpartitioned tables it does nothing. Returns the names made."""
    if conn.dialect.name != "postgresql":
        return []
    made: list[str] = []
    year, month = divmod(on.month - 1 + months, 12)
    until = dt.date(on.year + year, month + 1, 1)
    for spec in tables:
        if not is_partitioned(conn, spec.table):
            continue
        existing = {name for name, _ in partitions_of(conn, spec.table)}
        start = spec.start_of(since or on)
        while start <= until:
            if spec.name(start) not in existing:
                made.append(_add_range_partition(conn, spec, start))
            start = spec.next_start(start)
    return made


def _range_of(bound: str) -> tuple[dt.datetime, dt.datetime] | None:
    """The bounds of ``FOR VALUES FROM ('…') TO ('…')``, as PostgreSQL prints them in the
    session's time zone (``2026-01-01 08:00:00+08``); None for the default partition."""
    found = re.findall(r"'([^']+)'", bound)
    if len(found) != 2:
        return None
    lo, hi = (dt.datetime.fromisoformat(f) for f in found)
    return lo, hi


def drop_before(conn: Connection, spec: RangeTable, cutoff: dt.datetime) -> int:
    """Drop the partitions of ``spec`` lying wholly before ``cutoff``; rows they held."""
    if conn.dialect.name != "postgresql" or not is_partitioned(conn, spec.table):
        return 0
    removed = 0
    for name, bound in partitions_of(conn, spec.table):
        span = _range_of(bound)
        if span is None or span[1] > cutoff:
            continue
        removed += int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
        conn.execute(text(f"DROP TABLE {name}"))
    return removed


def sizes(conn: Connection) -> list[dict[str, Any]]:
    """Each partition of the partitioned tables with its rows (estimate) and bytes."""
    if conn.dialect.name != "postgresql":
        return []
    out: list[dict[str, Any]] = []
    for table in PARTITIONED:
        for name, bound in partitions_of(conn, table):
            rows, total = conn.execute(
                text(
                    "SELECT greatest(reltuples, 0)::bigint, pg_total_relation_size(oid) "
                    "FROM pg_class WHERE relname = :n AND pg_table_is_visible(oid)"
                ),
                {"n": name},
            ).one()
            out.append(
                {"table": table, "partition": name, "bound": bound, "rows": rows, "bytes": total}
            )
    return out
