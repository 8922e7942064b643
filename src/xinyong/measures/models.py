"""Checks made by departments' business systems and what they did with them (反馈)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, JsonDoc, UtcDateTime, pk, utcnow


class Check(Base):
    """One check (联合奖惩核查): who asked about whom, in which scenario, and the answer."""

    __tablename__ = "checks"
    __table_args__ = (Index("ix_checks_department_created", "department_id", "created_at"),)

    id: Mapped[pk]
    # No foreign keys to departments and subjects: a check's ids come from the caller's
    # key and the subject just read, one row per check (migration 0014).
    department_id: Mapped[int | None] = mapped_column(BigId)
    actor: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(200))  # 经办人
    scenario: Mapped[str] = mapped_column(String(64))
    business_ref: Mapped[str] = mapped_column(String(200))  # 业务编号
    subject_id: Mapped[int | None] = mapped_column(BigId, index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    batch_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class CheckFeedback(Base):
    """反馈: whether the department applied a measure, and with what outcome."""

    __tablename__ = "check_feedback"

    id: Mapped[pk]
    check_id: Mapped[int] = mapped_column(BigId, ForeignKey("checks.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    measure_code: Mapped[str] = mapped_column(String(64))
    applied: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
