"""indexes for expiry and rescoring (issue 3; owner: performance work)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:45:00

A partial index on ``records (display_until) WHERE state = 'active'`` serves the daily
job's two searches of the records table — the records whose display period ended (the
``UPDATE … SET state = 'expired'``) and the negative records whose display ends within
the notice horizon (信用告知) — which were each a sequential scan of every record
(3–6 s and 2 s at 10M records, see docs/benchmarks.md). Only active records are in it, and
once expired a record leaves it, so it stays about as large as the records in use.

Before merging a migration: does it take a lock on a large table (records, query_log)?
Yes: ``CREATE INDEX`` holds a SHARE lock on ``records`` (reads go on, writes wait) while it
builds — ``xinyong init`` took 7.6 s in all, start-up included, on the 10M-record benchmark
city. Schedule the upgrade outside import hours, or create the index by hand beforehand with
``CREATE INDEX CONCURRENTLY ix_records_display_until_active ON records (display_until)
WHERE state = 'active'`` (this migration then finds it and skips it).
A database initialised while this slot was an empty placeholder is already stamped 0008
and never runs it: ``UPDATE alembic_version SET version_num = '0007'`` then ``xinyong
init`` (or the ``CREATE INDEX`` above by hand).
Is it backward compatible with the code still running during a rolling deploy? Yes: an
index only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("state = 'active'")


def upgrade() -> None:
    op.create_index(
        "ix_records_display_until_active",
        "records",
        ["display_until"],
        unique=False,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_records_display_until_active", table_name="records")
