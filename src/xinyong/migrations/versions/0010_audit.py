"""audit trail (issue 8; owner: audit work)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 11:55:00

Reserved slot so parallel work keeps one linear history; the owner fills it in.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
