"""Logging every read of a person's data (查询日志)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xinyong import partitions
from xinyong.actors import Actor
from xinyong.db import affected
from xinyong.queries.models import QueryBasis, QueryLog
from xinyong.queries.recorder import OrmRecorder, Read, clean_reference


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
    reference: str | None = None,
) -> QueryLog:
    """Record one read (the query log row and its audit event): ``recorder.OrmRecorder``."""
    details: dict[str, Any] = {"authorization_id": authorization_id}
    if clean_reference(reference):
        details["reference"] = clean_reference(reference)
    if not action.startswith("check:") and unrelated_to_department(session, actor, subject_id):
        details["unrelated"] = True  # 查询使用登记和审查: audit.rules.unrelated_reads
    read = Read(
        actor,
        subject_id,
        action=action,
        purpose=purpose,
        basis=basis.value,
        returned=returned,
        organisation=organisation,
        authorization_id=authorization_id,
        reference=reference,
        details=details,
        names_log_id=True,
    )
    [entry] = OrmRecorder().entries(session, [read])
    return entry


def unrelated_to_department(session: Session, actor: Actor, subject_id: int) -> bool:
    """A department's read of a person it has no record, check or list procedure about
    (查询使用登记和审查, DOMAIN §14): allowed with a stated matter, but flagged for review."""
    if not actor.is_department or actor.department_id is None:
        return False
    from xinyong.lists.models import ListEntry
    from xinyong.measures.models import Check
    from xinyong.records.models import Record

    for model in (Record, Check, ListEntry):
        found = session.scalar(
            select(model.id)
            .where(
                model.department_id == actor.department_id,
                model.subject_id == subject_id,
            )
            .limit(1)
        )
        if found is not None:
            return False
    return True


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
    "objection:view": "查看异议办理情况",
    "repair:view": "查看信用修复申请",
    "repair:check": "核对信用修复条件",
    "repair:options": "查看可申请修复的记录",
    "commitment:view": "查看信用承诺",
    "interview:view": "查看约谈记录",
    "blacklist:view": "办理严重失信主体名单列入程序",
    "objection:evidence": "查看异议证明材料",
    "repair:evidence": "查看信用修复证明材料",
    "list_entry:evidence": "查看陈述申辩证明材料",
}

BASIS_NAMES: dict[str, str] = {
    QueryBasis.SELF: "本人查询",
    QueryBasis.LEGAL_DUTY: "依法履职",
    QueryBasis.AUTHORIZATION: "本人授权",
    QueryBasis.ADMINISTRATION: "信用办管理",
}

CHANNEL_NAMES = {"web": "网站", "api": "系统接口", "cli": "信用办后台", "exchange": "共享交换"}

# Why an institution's query was refused, as the person reads it (authorizations.rules).
REFUSAL_NAMES = {
    "authorization_not_found": "授权不存在",
    "authorization_other_institution": "授权不是授予该机构的",
    "authorization_other_subject": "授权与所查询的人不符",
    "authorization_revoked": "您已撤回该授权",
    "authorization_not_yet_valid": "授权尚未生效",
    "authorization_expired": "授权已过期",
    "authorization_out_of_scope": "超出您授权的范围",
    "authorization_used": "一次性授权已使用过",
}

BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")
TIMEZONE_NOTE = "北京时间（UTC+8）"


def beijing(moment: dt.datetime) -> str:
    """A moment as a person in China reads it, the zone stated."""
    return f"{moment.astimezone(BEIJING):%Y年%m月%d日 %H:%M:%S}（北京时间）"


def _organisation_names(session: Session) -> dict[str, str]:
    from xinyong.catalog.models import Department

    return {code: name for code, name in session.execute(select(Department.code, Department.name))}


def _who(
    q: QueryLog | None, organisation: str | None, role: str | None, names: dict[str, str]
) -> str:
    """Who queried, in words: the organisation's Chinese name, never an account name."""
    from xinyong.config import get_settings

    if q is not None and q.basis == QueryBasis.SELF.value:
        return "本人"
    if organisation:
        return names.get(organisation, organisation)
    if (q is not None and q.basis == QueryBasis.ADMINISTRATION.value) or role in (
        "admin",
        "system",
    ):
        return f"{get_settings().city_name}信用办"
    return "政府部门"


