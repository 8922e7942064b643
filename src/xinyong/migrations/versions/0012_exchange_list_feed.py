"""exchange: the list feed served to lower platforms (issue 8)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 09:00:00

A new table only; no lock on existing tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyong.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_list_feed",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "record_version",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("created_at", xinyong.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_exchange_list_feed")),
    )
    op.create_index(
        "ix_exchange_list_feed_entry_id_seq",
        "exchange_list_feed",
        ["entry_id", "seq"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_list_feed_entry_id_seq", table_name="exchange_list_feed")
    op.drop_table("exchange_list_feed")
