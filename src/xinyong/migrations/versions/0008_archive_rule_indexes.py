"""indexes for expiry and rescoring (issue 3; owner: performance work)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:45:00

Reserved slot so parallel work keeps one linear history; the owner fills it in.

Before merging a migration: does it take a lock on a large table (records, query_log)?
Is it backward compatible with the code still running during a rolling deploy?
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
