"""credit reports and their verification (issue 5; owner: reports work)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:45:00

New tables only: no lock on an existing table; code still running without reports
ignores them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from xinyong.db import BigId, UtcDateTime


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_reports",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("report_number", sa.String(length=32), nullable=False),
        sa.Column("verification_code", sa.String(length=32), nullable=False),
        sa.Column("subject_id", BigId, nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("authorization_id", BigId, nullable=True),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("subject_name_masked", sa.String(length=200), nullable=False),
        sa.Column("subject_number_masked", sa.String(length=64), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("html_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_credit_reports_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_reports")),
        sa.UniqueConstraint("report_number", name=op.f("uq_credit_reports_report_number")),
        sa.UniqueConstraint("verification_code", name=op.f("uq_credit_reports_verification_code")),
    )
    op.create_index(
        "ix_credit_reports_subject_id_issued_at",
        "credit_reports",
        ["subject_id", "issued_at"],
        unique=False,
    )
    op.create_table(
        "credit_report_files",
        sa.Column("report_id", BigId, nullable=False),
        sa.Column("pdf_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("html_cipher", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["credit_reports.id"],
            name=op.f("fk_credit_report_files_report_id_credit_reports"),
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_credit_report_files")),
    )


def downgrade() -> None:
    op.drop_table("credit_report_files")
    op.drop_index("ix_credit_reports_subject_id_issued_at", table_name="credit_reports")
    op.drop_table("credit_reports")
