"""The tip-off table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk, utcnow


class Tipoff(Base):
    """举报: what was reported, where it went, what came of it. The tracking code is kept
    only as a hash; identity numbers in the text are masked before storing."""

    __tablename__ = "tipoffs"
    __table_args__ = (Index("ix_tipoffs_department_state", "department_id", "state"),)

    id: Mapped[pk]
    tracking_hash: Mapped[str] = mapped_column(String(64), unique=True)
    about: Mapped[str] = mapped_column(String(200))  # 被举报对象（姓名或单位）
    domain: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    state: Mapped[str] = mapped_column(String(16))
    reply: Mapped[str | None] = mapped_column(Text)  # 处理结果, shown to the submitter
    submitted_at: Mapped[created_at]
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
