"""The outbox of changes the upper platform must receive (共享交换): written in the same
transaction as the change (:func:`queue_change`), consumed by ``exchange.push`` in id order.

It lives here, beside what a change implies, so that a record change reaches the outbox
without the exchange's transport (push, pull, receive), which sits above ``changes``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

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


def queue_change(
    session: Session, kind: str, entity: str, entity_id: int, payload: dict[str, Any]
) -> ExchangeOutbox:
    """One change for the upper platform; the payload never carries an identity number."""
    row = ExchangeOutbox(kind=kind, entity=entity, entity_id=entity_id, payload=payload)
    session.add(row)
    session.flush()
    return row
