"""holiday_schedules: the State Council's yearly schedules the credit office loads

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:00:00

A new, small table (one row per loaded version of a year): no lock on any existing table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xinyong.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "holiday_schedules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("off_days", _JSON, nullable=False),
        sa.Column("work_days", _JSON, nullable=False),
        sa.Column("notice", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", xinyong.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_schedules")),
        sa.UniqueConstraint("year", "version", name=op.f("uq_holiday_schedules_year")),
    )


def downgrade() -> None:
    op.drop_table("holiday_schedules")
