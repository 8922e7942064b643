"""Abuse detection (实时监测分析异常应用): pure rules over summaries of audit events.

Each rule takes plain data (no database) and returns alert drafts. ``services.scan`` feeds
them from the audit trail and stores the alerts; the fingerprint (rule, who, window) keeps
a scan idempotent, so running it again never duplicates an alert.

Rules (thresholds are settings, see ``config.py``):

- ``query_volume``: an operator read far more distinct persons in a day than their own
  baseline (mean over their active days in the previous N days), and at least a floor.
- ``off_hours``: a person's data read by a staff or institution account outside working
  hours or on a day off (Asia/Shanghai; statutory holidays and 调休 count).
- ``refused_queries``: repeated refused queries by one caller within an hour.
- ``bulk_export``: many persons' data exported (batch comparison rows, reports) in a day.
- ``failed_logins``: many failed logins for one account, or for unknown usernames from
  everywhere together, within an hour.
- ``unrelated_reads``: a department account read persons its department has no record,
  check or list procedure about (查询使用登记和审查): one alert per account and day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from xinyong.audit.tags import EventTag

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Roles whose reads are people's actions (a department's business system, an API key, runs
# around the clock; persons read their own archive).
STAFF_ROLES = frozenset({"admin", "clerk", "reviewer", "institution", "auditor"})
OPERATOR_ROLES = STAFF_ROLES | {"department"}
EXPORT_ACTIONS = frozenset({EventTag.QUERY_CHECK_BATCH, EventTag.QUERY_REPORT_ISSUE})
REFUSAL_ACTIONS = frozenset({EventTag.QUERY_AUTHORIZATION_REFUSED})
FAILED_LOGIN = EventTag.ACCOUNTS_LOGIN_FAILED
# Every tag a rule watches (tests/unit/audit/test_tags.py: each is emitted somewhere).
WATCHED = EXPORT_ACTIONS | REFUSAL_ACTIONS | {FAILED_LOGIN}
UNKNOWN_USERS = "(未知用户名)"

RULE_NAMES = {
    "query_volume": "查询量异常",
    "off_hours": "非工作时间查询",
    "refused_queries": "多次查询被拒",
    "bulk_export": "批量导出个人信息",
    "failed_logins": "多次登录失败",
    "unrelated_reads": "查询无业务关联的个人",
}
SEVERITY_NAMES = {"high": "高", "medium": "中", "low": "低"}


@dataclass(frozen=True, slots=True)
class EventSummary:
    """What the rules need of an event."""

    occurred_at: dt.datetime  # aware
    action: str
    actor: str
    role: str
    organisation: str | None = None
    target_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertDraft:
    rule: str
    severity: str
    actor: str
    organisation: str | None
    window_start: dt.datetime
    window_end: dt.datetime
    message: str  # Chinese, for the auditor
    evidence: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return f"{self.rule}|{self.actor}|{self.window_start.astimezone(dt.UTC):%Y%m%dT%H%M}"[:200]


@dataclass(frozen=True, slots=True)
class Thresholds:
    query_factor: float = 3.0
    query_floor: int = 50
    refused: int = 5
    failed_logins: int = 10
    bulk_export_rows: int = 1_000
    working_start: dt.time = dt.time(8, 0)
    working_end: dt.time = dt.time(19, 0)


def parse_working_hours(text: str) -> tuple[dt.time, dt.time]:
    """``"08:00-19:00"`` → (08:00, 19:00)."""
    start, end = text.split("-", 1)
    return dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local (Asia/Shanghai) day as an aware [start, end) range."""
    start = dt.datetime.combine(day, dt.time(0), SHANGHAI)
    return start, start + dt.timedelta(days=1)


def _hour(at: dt.datetime) -> dt.datetime:
    local = at.astimezone(SHANGHAI)
    return local.replace(minute=0, second=0, microsecond=0)


# --- the rules ------------------------------------------------------------------------------


