"""The notice outbox and interviews (约谈). ``dedupe_key`` makes daily jobs idempotent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk, utcnow


class Notice(Base):
    """信用告知: one message to a subject. Always readable in the person's inbox; other
    channels (SMS, e-mail) are tried by :mod:`xinyong.notices.senders`."""

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
    channels: Mapped[str | None] = mapped_column(String(100))  # where it went: inbox,sms,email
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Interview(Base):
    """约谈 (Jiangyin §四(三)): a department or the credit office talks with a person about
    their credit: when, where, who attended, why, and what came of it."""

    __tablename__ = "interviews"

    id: Mapped[pk]
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    record_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("records.id"))
    held_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    place: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
