"""records and record_versions: grade_source widened to 80 characters; domain added

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:00:00

A record keeps what decided its grade: ``department``, ``catalog``, ``rule:<code>`` or
``behaviour:<code>`` (records.grading). Catalog codes may be 64 characters, so 32 no longer
holds ``behaviour:ORGANISED_EXAM_CHEATING``. A 双公示 record's domain is the one its content
names (《食品安全法》 → 食品药品), not its item's (综合): it is kept on the record so that the
domain's measures apply too; NULL (records written before, or by other paths) means the
item's domain.

Before merging a migration: does it take a lock on a large table (records, query_log)?
On PostgreSQL widening a varchar and adding a nullable column without a default are
catalog changes only (no rewrite, no scan), under a brief ACCESS EXCLUSIVE lock; the migration gives up after waiting 10 s for it rather than
queue every query behind it: run it again. On SQLite each table is rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("records", "record_versions")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '10s'")
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("grade_source", existing_type=sa.String(32), type_=sa.String(80))
            batch_op.add_column(sa.Column("domain", sa.String(64), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("domain")
            batch_op.alter_column("grade_source", existing_type=sa.String(80), type_=sa.String(32))
