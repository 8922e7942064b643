"""The exchange streams' watermarks and locks (changes are queued by
:func:`xinyong.changes.outbox.queue_change`)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xinyong.db import is_postgres, utcnow
from xinyong.exchange.models import ExchangeState


def lock_stream(session: Session, stream: str) -> int:
    """Take the stream's lock until the transaction ends (a row lock on PostgreSQL, the
    write lock on SQLite) and return its watermark as committed by whoever held it last."""
    values = {"stream": stream, "watermark": 0, "updated_at": utcnow()}
    dialect_insert = postgresql.insert if is_postgres(session) else sqlite.insert
    session.execute(dialect_insert(ExchangeState).values(values).on_conflict_do_nothing())
    session.execute(
        update(ExchangeState)
        .where(ExchangeState.stream == stream)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    mark = session.scalar(
        select(ExchangeState.watermark)
        .where(ExchangeState.stream == stream)
        .execution_options(populate_existing=True)
    )
    return int(mark or 0)
