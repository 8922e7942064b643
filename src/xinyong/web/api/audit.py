"""The audit trail for auditors (审计员) and the credit office: events, chain check, alerts.

Every read here is itself an audit event: who watches the watchers is in the chain too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from xinyong.audit import alerts as audit_alerts
from xinyong.audit import services as audit
from xinyong.config import get_settings
from xinyong.errors import InvalidInput
from xinyong.web.deps import AuditorDep, SessionDep

router = APIRouter(tags=["安全审计 audit"])


class EventRead(BaseModel):
    seq: int
    occurred_at: str
    action: str
    action_name: str  # Chinese (audit.tags)
    actor: str
    role: str
    organisation: str | None
    channel: str
    target_type: str | None
    target_id: str | None
    purpose: str | None
    basis: str | None
    details: dict[str, Any]
    hash: str


@router.get("/audit/events", response_model=list[EventRead])
def list_events(
    session: SessionDep,
    actor: AuditorDep,
    who: str | None = Query(default=None, description="操作者，如 user:clerk1"),
    action: str | None = Query(default=None, description="动作前缀，如 query:"),
    organisation: str | None = Query(default=None, description="所属部门或机构"),
    target_type: str | None = Query(default=None),
    target_id: str | None = Query(default=None),
    since: dt.datetime | None = Query(default=None, description="起始时间（含，带时区）"),
    until: dt.datetime | None = Query(default=None, description="截止时间（不含，带时区）"),
    before_seq: int | None = Query(default=None, description="翻页：只列此序号之前的事件"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> Any:
    """Audit events, newest first, filtered."""
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("时间须带时区", code="naive_time")
    where = audit.EventFilter(
        actor=who,
        action_prefix=action,
        organisation=organisation,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return audit.read_events(session, actor, where, limit=limit, before_seq=before_seq)


class VerificationRead(BaseModel):
    ok: bool
    events: int
    rows_checked: int  # events read and re-hashed by this call (= events)
    last_seq: int
    last_hash: str
    verified_from: int  # the checkpoint the walk started at (0: the first event)
    verified_through: int  # every event from verified_from to here is intact
    complete: bool  # False: stopped after audit_verify_batch events; call again
    first_bad_seq: int | None
    problem: str | None
    problem_name: str | None
    message: str | None


@router.get("/audit/verification", response_model=VerificationRead)
def verification(
    session: SessionDep,
    actor: AuditorDep,
    latest: int | None = Query(default=None, ge=1, description="只校验最近的若干个事件"),
) -> Any:
    """Verifies from the last checkpoint (the events appended since, at most
    ``XINYONG_AUDIT_VERIFY_BATCH`` per call: ``complete`` says whether it reached the head,
    and the next call goes on from ``verified_through``), or the last ``latest`` events.
    The whole walk and the anchors are checked from the command line, where the anchors
    are kept: `xinyong audit verify --full --anchors DIR`."""
    batch = get_settings().audit_verify_batch
    if latest is not None and latest > batch:
        raise InvalidInput(
            f"一次最多校验 {batch} 个事件；整条链请用命令 xinyong audit verify --full 校验",
            code="verify_too_many",
        )
    return audit.check_chain(session, actor, latest=latest).as_dict()


class AlertRead(BaseModel):
    id: int
    rule: str
    rule_name: str
    severity: str
    severity_name: str
    actor: str
    organisation: str | None
    window_start: str
    window_end: str
    message: str
    evidence: dict[str, Any]
    status: str
    status_name: str
    created_at: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    note: str | None


@router.get("/audit/alerts", response_model=list[AlertRead])
def list_alerts(
    session: SessionDep,
    actor: AuditorDep,
    include_acknowledged: bool = Query(default=False, alias="all"),
) -> Any:
    """Anomaly alerts, newest first (open ones only unless ``all=true``)."""
    return audit_alerts.list_alerts(session, actor, include_acknowledged=include_acknowledged)


class Acknowledgement(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="处理说明")


@router.post("/audit/alerts/{alert_id}/acknowledge", response_model=AlertRead)
def acknowledge(
    alert_id: int, body: Acknowledgement, session: SessionDep, actor: AuditorDep
) -> Any:
    """Confirms the alert was looked into; nobody acknowledges an alert about themselves."""
    alert = audit_alerts.acknowledge(session, actor, alert_id, body.note)
    return audit_alerts.alert_as_dict(alert)
