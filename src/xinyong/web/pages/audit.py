"""The auditor's pages (审计员) in the credit-office console: the audit trail, the chain's
status and check, the anomaly alerts and their acknowledgement.

Only holders of ``Permission.READ_AUDIT`` (auditors and the credit office) reach them. The
pages call the same services as ``/api/v1/audit/…``, so every read of the trail, every
chain check and every acknowledgement is itself an audit event. Events are scrubbed of
identity numbers when written; what the auditor types into a filter is scrubbed before it
is shown back.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.models import ApiKey, User
from xinyong.accounts.services import Caller
from xinyong.actors import ROLE_LABELS
from xinyong.audit import alerts as audit_alerts
from xinyong.audit import services as audit
from xinyong.audit.chain import PROBLEM_NAMES
from xinyong.audit.tags import all_labels, label_of
from xinyong.catalog.models import Department
from xinyong.errors import XinyongError
from xinyong.identity.scrub import scrub_text
from xinyong.web.deps import PathId, SessionDep
from xinyong.web.pages.common import (
    SHANGHAI,
    AuditorPage,
    flash_redirect,
    render,
)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# A chain check from a page walks at most this many events; the whole walk of a long
# chain is for `xinyong audit verify`, run on a schedule.
LATEST_CHOICES = (1_000, 10_000, 100_000)
FULL_CHECK_LIMIT = 200_000

ACTION_DOMAINS = {
    "query:": "查询（个人信息的读取）",
    "accounts:": "账号与登录",
    "authorizations:": "授权",
    "records:": "报送与记录",
    "lists:": "名单",
    "measures:": "联合奖惩",
    "workflows:": "异议、修复、承诺、举报",
    "audit:": "审计本身",
}
TARGET_TYPES = {
    "subject": "信用主体",
    "alert": "告警",
    "authorization": "授权",
    "batch": "批次",
    "check": "核查",
    "interview": "约谈",
    "user": "账号",
    "record": "信用记录",
    "objection": "异议",
    "repair": "信用修复",
    "commitment": "信用承诺",
    "tipoff": "举报",
}


def _pairs(session: Session, key: Any, value: Any, wanted: set[str]) -> dict[str, str]:
    if not wanted:
        return {}
    return {k: v for k, v in session.execute(select(key, value).where(key.in_(wanted)))}


def operator_names(session: Session, events: list[dict[str, Any]]) -> None:
    """Give each event the operator's name as people know it (``operator_name``) and its
    organisation's (``organisation_name``): an account's display name, an API key's label,
    a department's name for its code; the internal code stays in ``actor``."""
    users = {e["actor"][5:] for e in events if e["actor"].startswith("user:")}
    keys = {e["actor"][7:] for e in events if e["actor"].startswith("apikey:")}
    orgs = {e["organisation"] for e in events if e["organisation"]}
    user_names = _pairs(session, User.username, User.display_name, users)
    key_names = _pairs(session, ApiKey.prefix, ApiKey.label, keys)
    org_names = _pairs(session, Department.code, Department.name, orgs)
    for e in events:
        actor = e["actor"]
        kind, _, name = actor.partition(":")
        if kind == "user":
            e["operator_name"] = user_names.get(name) or name
        elif kind == "apikey":
            e["operator_name"] = f"{key_names.get(name) or '业务系统'}（API）"
        elif kind == "cli":
            e["operator_name"] = f"命令行操作员 {name}"
        elif actor == "system":
            e["operator_name"] = "系统任务"
        else:
            e["operator_name"] = actor
        e["organisation_name"] = org_names.get(e["organisation"], e["organisation"])


def _clean(value: str | None, length: int = 200) -> str:
    return scrub_text((value or "").strip())[:length]


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI)


