"""The objection table: one row per objection, its deadlines and its decision."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, JsonDoc, UtcDateTime, created_at, pk, utcnow


class Objection(Base):
    """异议: a person (or an authorized institution) disputes one record."""

    __tablename__ = "objections"
    __table_args__ = (
        Index("ix_objections_record_id", "record_id"),
        Index("ix_objections_subject_id", "subject_id"),
        Index("ix_objections_department_state", "department_id", "state"),
    )

    id: Mapped[pk]
    record_id: Mapped[int] = mapped_column(BigId, ForeignKey("records.id"))
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"))
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    record_version: Mapped[int] = mapped_column(Integer)
    record_state_before: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(200))
    filed_role: Mapped[str] = mapped_column(String(32))
    authorization_id: Mapped[int | None] = mapped_column(BigId)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    mark_by: Mapped[dt.date] = mapped_column(Date)
    decide_by: Mapped[dt.date] = mapped_column(Date)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    extended_on: Mapped[dt.date | None] = mapped_column(Date)
    escalated_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    corrections: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
