"""约谈 in the department workbench: schedule an interview about one of the department's
records, list the department's interviews, record what came of them.

The pages call ``notices.interviews``, the service behind ``/api/v1/interviews``: it
checks the department owns the record and tells the person (a notice in their inbox).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from xinyong.accounts.services import Caller
from xinyong.errors import InvalidInput, XinyongError
from xinyong.identity.masking import Audience, mask_name
from xinyong.notices import interviews
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.web.deps import PathId, SessionDep
from xinyong.web.pages.common import (
    SHANGHAI,
    CaseStaffPage,
    flash_redirect,
    render,
    workbench_context,
)

router = APIRouter(include_in_schema=False)

# The time is entered as local wall-clock time in one of these zones and stored in UTC.
TIMEZONES = {
    "Asia/Shanghai": "北京时间（UTC+8）",
    "Asia/Urumqi": "乌鲁木齐时间（UTC+6）",
    "UTC": "协调世界时（UTC）",
}
FIELDS = ("record", "held_at", "timezone", "place", "attendees", "reason")


def held_at_from_form(value: str, zone: str) -> dt.datetime:
    """A ``datetime-local`` value and a zone name → an aware datetime, or a Chinese error."""
    if not value.strip():
        raise InvalidInput("须填写约谈时间", code="field_required")
    if zone not in TIMEZONES:
        raise InvalidInput("请选择时区", code="bad_timezone")
    try:
        naive = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("约谈时间格式不正确，应为 年-月-日 时:分", code="bad_time") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(zone))


def _listing(session: SessionDep, caller: Caller) -> list[dict[str, Any]]:
    rows = interviews.list_interviews(session, caller.actor)
    for row in rows:
        subject = session.get(Subject, row["subject_id"])
        row["subject_name"] = mask_name(subject.name, Audience.GOVERNMENT) if subject else ""
        record = session.get(Record, row["record_id"]) if row["record_id"] else None
        row["document_number"] = record.document_number if record else None
        row["local_time"] = dt.datetime.fromisoformat(row["held_at"]).astimezone(SHANGHAI)
    return rows


def _page(
    request: Request,
    session: SessionDep,
    caller: Caller,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    outcome_error: tuple[int, str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    defaults = {"timezone": "Asia/Shanghai", "record": request.query_params.get("record", "")}
    return render(
        request,
        "workbench/interviews.html",
        caller,
        status_code=status_code,
        interviews=_listing(session, caller),
        form=defaults | (form or {}),
        error=error,
        outcome_error=outcome_error,
        timezones=TIMEZONES,
        **workbench_context(session, caller),
    )


@router.get("/workbench/interviews", response_class=HTMLResponse)
def interviews_page(request: Request, session: SessionDep, access: CaseStaffPage) -> Response:
    return _page(request, session, access)


@router.post("/workbench/interviews", response_class=HTMLResponse)
def schedule_interview(
    request: Request,
    session: SessionDep,
    access: CaseStaffPage,
    record: Annotated[str, Form(max_length=200)] = "",
    held_at: Annotated[str, Form(max_length=40)] = "",
    timezone: Annotated[str, Form(max_length=40)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
    attendees: Annotated[str, Form(max_length=2000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """安排约谈; on any error the form comes back with everything as typed."""
    form = dict(zip(FIELDS, (record, held_at, timezone, place, attendees, reason), strict=True))
    try:
        when = held_at_from_form(held_at, timezone)
        target = interviews.record_for_interview(session, access.actor, record)
        interview = interviews.record_interview(
            session,
            access.actor,
            target.subject_id,
            held_at=when,
            place=place,
            attendees=attendees,
            reason=reason,
            record_id=target.id,
        )
    except XinyongError as exc:
        session.rollback()
        return _page(
            request, session, access, form=form, error=exc.message, status_code=exc.http_status
        )
    return flash_redirect(
        request, "/workbench/interviews", f"已安排约谈 {interview.id}，已通知信息主体"
    )


@router.post("/workbench/interviews/{interview_id}/outcome", response_class=HTMLResponse)
def interview_outcome(
    interview_id: PathId,
    request: Request,
    session: SessionDep,
    access: CaseStaffPage,
    outcome: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """登记约谈结果."""
    try:
        interviews.conclude_interview(session, access.actor, interview_id, outcome)
    except XinyongError as exc:
        session.rollback()
        return _page(
            request,
            session,
            access,
            outcome_error=(interview_id, exc.message, outcome),
            status_code=exc.http_status,
        )
    return flash_redirect(request, "/workbench/interviews", f"已登记约谈 {interview_id} 的结果")