@router.get("/console/audit", response_class=HTMLResponse)
def events_page(request: Request, session: SessionDep, access: AuditorPage) -> Response:
    """审计记录: the trail, newest first, filtered, 50 a page (keyset: 'before' a seq)."""
    q = request.query_params
    form = {
        name: _clean(q.get(name))
        for name in ("domain", "action", "actor", "organisation", "target_type", "target_id")
    }
    form |= {"since": _clean(q.get("since"), 10), "until": _clean(q.get("until"), 10)}
    error = None
    since, until = _day(form["since"]), _day(form["until"])
    if (form["since"] and since is None) or (form["until"] and until is None):
        error = "日期格式应为 YYYY-MM-DD"
    elif since and until and until < since:
        error = "截止日期不能早于起始日期"
    before = q.get("before", "")
    before_seq = int(before) if before.isdigit() and len(before) < 19 else None
    where = audit.EventFilter(
        actor=form["actor"] or None,
        action_prefix=form["action"]
        or (form["domain"] if form["domain"] in ACTION_DOMAINS else None),
        organisation=form["organisation"] or None,
        target_type=form["target_type"] or None,
        target_id=form["target_id"] or None,
        since=_day_start(since) if since else None,
        until=_day_start(until + dt.timedelta(days=1)) if until else None,
    )
    events: list[dict[str, Any]] = []
    if error is None:
        events = audit.read_events(
            session, access.actor, where, limit=PAGE_SIZE, before_seq=before_seq
        )
    for e in events:
        e["local_time"] = dt.datetime.fromisoformat(e["occurred_at"]).astimezone(SHANGHAI)
        e["role_name"] = ROLE_LABELS.get(e["role"], e["role"])
        e["action_name"] = label_of(e["action"])
    operator_names(session, events)
    filters = {k: v for k, v in form.items() if v}
    older = None
    if len(events) == PAGE_SIZE:
        older = "/console/audit?" + urlencode(filters | {"before": events[-1]["seq"]})
    return render(
        request,
        "console/audit_events.html",
        access,
        status_code=422 if error else 200,
        events=events,
        form=form,
        error=error,
        domains=ACTION_DOMAINS,
        actions=all_labels(),
        target_types=TARGET_TYPES,
        older=older,
        first_page=("/console/audit?" + urlencode(filters)) if before_seq else None,
    )


# -- the chain -------------------------------------------------------------------------------


def _chain_page(
    request: Request,
    session: SessionDep,
    caller: Caller,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    seq, head_hash = audit.head_of(session)
    anchor = audit.last_anchor(session)
    if anchor is not None:
        anchor["local_time"] = dt.datetime.fromisoformat(anchor["occurred_at"]).astimezone(SHANGHAI)
    return render(
        request,
        "console/audit_chain.html",
        caller,
        status_code=422 if error else 200,
        head_seq=seq,
        head_hash=head_hash,
        anchor=anchor,
        choices=[n for n in LATEST_CHOICES if n < seq],
        full_allowed=seq <= FULL_CHECK_LIMIT,
        full_limit=FULL_CHECK_LIMIT,
        result=result,
        error=error,
    )


@router.get("/console/audit/chain", response_class=HTMLResponse)
def chain_page(request: Request, session: SessionDep, access: AuditorPage) -> Response:
    return _chain_page(request, session, access)


@router.post("/console/audit/chain", response_class=HTMLResponse)
def chain_check(
    request: Request,
    session: SessionDep,
    access: AuditorPage,
    latest: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """校验审计链: the latest N events, or the whole chain while it is short enough."""
    seq, _ = audit.head_of(session)
    if latest == "all":
        if seq > FULL_CHECK_LIMIT:
            return _chain_page(
                request,
                session,
                access,
                error=f"审计链已超过 {FULL_CHECK_LIMIT:,} 个事件，整条链请用命令 xinyong audit verify 校验",
            )
        count = None
    elif latest.isdigit() and int(latest) in LATEST_CHOICES:
        count = int(latest)
    else:
        return _chain_page(request, session, access, error="请选择校验范围")
    result = audit.check_chain(session, access.actor, latest=count, full=count is None).as_dict()
    result["latest"] = count
    result["problem_name"] = PROBLEM_NAMES.get(result["problem"] or "")
    return _chain_page(request, session, access, result=result)


# -- alerts ---------------------------------------------------------------------------------


def _alerts_page(
    request: Request,
    session: SessionDep,
    caller: Caller,
    *,
    error: str | None = None,
    error_alert: int | None = None,
    note: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    include_all = request.query_params.get("all") == "1"
    alerts = audit_alerts.list_alerts(session, caller.actor, include_acknowledged=include_all)
    for a in alerts:
        for key in ("window_start", "window_end", "created_at", "acknowledged_at"):
            if a[key]:
                a[key + "_local"] = dt.datetime.fromisoformat(a[key]).astimezone(SHANGHAI)
    return render(
        request,
        "console/audit_alerts.html",
        caller,
        status_code=status_code,
        alerts=alerts,
        include_all=include_all,
        error=error,
        error_alert=error_alert,
        note=note,
    )


@router.get("/console/audit/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep, access: AuditorPage) -> Response:
    """异常告警: open alerts (or all with ?all=1), each with its evidence."""
    return _alerts_page(request, session, access)


@router.post("/console/audit/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_alert(
    alert_id: PathId,
    request: Request,
    session: SessionDep,
    access: AuditorPage,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """确认告警 with a note, through the service (which audits the acknowledgement)."""
    try:
        audit_alerts.acknowledge(session, access.actor, alert_id, note)
    except XinyongError as exc:
        session.rollback()
        return _alerts_page(
            request,
            session,
            access,
            error=exc.message,
            error_alert=alert_id,
            note=note,
            status_code=exc.http_status,
        )
    return flash_redirect(request, "/console/audit/alerts", f"已确认告警 {alert_id}")
