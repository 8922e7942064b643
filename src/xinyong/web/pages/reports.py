"""Report pages: a person's own reports (本人信用报告), and verification (报告核验) where a
report's QR code leads, by code or by uploading the file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.accounts.services import Caller
from xinyong.errors import InvalidInput, XinyongError
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.reports.content import AUDIENCE_LABELS, SHANGHAI
from xinyong.reports.services import (
    Verification,
    issue_report,
    reports_of,
    verify_code,
    verify_file,
)
from xinyong.subjects.services import get_subject
from xinyong.web.api.reports import MAX_VERIFY_BYTES
from xinyong.web.deps import OptionalCallerDep, SessionDep
from xinyong.web.pages.common import (
    PersonPage,
    flash_redirect,
    render,
)

router = APIRouter(include_in_schema=False)


def _verify_page(
    request: Request,
    caller: OptionalCallerDep,
    *,
    result: Verification | None = None,
    error: XinyongError | None = None,
    checked_file: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "reports/verify.html",
        caller,
        status_code=error.http_status if error else 200,
        result=result,
        error=error,
        checked_file=checked_file,
        tz=SHANGHAI,
    )


@router.get("/reports/verify", response_class=HTMLResponse)
def verify_form(request: Request, caller: OptionalCallerDep, code: str | None = None) -> Response:
    """The form: a verification code, or a report file to check."""
    # Codes are base32; anything else typed is dropped rather than put into a URL.
    cleaned = "".join(ch for ch in (code or "").upper() if ch.isascii() and ch.isalnum())[:32]
    if cleaned:
        return RedirectResponse(f"/reports/verify/{cleaned}", status_code=303)
    return _verify_page(request, caller)


@router.get("/reports/verify/{code}", response_class=HTMLResponse)
def verify_page(
    code: str, request: Request, session: SessionDep, caller: OptionalCallerDep
) -> HTMLResponse:
    try:
        return _verify_page(request, caller, result=verify_code(session, code))
    except XinyongError as exc:
        return _verify_page(request, caller, error=exc)


@router.post("/reports/verify", response_class=HTMLResponse)
def verify_upload_page(
    request: Request,
    session: SessionDep,
    caller: OptionalCallerDep,
    file: UploadFile = File(...),
) -> HTMLResponse:
    data = file.file.read(MAX_VERIFY_BYTES + 1)
    name = file.filename or "上传的文件"
    try:
        if len(data) > MAX_VERIFY_BYTES:
            raise InvalidInput("文件过大，不是本平台出具的信用报告", code="report_unrecognised")
        return _verify_page(request, caller, result=verify_file(session, data), checked_file=name)
    except XinyongError as exc:
        return _verify_page(request, caller, error=exc, checked_file=name)


def _own_reports_page(
    request: Request,
    session: SessionDep,
    caller: Caller,
    *,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    actor = caller.actor
    assert actor.subject_id is not None  # PersonPage
    reports: list[dict[str, Any]] = [
        {
            "number": r.report_number,
            "issued": r.issued_at.astimezone(SHANGHAI),
            "audience": AUDIENCE_LABELS[Audience(r.audience)],
            "purpose": r.purpose,
            "actor": r.actor,
            "code": r.verification_code,
            "mine": r.actor == actor.name,
        }
        for r in reports_of(session, actor.subject_id)
    ]
    return render(
        request,
        "reports/mine.html",
        caller,
        status_code=status_code,
        reports=reports,
        message=message,
    )


@router.get("/me/reports", response_class=HTMLResponse)
def own_reports(request: Request, session: SessionDep, caller: PersonPage) -> Response:
    """本人信用报告: issue one (free, no limit by default) and download earlier ones."""
    return _own_reports_page(request, session, caller)


@router.post("/me/reports")
def issue_own_report(
    request: Request,
    session: SessionDep,
    caller: PersonPage,
    audience: str = Form("self"),
) -> Response:
    actor = caller.actor
    assert actor.subject_id is not None  # PersonPage
    try:
        if audience not in (Audience.SELF.value, Audience.PUBLIC.value):
            raise InvalidInput("报告版本只能是本人版或社会公开版", code="bad_audience")
        issued = issue_report(
            session,
            actor,
            protector_for(),
            get_subject(session, actor.subject_id),
            audience=Audience(audience),
        )
    except XinyongError as exc:
        session.rollback()
        return _own_reports_page(
            request, session, caller, message=exc.message, status_code=exc.http_status
        )
    number = issued.report.report_number
    return flash_redirect(request, "/me/reports", f"已出具信用报告 {number}")
