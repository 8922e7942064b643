"""The notice outbox. ``dedupe_key`` makes daily jobs idempotent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[pk]
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int | None] = mapped_column(BigId)
    list_entry_id: Mapped[int | None] = mapped_column(BigId)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[created_at]
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
