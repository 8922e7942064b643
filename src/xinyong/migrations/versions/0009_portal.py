"""portal articles (issue 7: 诚信典型, 失信案例警示, 信用知识, 政策法规)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 11:10:00

A new table only: no lock on a large table, and code still running during a rolling
deploy never reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyong.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_articles",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", xinyong.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xinyong.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_articles")),
    )
    op.create_index(
        "ix_portal_articles_kind_status", "portal_articles", ["kind", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_portal_articles_kind_status", table_name="portal_articles")
    op.drop_table("portal_articles")
