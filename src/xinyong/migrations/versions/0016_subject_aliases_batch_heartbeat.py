"""subject_aliases (a person's passports and permits), submission_batches.heartbeat_at and
.notes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:30:00

A person's other documents (护照, 港澳台 permits…) are linked to their archive as aliases,
kept like the archive's own number (blind index + ciphertext). A running import reports
after each chunk in `heartbeat_at`; a batch silent for long was killed and is marked 中断.
`notes` keeps what the department should know about accepted rows (converted numbers…).

Before merging a migration: does it take a lock on a large table (records, query_log)?
A new table takes none; adding a nullable column without a default to `submission_batches`
(one row per file) is instant on PostgreSQL and a quick rebuild on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xinyong.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subject_aliases",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("subject_id", _ID, nullable=False),
        sa.Column("id_type", sa.String(length=32), nullable=False),
        sa.Column("id_index", sa.String(length=32), nullable=False),
        sa.Column("id_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("source_batch_id", _ID, nullable=True),
        sa.Column("created_at", xinyong.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_subject_aliases_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_aliases")),
        sa.UniqueConstraint("id_index", name=op.f("uq_subject_aliases_id_index")),
    )
    with op.batch_alter_table("subject_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subject_aliases_subject_id"), ["subject_id"], unique=False
        )
    with op.batch_alter_table("submission_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", xinyong.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "notes",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("submission_batches", schema=None) as batch_op:
        batch_op.drop_column("notes")
        batch_op.drop_column("heartbeat_at")
    with op.batch_alter_table("subject_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_aliases_subject_id"))
    op.drop_table("subject_aliases")
