"""The commitment table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk, utcnow


class Commitment(Base):
    """信用承诺: what the person promised, for which business, and whether it was kept."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_subject_id", "subject_id"),
        Index("ix_commitments_record_id", "record_id"),
    )

    id: Mapped[pk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"))
    kind: Mapped[str] = mapped_column(String(16))
    matter: Mapped[str] = mapped_column(Text)
    business_ref: Mapped[str | None] = mapped_column(String(200))  # the business it stands for
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    record_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("records.id"))  # 信用修复型
    state: Mapped[str] = mapped_column(String(16))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    made_by: Mapped[str] = mapped_column(String(200))
    made_role: Mapped[str] = mapped_column(String(32))
    authorization_id: Mapped[int | None] = mapped_column(BigId)
    assessed_on: Mapped[dt.date | None] = mapped_column(Date)
    assessed_by: Mapped[str | None] = mapped_column(String(200))
    assessment: Mapped[str | None] = mapped_column(Text)
    breach_record_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
