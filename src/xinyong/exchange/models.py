"""Exchange tables: the outbox of changes the upper platform must receive (defined in
:mod:`xinyong.changes.outbox`, where changes write it; consumed by ``push`` in id order),
the watermarks of the push and pull streams, the inbox of changes received from lower platforms, and the list
feed this platform serves to the platforms below it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.changes.outbox import ExchangeOutbox as ExchangeOutbox  # re-exported
from xinyong.db import Base, BigId, UtcDateTime, created_at, pk


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


class ExchangeListFeed(Base):
    """The list feed served to lower platforms (名单下发): one row each time a list entry
    this platform holds was announced in a new state. ``seq`` is the cursor lower platforms
    pull after; rows are appended only by ``exchange.feed.catch_up`` under a lock, so seq
    order is commit order and a cursor never skips a row committed later."""

    __tablename__ = "exchange_list_feed"
    __table_args__ = (Index("ix_exchange_list_feed_entry_id_seq", "entry_id", "seq"),)

    seq: Mapped[pk]
    entry_id: Mapped[int] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16))
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    record_version: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[created_at]
