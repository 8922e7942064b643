"""The migrations build exactly the schema the models describe, and keep no secrets."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

import xinyong.models  # noqa: F401
from tests import factories
from xinyong.db import Base
from xinyong.partitions import include_object


def test_migrations_match_the_models(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"include_object": include_object})
    diff = [d for d in compare_metadata(context, Base.metadata) if "alembic_version" not in str(d)]
    assert diff == []


def test_no_identity_number_in_any_text_or_binary_column(session: Session) -> None:
    dept = factories.department(session)
    numbers = [factories.resident_id() for _ in range(5)]
    rows = [factories.penalty_row(id_number=n, dept=dept) for n in numbers]
    rows.append(factories.penalty_row(id_number=numbers[0][:-1] + "0", dept=dept))
    factories.submit_rows(session, rows)
    conn = session.connection()
    inspector = inspect(conn)
    found: list[str] = []
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            kind = str(column["type"]).upper()
            if not any(t in kind for t in ("CHAR", "TEXT", "JSON", "BLOB", "BYTEA")):
                continue
            name = column["name"]
            for (value,) in conn.execute(text(f'SELECT "{name}" FROM "{table}"')):
                blob = value if isinstance(value, bytes | memoryview) else str(value).encode()
                if any(n.encode() in bytes(blob) for n in numbers):
                    found.append(f"{table}.{name}")
    assert found == []
