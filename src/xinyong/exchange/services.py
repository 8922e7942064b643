"""Queueing changes for the upper platform."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from xinyong.exchange.models import ExchangeOutbox


def queue_change(
    session: Session, kind: str, entity: str, entity_id: int, payload: dict[str, Any]
) -> ExchangeOutbox:
    """One change for the upper platform; the payload never carries an identity number."""
    row = ExchangeOutbox(kind=kind, entity=entity, entity_id=entity_id, payload=payload)
    session.add(row)
    session.flush()
    return row
