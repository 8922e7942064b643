"""Alerts from the abuse rules: scanning the trail, listing, acknowledging. All audited."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit import rules
from xinyong.audit.models import AlertStatus, AuditAlert, AuditEvent
from xinyong.audit.services import record_event
from xinyong.config import Settings, get_settings
from xinyong.db import utcnow
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.workdays.services import calendar_for


def thresholds(settings: Settings) -> rules.Thresholds:
    start, end = rules.parse_working_hours(settings.audit_working_hours)
    return rules.Thresholds(
        query_factor=settings.audit_query_factor,
        query_floor=settings.audit_query_floor,
        refused=settings.audit_refused_threshold,
        failed_logins=settings.audit_failed_login_threshold,
        bulk_export_rows=settings.audit_bulk_export_rows,
        working_start=start,
        working_end=end,
    )


_PERSON_READ = (
    AuditEvent.action.startswith("query:"),
    AuditEvent.target_type == "subject",
    AuditEvent.action.not_in(rules.REFUSAL_ACTIONS),
)


def _persons_per_actor(
    session: Session, day: dt.date
) -> tuple[dict[tuple[str, str], int], dict[str, str | None]]:
    start, end = rules.day_window(day)
    counts: dict[tuple[str, str], int] = {}
    organisations: dict[str, str | None] = {}
    for actor, role, organisation, n in session.execute(
        select(
            AuditEvent.actor,
            AuditEvent.role,
            func.max(AuditEvent.organisation),
            func.count(distinct(AuditEvent.target_id)),
        )
        .where(AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end, *_PERSON_READ)
        .group_by(AuditEvent.actor, AuditEvent.role)
    ):
        counts[(actor, role)] = int(n)
        organisations[actor] = organisation
    return counts, organisations


def _summaries(session: Session, day: dt.date) -> list[rules.EventSummary]:
    start, end = rules.day_window(day)
    watched = rules.WATCHED
    rows = session.execute(
        select(
            AuditEvent.occurred_at,
            AuditEvent.action,
            AuditEvent.actor,
            AuditEvent.role,
            AuditEvent.organisation,
            AuditEvent.target_id,
            AuditEvent.details,
        ).where(
            AuditEvent.occurred_at >= start,
            AuditEvent.occurred_at < end,
            or_(
                AuditEvent.action.in_(watched),
                AuditEvent.role.in_(rules.OPERATOR_ROLES) & AuditEvent.action.startswith("query:"),
            ),
        )
    )
    return [
        rules.EventSummary(
            at,
            action,
            actor,
            role,
            organisation,
            target,
            json.loads(details) if action in watched or action.startswith("query:") else {},
        )
        for at, action, actor, role, organisation, target, details in rows
    ]


@dataclass
class ScanResult:
    days: list[str]
    raised: list[int] = field(default_factory=list)
    already_known: int = 0


def scan(session: Session, actor: Actor, days: list[dt.date]) -> ScanResult:
    """Run every rule over the given local days; store new alerts (idempotent)."""
    settings = get_settings()
    t = thresholds(settings)
    result = ScanResult([d.isoformat() for d in days])
    drafts: list[rules.AlertDraft] = []
    for day in days:
        today, organisations = _persons_per_actor(session, day)
        history: dict[str, dict[dt.date, int]] = {}
        if today:
            for back in range(1, settings.audit_baseline_days + 1):
                past = day - dt.timedelta(days=back)
                for (who, _), n in _persons_per_actor(session, past)[0].items():
                    history.setdefault(who, {})[past] = n
        drafts += rules.query_volume(day, today, history, t, organisations)
        events = _summaries(session, day)
        drafts += rules.off_hours(events, t, calendar_for(session).is_workday)
        drafts += rules.refused_queries(events, t)
        drafts += rules.bulk_export(day, events, t)
        drafts += rules.failed_logins(events, t)
        drafts += rules.unrelated_reads(day, events)
    if not drafts:
        record_event(session, actor, "audit:scan:completed", details={"days": result.days, "raised": 0})  # fmt: skip
        return result
    known = set(
        session.scalars(
            select(AuditAlert.fingerprint).where(
                AuditAlert.fingerprint.in_({d.fingerprint for d in drafts})
            )
        )
    )
    for draft in drafts:
        if draft.fingerprint in known:
            result.already_known += 1
            continue
        known.add(draft.fingerprint)
        alert = AuditAlert(
            fingerprint=draft.fingerprint,
            rule=draft.rule,
            severity=draft.severity,
            actor=draft.actor,
            organisation=draft.organisation,
            window_start=draft.window_start,
            window_end=draft.window_end,
            message=draft.message[:500],
            evidence=draft.evidence,
            status=AlertStatus.OPEN.value,
        )
        session.add(alert)
        session.flush()
        result.raised.append(alert.id)
        record_event(session, actor, "audit:alert:raised", target_type="alert", target_id=alert.id, details={"rule": draft.rule, "about": draft.actor, "severity": draft.severity})  # fmt: skip
    record_event(session, actor, "audit:scan:completed", details={"days": result.days, "raised": len(result.raised), "already_known": result.already_known})  # fmt: skip
    return result


def alert_as_dict(a: AuditAlert) -> dict[str, Any]:
    return {
        "id": a.id,
        "rule": a.rule,
        "rule_name": rules.RULE_NAMES.get(a.rule, a.rule),
        "severity": a.severity,
        "severity_name": rules.SEVERITY_NAMES.get(a.severity, a.severity),
        "actor": a.actor,
        "organisation": a.organisation,
        "window_start": a.window_start.isoformat(),
        "window_end": a.window_end.isoformat(),
        "message": a.message,
        "evidence": a.evidence,
        "status": a.status,
        "status_name": "已确认" if a.status == AlertStatus.ACKNOWLEDGED.value else "待处理",
        "created_at": a.created_at.isoformat(),
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
        "note": a.note,
    }


def list_alerts(
    session: Session, actor: Actor, *, include_acknowledged: bool = False, limit: int = 200
) -> list[dict[str, Any]]:
    query = select(AuditAlert).order_by(AuditAlert.id.desc()).limit(min(max(limit, 1), 1000))
    if not include_acknowledged:
        query = query.where(AuditAlert.status == AlertStatus.OPEN.value)
    alerts = [alert_as_dict(a) for a in session.scalars(query)]
    record_event(session, actor, "audit:alerts:viewed", details={"count": len(alerts), "include_acknowledged": include_acknowledged})  # fmt: skip
    return alerts


def acknowledge(session: Session, actor: Actor, alert_id: int, note: str) -> AuditAlert:
    """An auditor confirms having looked into the alert, saying what was found.

    Nobody acknowledges an alert about themselves (separation of duties)."""
    alert = session.get(AuditAlert, alert_id)
    if alert is None:
        raise NotFound("告警不存在", code="alert_not_found")
    if not note.strip():
        raise InvalidInput("确认告警须填写处理说明", code="note_required")
    if alert.actor == actor.name:
        raise Forbidden("不能确认针对本人的告警", code="own_alert")
    if alert.status == AlertStatus.ACKNOWLEDGED.value:
        raise InvalidInput("该告警已确认", code="already_acknowledged")
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_by = actor.name
    alert.acknowledged_at = utcnow()
    alert.note = note.strip()[:2000]
    session.flush()
    record_event(session, actor, "audit:alert:acknowledged", target_type="alert", target_id=alert.id, purpose=alert.note, details={"rule": alert.rule, "about": alert.actor})  # fmt: skip
    return alert
