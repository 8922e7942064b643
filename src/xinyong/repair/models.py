"""The repair application table: kept after the decision as the repair record
(修复记录, Benxi 四.三)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk, utcnow


class RepairApplication(Base):
    """信用修复申请."""

    __tablename__ = "repair_applications"
    __table_args__ = (
        Index("ix_repair_applications_record_id", "record_id"),
        Index("ix_repair_applications_subject_id", "subject_id"),
        Index("ix_repair_applications_department_state", "department_id", "state"),
    )

    id: Mapped[pk]
    record_id: Mapped[int] = mapped_column(BigId, ForeignKey("records.id"))
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"))
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    method: Mapped[str] = mapped_column(String(16))
    statement: Mapped[str] = mapped_column(Text)  # 履行义务、纠正失信行为的情况说明
    duties_performed: Mapped[bool] = mapped_column(Boolean)
    commitment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("commitments.id"))
    state: Mapped[str] = mapped_column(String(16))
    applied_by: Mapped[str] = mapped_column(String(200))
    applied_role: Mapped[str] = mapped_column(String(32))
    authorization_id: Mapped[int | None] = mapped_column(BigId)
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    decide_by: Mapped[dt.date] = mapped_column(Date)
    department_decided_on: Mapped[dt.date | None] = mapped_column(Date)
    department_decided_by: Mapped[str | None] = mapped_column(String(200))
    department_reason: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
