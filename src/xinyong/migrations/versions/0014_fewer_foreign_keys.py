"""records, record_versions, query_log and checks without foreign keys to subjects and
departments

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:30:00

The import writes every record's subject and department ids from rows of `subjects` and
`departments` it has just read or written in the same transaction, and neither table ever
deletes a row; the foreign keys' per-row triggers (a `SELECT … FOR KEY SHARE` on each
parent) cost 9–24 µs of a record's 24–50 µs write (docs/benchmarks.md). As for the score
tables (0004). `record_versions.record_id` keeps its key. `query_log.subject_id` likewise:
every read logged is of a subject just read, one row per check and per hit of a batch
comparison (a million in a large batch). `checks` too: the department is the caller's, the
subject the one just read, one row per check on the check API's hot path.

Before merging a migration: does it take a lock on a large table (records, query_log)?
Dropping a foreign key locks the table and its parent until the transaction ends, with no
table scan; on PostgreSQL the migration gives up after waiting 10 s for a lock (a long
batch comparison reading `records`, say) rather than queue every query behind it: run it
again. On SQLite each table is rebuilt (`migrate.upgrade` suspends key enforcement for it).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = (
    ("records", "subject_id", "subjects"),
    ("records", "department_id", "departments"),
    ("record_versions", "subject_id", "subjects"),
    ("record_versions", "department_id", "departments"),
    ("query_log", "subject_id", "subjects"),
    ("checks", "subject_id", "subjects"),
    ("checks", "department_id", "departments"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '10s'")
    for table, column, parent in _KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_{column}_{parent}"), type_="foreignkey"
            )


def downgrade() -> None:
    for table, column, parent in _KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_{column}_{parent}"), parent, [column], ["id"]
            )
