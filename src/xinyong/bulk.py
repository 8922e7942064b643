"""Many rows into one table at once: COPY on PostgreSQL, one ``executemany`` on SQLite.

The one place raw bulk inserts meet the schema: the columns come from the SQLAlchemy
``Table`` (``Model.__table__``, as the ORM types it: a ``FromClause``), each row is read by column name, and each value is
stored as the ORM would store it (JSON documents encoded, dates and times in SQLite's
text form).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Column, MetaData, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, FromClause

Row = Mapping[str, Any]


def table_columns(table: FromClause, *, without: Iterable[str] = ()) -> tuple[str, ...]:
    """The table's column names in their order, ``without`` those named."""
    skip = set(without)
    return tuple(c.name for c in table.columns if c.name not in skip)


def staging_table(name: str, table: FromClause, columns: Sequence[str]) -> Table:
    """A temporary table of ``columns`` of ``table``, each typed as the model types it, with
    no key or constraint (rows are staged there before a set-based merge). Create it with
    ``CreateTable(staging, if_not_exists=True)``."""
    return Table(
        name,
        MetaData(),
        *(Column(c, table.c[c].type) for c in columns),
        prefixes=["TEMPORARY"],
    )


def unnest_insert(table: FromClause, columns: Sequence[str], prefix: str) -> str:
    """``INSERT INTO table (columns) SELECT * FROM unnest(…)`` of one array parameter per
    column, named ``prefix`` + column, cast to the column's PostgreSQL type (psycopg).
    Binary parameters: no per-element quoting of text arrays (the text format escapes every
    element with a regular expression)."""
    pg = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = ", ".join(
        f"%({prefix}{name})b::{table.c[name].type.compile(dialect=pg)}[]" for name in columns
    )
    return f"INSERT INTO {cast(Table, table).name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"


def _is_json(column: ColumnElement[Any]) -> bool:
    return isinstance(column.type, JSON)


def _sqlite_converter(column: ColumnElement[Any], dialect: Any) -> Callable[[Any], Any] | None:
    """How SQLite is given the column's values: JSON text as it is (already encoded) or
    encoded, dates and times through the column type's own processing (as the ORM)."""
    if _is_json(column):
        return lambda v: v if v is None or isinstance(v, str) else json.dumps(v)
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    return process


def _postgres_converter(column: ColumnElement[Any]) -> Callable[[Any], Any] | None:
    if _is_json(column):
        return lambda v: v if v is None or isinstance(v, str) else Jsonb(v)
    return None


def copy_rows(
    session: Session,
    table: FromClause,
    rows: Iterable[Row],
    *,
    columns: Sequence[str] | None = None,
    into: str | None = None,
) -> int:
    """Insert ``rows`` (mappings by column name) into ``table``, or into the table named
    ``into`` (a staging table with ``table``'s columns); how many rows.

    ``columns`` default to those of the first row, in the table's order. A JSON value
    may be given as text already encoded. No ORM events, defaults or RETURNING: the rows
    are written as given, in the session's transaction."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    names = (
        tuple(columns)
        if columns is not None
        else tuple(c.name for c in table.columns if c.name in first)
    )
    conn = session.connection()
    dialect = conn.dialect
    target = into or cast(Table, table).name
    column_list = ", ".join(names)
    driver: Any = conn.connection.driver_connection
    postgres = dialect.name == "postgresql"
    converters = [
        (i, convert)
        for i, name in enumerate(names)
        if (
            convert := _postgres_converter(table.c[name])
            if postgres
            else _sqlite_converter(table.c[name], dialect)
        )
        is not None
    ]

    def values(row: Row) -> list[Any]:
        found = [row[name] for name in names]
        for i, convert in converters:
            found[i] = convert(found[i])
        return found

    count = 0
    if postgres:
        with driver.cursor() as cur, cur.copy(f"COPY {target} ({column_list}) FROM STDIN") as copy:
            for row in _chain(first, rows):
                copy.write_row(values(row))
                count += 1
        return count
    placeholders = ", ".join("?" for _ in names)
    batch = [values(row) for row in _chain(first, rows)]
    driver.executemany(f"INSERT INTO {target} ({column_list}) VALUES ({placeholders})", batch)
    return len(batch)


def _chain(first: Row, rest: Iterable[Row]) -> Iterable[Row]:
    yield first
    yield from rest


__all__ = ["copy_rows", "table_columns", "unnest_insert"]
