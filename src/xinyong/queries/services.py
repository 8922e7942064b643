"""Logging every read of a person's data (查询日志)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.queries.models import QueryBasis, QueryLog


def log_query(
    session: Session,
    actor: Actor,
    subject_id: int,
    *,
    action: str,
    purpose: str,
    basis: QueryBasis,
    returned: dict[str, Any],
    organisation: str | None = None,
    authorization_id: int | None = None,
) -> QueryLog:
    entry = QueryLog(
        subject_id=subject_id,
        actor=actor.name,
        organisation=organisation or actor.department_code,
        channel=actor.channel,
        action=action,
        purpose=purpose[:200],
        basis=basis.value,
        authorization_id=authorization_id,
        returned=returned,
    )
    session.add(entry)
    session.flush()
    return entry


def queries_of(session: Session, subject_id: int) -> list[QueryLog]:
    return list(
        session.scalars(
            select(QueryLog).where(QueryLog.subject_id == subject_id).order_by(QueryLog.id.desc())
        )
    )
