"""The exchange outbox: changes the upper platform must receive, written in the same
transaction as the change. The exchange work (a later issue) consumes it in id order and
marks rows sent; nothing here sends anything."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, JsonDoc, UtcDateTime, created_at, pk


class ExchangeOutbox(Base):
    __tablename__ = "exchange_outbox"

    id: Mapped[pk]
    kind: Mapped[str] = mapped_column(String(64))  # e.g. record:repaired, record:revoked
    entity: Mapped[str] = mapped_column(String(32))  # record, list_entry
    entity_id: Mapped[int] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[created_at]
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ExchangeState(Base):
    """How far a stream has been delivered (push) or applied (pull): the watermark."""

    __tablename__ = "exchange_state"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. push:upper
    watermark: Mapped[int] = mapped_column(BigId, default=0)  # last outbox id delivered
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ExchangeInbox(Base):
    """Changes received from lower platforms, one row per idempotency key: a change sent
    twice (a retry after a lost answer) is recognised and not applied again."""

    __tablename__ = "exchange_inbox"
    __table_args__ = (UniqueConstraint("source", "key"),)

    id: Mapped[pk]
    source: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # applied, rejected
    detail: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[created_at]
