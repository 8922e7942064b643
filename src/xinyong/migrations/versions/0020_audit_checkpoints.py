"""audit_checkpoints: how far the audit chain has been verified (issue 20)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 15:30:00

Each row says "on verified_at, a walk from the checkpoint before it found the chain
intact up to event seq, whose hash was hash". The chain check of the API and of
`xinyong audit verify` starts from the latest checkpoint that the chain still holds, so
it reads only the events appended since (`audit.services.verify_incremental`).

A new small table only: no lock on existing tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from xinyong.db import UtcDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("verified_from", sa.BigInteger(), nullable=False),
        sa.Column("verified_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoints"),
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_seq", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