def query_log_view(
    session: Session, subject_id: int, *, limit: int = 200, offset: int = 0
) -> list[dict[str, Any]]:
    """The person's query log as a person reads it, newest first: who (the organisation's
    Chinese name), what, why, on what basis, in Beijing time with the zone stated; the
    person's own views folded into one line; refused attempts listed. No account names or
    internal codes."""
    from xinyong.audit.models import AuditEvent
    from xinyong.audit.rules import REFUSAL_ACTIONS

    names = _organisation_names(session)
    rows: list[dict[str, Any]] = []
    own: list[QueryLog] = []
    for q in session.scalars(
        select(QueryLog).where(QueryLog.subject_id == subject_id).order_by(QueryLog.id.desc())
    ):
        if q.basis == QueryBasis.SELF.value:
            own.append(q)
            continue
        basis = BASIS_NAMES.get(q.basis, "依法查询")
        if q.authorization_id:
            basis += f"（授权第 {q.authorization_id} 号）"
        if q.reference:
            basis += f"（业务编号 {q.reference}）"
        rows.append(
            {
                "kind": "query",
                "id": q.id,
                "queried_at": q.queried_at.astimezone(BEIJING).isoformat(),
                "time": beijing(q.queried_at),
                "who": _who(q, q.organisation, None, names),
                "organisation": names.get(q.organisation or "", q.organisation),
                "channel_name": CHANNEL_NAMES.get(q.channel, "网站"),
                "action_name": ACTION_NAMES.get(q.action, "查看信用信息"),
                "purpose": q.purpose,
                "basis": q.basis,
                "basis_name": basis,
                "authorization_id": q.authorization_id,
                "reference": q.reference,
                "count": 1,
            }
        )
    for event in session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action.in_(sorted(REFUSAL_ACTIONS)),
            AuditEvent.target_type == "subject",
            AuditEvent.target_id == str(subject_id),
        )
        .order_by(AuditEvent.seq.desc())
    ):
        try:
            details = json.loads(event.details or "{}")
        except ValueError:
            details = {}
        reason = REFUSAL_NAMES.get(str(details.get("reason", "")), "不符合查询条件")
        rows.append(
            {
                "kind": "refused",
                "id": None,
                "queried_at": event.occurred_at.astimezone(BEIJING).isoformat(),
                "time": beijing(event.occurred_at),
                "who": _who(None, event.organisation, event.role, names),
                "organisation": names.get(event.organisation or "", event.organisation),
                "channel_name": CHANNEL_NAMES.get(event.channel, "网站"),
                "action_name": "凭授权查询（被拒绝）",
                "purpose": f"查询被拒绝：{reason}",
                "basis": event.basis or "",
                "basis_name": "未获授权，未提供任何信息",
                "authorization_id": details.get("authorization_id"),
                "reference": None,
                "count": 1,
            }
        )
    if own:
        last = own[0].queried_at
        rows.append(
            {
                "kind": "own",
                "id": None,
                "queried_at": last.astimezone(BEIJING).isoformat(),
                "time": beijing(last),
                "who": "本人",
                "organisation": None,
                "channel_name": CHANNEL_NAMES.get(own[0].channel, "网站"),
                "action_name": f"本人查看（共 {len(own)} 次，已折叠）",
                "purpose": "本人查询",
                "basis": QueryBasis.SELF.value,
                "basis_name": BASIS_NAMES[QueryBasis.SELF],
                "authorization_id": None,
                "reference": None,
                "count": len(own),
            }
        )
    rows.sort(key=lambda r: r["queried_at"], reverse=True)
    start = max(offset, 0)
    return rows[start : start + limit]


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
