"""Many rows into one table at once: COPY on PostgreSQL, one ``executemany`` on SQLite.

The one place raw bulk inserts meet the schema: the columns come from the SQLAlchemy
``Table`` (``Model.__table__``, as the ORM types it: a ``FromClause``), each row is read by column name, and each value is
stored as the ORM would store it (JSON documents encoded, dates and times in SQLite's
text form).
"""

from __future__ import annotations

import datetime as dt
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


# COPY's text format: these characters of a value are written escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_BLOCK_ROWS = 1_000  # rows of COPY text built and sent at once: memory stays bounded


def _copy_text(value: Any) -> str:
    """A value as COPY's text format writes it (``\\N`` for NULL)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        return "t" if value else "f"
    elif isinstance(value, int | float):
        return str(value)
    elif isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    elif isinstance(value, dt.date):
        return value.isoformat()
    elif isinstance(value, bytes | bytearray | memoryview):
        return "\\\\x" + bytes(value).hex()
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_COPY_ESCAPES)
    return text


def _each_once(values: Sequence[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """``convert`` of each value, computed once per distinct value (columns repeat: dates,
    departments, items, the batch's constants)."""
    memo: dict[Any, Any] = {}
    out: list[Any] = []
    append = out.append
    for value in values:
        try:
            found = memo[value]
        except KeyError:
            found = memo[value] = convert(value)
        except TypeError:  # unhashable (a JSON document as a dict)
            found = convert(value)
        append(found)
    return out


def _needs_escape(text: str) -> bool:
    return "\\" in text or "\t" in text or "\n" in text or "\r" in text


def _copy_texts(values: Sequence[Any], memo: dict[Any, str]) -> Sequence[str]:
    """A block of one column as COPY text. A column of text is checked for characters to
    escape once, joined; other values are converted once per distinct value (``memo``)."""
    if all(v.__class__ is str for v in values):
        if not _needs_escape("".join(values)):
            return values
        return [v.translate(_COPY_ESCAPES) if _needs_escape(v) else v for v in values]
    out: list[str] = []
    append = out.append
    for value in values:
        if value is None:
            append("\\N")
        elif value.__class__ is str:
            append(value.translate(_COPY_ESCAPES) if _needs_escape(value) else value)
        else:
            try:
                found = memo[value]
            except KeyError:
                found = memo[value] = _copy_text(value)
            except TypeError:  # unhashable (a JSON document as a dict)
                found = _copy_text(value)
            append(found)
    return out


def copy_columns(
    session: Session,
    table: FromClause,
    columns: Mapping[str, Sequence[Any]],
    *,
    into: str | None = None,
    sqlite_suffix: str = "",
) -> int:
    """:func:`copy_rows` given column by column: ``columns`` maps each column name to its
    values, all of one length, in row order; how many rows.

    No mapping per row: each column is converted on its own, every distinct value once,
    and the rows are only assembled at the end (tuples for SQLite's ``executemany``, COPY
    text for PostgreSQL, sent in blocks). ``sqlite_suffix`` follows the SQLite insert
    (``ON CONFLICT … DO NOTHING``)."""
    names = tuple(columns)
    if not names:
        return 0
    count = len(columns[names[0]])
    if any(len(columns[name]) != count for name in names):
        raise ValueError("columns of different lengths")
    if count == 0:
        return 0
    conn = session.connection()
    dialect = conn.dialect
    target = into or cast(Table, table).name
    column_list = ", ".join(names)
    driver: Any = conn.connection.driver_connection
    if dialect.name == "postgresql":
        memos: list[dict[Any, str]] = [{} for _ in names]
        with driver.cursor() as cur, cur.copy(f"COPY {target} ({column_list}) FROM STDIN") as copy:
            for start in range(0, count, COPY_BLOCK_ROWS):
                end = start + COPY_BLOCK_ROWS
                texts = [
                    _copy_texts(columns[name][start:end], memo)
                    for name, memo in zip(names, memos, strict=True)
                ]
                copy.write("\n".join(map("\t".join, zip(*texts, strict=True))) + "\n")
                del texts
        return count
    converted: list[Sequence[Any]] = []
    for name in names:
        convert = _sqlite_converter(table.c[name], dialect)
        values = columns[name]
        converted.append(values if convert is None else _each_once(values, convert))
    placeholders = ", ".join("?" for _ in names)
    driver.executemany(
        f"INSERT INTO {target} ({column_list}) VALUES ({placeholders}){sqlite_suffix}",
        zip(*converted, strict=True),
    )
    return count


def _chain(first: Row, rest: Iterable[Row]) -> Iterable[Row]:
    yield first
    yield from rest


__all__ = ["copy_columns", "copy_rows", "table_columns", "unnest_insert"]