def query_volume(
    day: dt.date,
    persons_today: Mapping[tuple[str, str], int],
    history: Mapping[str, Mapping[dt.date, int]],
    t: Thresholds,
    organisations: Mapping[str, str | None] | None = None,
) -> list[AlertDraft]:
    """``persons_today``: (actor, role) → distinct persons read on ``day``; ``history``:
    actor → {earlier day: distinct persons} over the baseline period."""
    start, end = day_window(day)
    drafts = []
    for (actor, role), count in sorted(persons_today.items()):
        if role not in OPERATOR_ROLES or count < t.query_floor:
            continue
        past = [n for d, n in history.get(actor, {}).items() if d < day and n > 0]
        baseline = sum(past) / len(past) if past else 0.0
        if baseline and count <= t.query_factor * baseline:
            continue
        message = f"{actor} 于 {day:%Y-%m-%d} 查询了 {count} 名不同的信息主体，" + (
            f"是其近期日均 {baseline:.1f} 人的 {count / baseline:.1f} 倍"
            if baseline
            else "此前没有查询记录"
        )
        drafts.append(
            AlertDraft(
                "query_volume",
                "high" if not baseline or count > 2 * t.query_factor * baseline else "medium",
                actor,
                (organisations or {}).get(actor),
                start,
                end,
                message,
                {"persons": count, "baseline": round(baseline, 2), "active_days": len(past)},
            )
        )
    return drafts


def off_hours(
    events: Iterable[EventSummary], t: Thresholds, is_workday: Callable[[dt.date], bool]
) -> list[AlertDraft]:
    """One alert per staff account and local day with reads outside working hours."""
    by_actor_day: dict[tuple[str, dt.date], list[EventSummary]] = defaultdict(list)
    for e in events:
        if not e.action.startswith("query:") or e.role not in STAFF_ROLES:
            continue
        if e.action in REFUSAL_ACTIONS:
            continue
        local = e.occurred_at.astimezone(SHANGHAI)
        inside = t.working_start <= local.time() < t.working_end
        if inside and is_workday(local.date()):
            continue
        by_actor_day[(e.actor, local.date())].append(e)
    drafts = []
    for (actor, day), found in sorted(by_actor_day.items()):
        times = sorted(e.occurred_at.astimezone(SHANGHAI) for e in found)
        start, end = day_window(day)
        workday = is_workday(day)
        drafts.append(
            AlertDraft(
                "off_hours",
                "medium" if len(found) >= 10 else "low",
                actor,
                found[0].organisation,
                start,
                end,
                f"{actor} 在{'工作日的非工作时间' if workday else '休息日'}"
                f"（{times[0]:%m-%d %H:%M}–{times[-1]:%H:%M}）查询个人信息 {len(found)} 次",
                {
                    "queries": len(found),
                    "first": times[0].isoformat(),
                    "last": times[-1].isoformat(),
                    "workday": workday,
                    "persons": len({e.target_id for e in found if e.target_id}),
                },
            )
        )
    return drafts


def _hourly(
    events: Iterable[EventSummary], keep: Callable[[EventSummary], str | None]
) -> dict[tuple[str, dt.datetime], list[EventSummary]]:
    buckets: dict[tuple[str, dt.datetime], list[EventSummary]] = defaultdict(list)
    for e in events:
        key = keep(e)
        if key is not None:
            buckets[(key, _hour(e.occurred_at))].append(e)
    return buckets


def refused_queries(events: Iterable[EventSummary], t: Thresholds) -> list[AlertDraft]:
    buckets = _hourly(events, lambda e: e.actor if e.action in REFUSAL_ACTIONS else None)
    drafts = []
    for (actor, hour), found in sorted(buckets.items()):
        if len(found) < t.refused:
            continue
        reasons: dict[str, int] = defaultdict(int)
        for e in found:
            reasons[str(e.details.get("reason", "?"))] += 1
        drafts.append(
            AlertDraft(
                "refused_queries",
                "high" if len(found) >= 3 * t.refused else "medium",
                actor,
                found[0].organisation,
                hour,
                hour + dt.timedelta(hours=1),
                f"{actor} 在 {hour:%Y-%m-%d %H}:00 起的一小时内有 {len(found)} 次查询被拒绝",
                {"refused": len(found), "reasons": dict(reasons)},
            )
        )
    return drafts


