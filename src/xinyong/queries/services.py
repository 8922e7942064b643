"""Logging every read of a person's data (查询日志)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xinyong import partitions
from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.db import affected
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
        organisation=organisation or actor.organisation_name,
        channel=actor.channel,
        action=action,
        purpose=purpose[:200],
        basis=basis.value,
        authorization_id=authorization_id,
        returned=returned,
    )
    session.add(entry)
    session.flush()
    record_event(session, actor, f"query:{action}", target_type="subject", target_id=subject_id, purpose=purpose, basis=basis.value, organisation=entry.organisation, details={"query_log_id": entry.id, "authorization_id": authorization_id})  # fmt: skip
    return entry


def queries_of(session: Session, subject_id: int) -> list[QueryLog]:
    return list(
        session.scalars(
            select(QueryLog).where(QueryLog.subject_id == subject_id).order_by(QueryLog.id.desc())
        )
    )


ACTION_NAMES = {
    "archive:view": "查看信用档案",
    "archive:full": "档案管理：查看完整档案",
    "score:view": "查看信用评价",
    "lists:view": "查看红黑名单",
    "check:run": "联合奖惩核查",
    "check:batch": "批量比对",
    "report:issue": "出具信用报告",
    "report:download": "下载信用报告",
}

BASIS_NAMES: dict[str, str] = {
    QueryBasis.SELF: "本人查询",
    QueryBasis.LEGAL_DUTY: "依法履职",
    QueryBasis.AUTHORIZATION: "本人授权",
    QueryBasis.ADMINISTRATION: "信用办管理",
}


def query_log_view(
    session: Session, subject_id: int, *, limit: int = 200, offset: int = 0
) -> list[dict[str, Any]]:
    """The person's query log as shown to them: newest first, with Chinese names."""
    rows = session.scalars(
        select(QueryLog)
        .where(QueryLog.subject_id == subject_id)
        .order_by(QueryLog.id.desc())
        .limit(limit)
        .offset(max(offset, 0))
    )
    return [
        {
            "id": q.id,
            "queried_at": q.queried_at.isoformat(),
            "actor": q.actor,
            "organisation": q.organisation,
            "channel": q.channel,
            "action": q.action,
            "action_name": ACTION_NAMES.get(q.action, q.action),
            "purpose": q.purpose,
            "basis": q.basis,
            "basis_name": BASIS_NAMES.get(q.basis, q.basis),
            "authorization_id": q.authorization_id,
            "returned": q.returned,
        }
        for q in rows
    ]


def retention_cutoff(on: dt.date, years: int) -> dt.datetime:
    """Entries older than this are past retention (default ten years). Pure."""
    try:
        day = on.replace(year=on.year - years)
    except ValueError:  # 29 February
        day = on.replace(year=on.year - years, day=28)
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def purge_query_log(session: Session, on: dt.date, years: int) -> int:
    """Delete query log entries past retention; returns how many.

    On PostgreSQL the yearly partitions wholly past retention are dropped (no row-by-row
    delete, no bloat); only the boundary year (and the default partition) are deleted from."""
    cutoff = retention_cutoff(on, years)
    dropped = partitions.drop_before(session.connection(), partitions.QUERY_LOG, cutoff)
    return dropped + affected(session.execute(delete(QueryLog).where(QueryLog.queried_at < cutoff)))
