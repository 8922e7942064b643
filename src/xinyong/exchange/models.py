"""The exchange outbox: changes the upper platform must receive, written in the same
transaction as the change. The exchange work (a later issue) consumes it in id order and
marks rows sent; nothing here sends anything."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String
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
