"""Report verification pages (报告核验): where a report's QR code leads, and a file upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from xinyong.config import get_settings
from xinyong.errors import XinyongError
from xinyong.reports.pdf import SHANGHAI
from xinyong.reports.services import Verification, verify_code, verify_file
from xinyong.web.api.reports import MAX_VERIFY_BYTES
from xinyong.web.deps import SessionDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def _page(
    request: Request,
    *,
    result: Verification | None = None,
    error: XinyongError | None = None,
    checked_file: str | None = None,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "city": get_settings().city_name,
        "result": result,
        "error": error,
        "checked_file": checked_file,
        "tz": SHANGHAI,
    }
    status = error.http_status if error else 200
    return templates.TemplateResponse(request, "reports/verify.html", context, status_code=status)


@router.get("/reports/verify", response_class=HTMLResponse)
def verify_form(request: Request, code: str | None = None) -> Response:
    """The form: a verification code, or a report file to check."""
    if code and code.strip():
        return RedirectResponse(f"/reports/verify/{code.strip().upper()}", status_code=303)
    return _page(request)


@router.get("/reports/verify/{code}", response_class=HTMLResponse)
def verify_page(code: str, request: Request, session: SessionDep) -> HTMLResponse:
    try:
        return _page(request, result=verify_code(session, code))
    except XinyongError as exc:
        return _page(request, error=exc)


@router.post("/reports/verify", response_class=HTMLResponse)
def verify_upload_page(
    request: Request, session: SessionDep, file: UploadFile = File(...)
) -> HTMLResponse:
    data = file.file.read(MAX_VERIFY_BYTES + 1)
    name = file.filename or "上传的文件"
    try:
        if len(data) > MAX_VERIFY_BYTES:
            raise XinyongError("文件过大，不是本平台出具的信用报告", code="report_unrecognised")
        return _page(request, result=verify_file(session, data), checked_file=name)
    except XinyongError as exc:
        return _page(request, error=exc, checked_file=name)
