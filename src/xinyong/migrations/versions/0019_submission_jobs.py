"""submission_batches.job: an upload kept on disk and run by the job runner

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 13:00:00

A file posted through the workbench or the API is stored under the job folder and its
batch is created 排队中 (queued) with `job` = {path, item_code, department_code, actor,
attempts}; a worker claims it with a conditional UPDATE and runs it (records.jobs).

Adding a nullable column without a default to `submission_batches` (one row per file)
is instant on PostgreSQL and a quick rebuild on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "job",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("submission_batches", schema=None) as batch_op:
        batch_op.drop_column("job")
