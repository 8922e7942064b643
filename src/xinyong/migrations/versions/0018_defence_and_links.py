"""lists: the defence (陈述申辩) and the decision kept apart from the notice; link terms

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:00:00

list_entries: the decision's reasons beside the notice's, when the defence was submitted
and how the decision weighed it. subject_links: the term of office of a legal
representative or responsible person (落实到人 reaches only those in office at the act).
authorizations: a one-time authorization's query occasion (when it began, what it read).
query_log: the business reference (业务编号) a department read states beside its matter.
Nullable columns only: no rewrite of existing rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import xinyong.db

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("list_entries") as batch:
        batch.add_column(sa.Column("decision_reasons", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("defence_at", xinyong.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("defence_review", sa.Text(), nullable=True))
    with op.batch_alter_table("subject_links") as batch:
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_until", sa.Date(), nullable=True))
    with op.batch_alter_table("authorizations") as batch:
        batch.add_column(
            sa.Column("first_used_at", xinyong.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("used_scopes", JsonDoc, nullable=True))
    # ALTER TABLE on the partitioned parent reaches every partition (PostgreSQL).
    op.add_column("query_log", sa.Column("reference", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("query_log", "reference")
    with op.batch_alter_table("authorizations") as batch:
        batch.drop_column("used_scopes")
        batch.drop_column("first_used_at")
    with op.batch_alter_table("subject_links") as batch:
        batch.drop_column("valid_until")
        batch.drop_column("valid_from")
    with op.batch_alter_table("list_entries") as batch:
        batch.drop_column("defence_review")
        batch.drop_column("defence_at")
        batch.drop_column("decision_reasons")
