"""Issued credit reports: what was issued, to whom, and the hashes that prove a file genuine.

The files themselves are kept encrypted (a self-report carries the person's identity number
in full) so that the issuer can hand out the very same bytes again; verification needs only
the hashes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, pk


class CreditReport(Base):
    """信用报告: one issued report (报告编号, 出具时间, 出具机构, 验证码)."""

    __tablename__ = "credit_reports"
    __table_args__ = (Index("ix_credit_reports_subject_id_issued_at", "subject_id", "issued_at"),)

    id: Mapped[pk]
    report_number: Mapped[str] = mapped_column(String(32), unique=True)
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"))
    audience: Mapped[str] = mapped_column(String(16))
    # The authorization the report was issued under (授权查询); the authorizations table is
    # another package's, so the id is kept without a foreign key.
    authorization_id: Mapped[int | None] = mapped_column(BigId)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    issuer: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(String(32))
    # Masked as for the public whatever the audience: the verification page is open to
    # anyone who holds the code.
    subject_name_masked: Mapped[str] = mapped_column(String(200))
    subject_number_masked: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    html_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(Integer)


class CreditReportFile(Base):
    """The issued PDF and HTML, AES-GCM encrypted and bound to their report number."""

    __tablename__ = "credit_report_files"

    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("credit_reports.id"), primary_key=True)
    pdf_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    html_cipher: Mapped[bytes] = mapped_column(LargeBinary)
