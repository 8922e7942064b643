"""What an authorization allows. Pure: the one place that decides whether it is valid."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class Scope(enum.StrEnum):
    """Which parts of the archive an authorization opens."""

    ARCHIVE = "archive"  # 信用档案（记录）
    LISTS = "lists"  # 红黑名单
    SCORE = "score"  # 信用评价（诚信积分）
    REPORT = "report"  # 信用报告
    OBJECTION = "objection"  # 代为提出异议
    REPAIR = "repair"  # 代为申请信用修复、作出信用承诺


SCOPE_LABELS: dict[str, str] = {
    Scope.ARCHIVE: "信用档案",
    Scope.LISTS: "红黑名单",
    Scope.SCORE: "信用评价",
    Scope.REPORT: "信用报告",
    Scope.OBJECTION: "代为提出异议",
    Scope.REPAIR: "代为申请信用修复、作出信用承诺",
}


class Purpose(enum.StrEnum):
    HIRING = "hiring"  # 招聘录用
    CREDIT = "credit"  # 信贷
    LEASE = "lease"  # 租赁
    APPOINTMENT = "appointment"  # 任职审查
    HONOURS = "honours"  # 评优评先
    OTHER = "other"  # 其他（须说明）


PURPOSE_LABELS: dict[str, str] = {
    Purpose.HIRING: "招聘录用",
    Purpose.CREDIT: "信贷",
    Purpose.LEASE: "租赁",
    Purpose.APPOINTMENT: "任职审查",
    Purpose.HONOURS: "评优评先",
    Purpose.OTHER: "其他",
}

MAX_VALIDITY_DAYS = 366


@dataclass(frozen=True, slots=True)
class Grant:
    """The facts of one authorization that decide whether a query may use it."""

    subject_id: int
    institution_id: int
    scope: frozenset[str]
    valid_from: dt.date
    valid_until: dt.date
    repeated: bool
    uses: int
    revoked: bool
    # A one-time authorization is one query occasion (一次查询): the scopes it names may be
    # read together within a short window from the first read, each once.
    first_used_at: dt.datetime | None = None
    used_scopes: frozenset[str] = frozenset()


def grant_problem(
    *,
    scope: list[str],
    purpose: str,
    purpose_text: str | None,
    valid_from: dt.date,
    valid_until: dt.date,
    today: dt.date,
) -> str | None:
    """Why these terms cannot be granted, in Chinese; ``None`` when they can."""
    if not scope:
        return "请至少选择一项授权范围"
    unknown = [s for s in scope if s not in SCOPE_LABELS]
    if unknown:
        return f"授权范围“{unknown[0]}”不存在"
    if purpose not in PURPOSE_LABELS:
        return f"查询目的“{purpose}”不存在"
    if purpose == Purpose.OTHER and not (purpose_text and purpose_text.strip()):
        return "查询目的为“其他”时须说明具体用途"
    if valid_until < valid_from:
        return "授权截止日期不能早于起始日期"
    if valid_until < today:
        return "授权截止日期不能早于今天"
    if (valid_until - valid_from).days > MAX_VALIDITY_DAYS:
        return f"授权有效期不能超过 {MAX_VALIDITY_DAYS} 天"
    return None


def refusal(
    grant: Grant | None,
    *,
    institution_id: int | None,
    subject_id: int | None,
    scope: str,
    today: dt.date,
    now: dt.datetime | None = None,
    occasion: dt.timedelta = dt.timedelta(minutes=30),
) -> tuple[str, str] | None:
    """(code, Chinese reason) why a query may not rely on this grant; ``None`` if it may.

    A one-time grant already used allows, within ``occasion`` of its first read (at
    ``now``), the scopes of the same occasion not yet read; nothing after that."""
    if grant is None:
        return "authorization_not_found", "授权不存在"
    if institution_id is None or grant.institution_id != institution_id:
        return "authorization_other_institution", "该授权不是授予本机构的"
    if subject_id is not None and grant.subject_id != subject_id:
        return "authorization_other_subject", "该授权不是该信息主体授予的"
    if grant.revoked:
        return "authorization_revoked", "信息主体已撤回该授权"
    if today < grant.valid_from:
        return "authorization_not_yet_valid", f"授权自 {grant.valid_from.isoformat()} 起生效"
    if today > grant.valid_until:
        return "authorization_expired", f"授权已于 {grant.valid_until.isoformat()} 到期"
    if scope not in grant.scope:
        label = SCOPE_LABELS.get(scope, scope)
        return "authorization_out_of_scope", f"授权范围不包括“{label}”"
    if not grant.repeated and grant.uses > 0:
        same_occasion = (
            grant.first_used_at is not None
            and now is not None
            and now - grant.first_used_at <= occasion
            and scope not in grant.used_scopes
        )
        if not same_occasion:
            return "authorization_used", "该授权为一次性授权，已使用过"
    return None