def bulk_export(day: dt.date, events: Iterable[EventSummary], t: Thresholds) -> list[AlertDraft]:
    """Persons exported by one caller in a day: the distinct subjects of per-person export
    events (a check with a batch reference, a report), plus the rows of each batch
    comparison of a file, which is one event for the whole file (``details["rows"]``)."""
    per_actor: dict[str, list[EventSummary]] = defaultdict(list)
    for e in events:
        if e.action in EXPORT_ACTIONS:
            per_actor[e.actor].append(e)
    start, end = day_window(day)
    drafts = []
    for actor, found in sorted(per_actor.items()):
        subjects = {e.target_id for e in found if "rows" not in e.details}
        batch_rows = sum(int(e.details.get("rows") or 0) for e in found if "rows" in e.details)
        persons = len(subjects) + batch_rows
        if persons < t.bulk_export_rows:
            continue
        drafts.append(
            AlertDraft(
                "bulk_export",
                "high" if persons >= 10 * t.bulk_export_rows else "medium",
                actor,
                found[0].organisation,
                start,
                end,
                f"{actor} 于 {day:%Y-%m-%d} 批量导出了 {persons} 名信息主体的信息",
                {"persons": persons, "events": len(found), "batch_rows": batch_rows},
            )
        )
    return drafts


def failed_logins(events: Iterable[EventSummary], t: Thresholds) -> list[AlertDraft]:
    def key(e: EventSummary) -> str | None:
        if e.action != FAILED_LOGIN:
            return None
        return UNKNOWN_USERS if e.details.get("reason") == "unknown_user" else e.actor

    drafts = []
    for (who, hour), found in sorted(_hourly(events, key).items()):
        if len(found) < t.failed_logins:
            continue
        evidence: dict[str, Any] = {"failures": len(found)}
        if who == UNKNOWN_USERS:
            evidence["usernames"] = len({e.actor for e in found})
            message = (
                f"{hour:%Y-%m-%d %H}:00 起的一小时内，有 {len(found)} 次以不存在的用户名"
                f"（{evidence['usernames']} 个）登录失败，疑似撞库"
            )
        else:
            message = f"{who} 在 {hour:%Y-%m-%d %H}:00 起的一小时内登录失败 {len(found)} 次"
        drafts.append(
            AlertDraft(
                "failed_logins",
                "high" if len(found) >= 3 * t.failed_logins else "medium",
                who,
                None,
                hour,
                hour + dt.timedelta(hours=1),
                message,
                evidence,
            )
        )
    return drafts


def unrelated_reads(day: dt.date, events: Iterable[EventSummary]) -> list[AlertDraft]:
    """Reads flagged ``unrelated`` when logged (queries.services.unrelated_to_department)."""
    per_actor: dict[str, list[EventSummary]] = defaultdict(list)
    for e in events:
        if e.action.startswith("query:") and e.details.get("unrelated"):
            per_actor[e.actor].append(e)
    start, end = day_window(day)
    drafts = []
    for actor, found in sorted(per_actor.items()):
        persons = sorted({e.target_id for e in found if e.target_id})
        references = sorted(
            {str(e.details["reference"]) for e in found if e.details.get("reference")}
        )
        drafts.append(
            AlertDraft(
                "unrelated_reads",
                "medium" if len(persons) >= 5 else "low",
                actor,
                found[0].organisation,
                start,
                end,
                f"{actor} 于 {day:%Y-%m-%d} 查询了 {len(persons)} 名本部门无记录、无核查、"
                "无名单程序的信息主体，请核对其事由和业务编号",
                {"persons": len(persons), "reads": len(found), "references": references[:20]},
            )
        )
    return drafts
