"""Shared page plumbing: templates, the logged-in caller, CSRF for forms."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from xinyong.accounts.permissions import PERMISSION_DENIED, Permission, can
from xinyong.accounts.services import Caller
from xinyong.actors import ROLE_LABELS, Role, actor_label
from xinyong.config import get_settings
from xinyong.records.formats import FORMAT_NAMES
from xinyong.records.models import CHANNEL_NAMES
from xinyong.submissions.history import BATCH_STATUS_NAMES, department_name
from xinyong.web.deps import OptionalCallerDep

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def localtime(value: dt.datetime | None) -> str:
    """Stored UTC shown as Beijing time (STYLE: Asia/Shanghai for display)."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


templates.env.filters["localtime"] = localtime
templates.env.filters["actor_label"] = actor_label


def may(actor: object, permission: str) -> bool:
    """For templates: whether the logged-in actor holds ``permission`` (the one table)."""
    from xinyong.actors import Actor

    return isinstance(actor, Actor) and can(actor, Permission(permission))


templates.env.globals["may"] = may

LOGIN_CSRF_COOKIE = "xy_login_csrf"

# Links in the main navigation after the portal's own; a page module adds its entry when
# its service exists (报告核验, 信用举报).
EXTRA_NAV: list[tuple[str, str]] = []


# -- each role's own workspace ------------------------------------------------------------
# Where a role lands after login and what the header links to: (path, label, permission the
# page checks). A role is never sent or linked to a page it would get 403 on.
WORKSPACES: dict[str, tuple[str, str, Permission]] = {
    "person": ("/me", "个人中心", Permission.OWN_ARCHIVE),
    "clerk": ("/workbench", "工作台", Permission.VIEW_SUBMISSIONS),
    "reviewer": ("/workbench", "工作台", Permission.VIEW_SUBMISSIONS),
    "admin": ("/console", "控制台", Permission.READ_ARCHIVE),
    "auditor": ("/console/audit", "审计", Permission.READ_AUDIT),
    "institution": ("/institution", "机构查询", Permission.AUTHORIZED_QUERY),
}


def workspace_for(actor: object) -> tuple[str, str] | None:
    """The actor's workspace (path, label), or None when the role has none it may open."""
    from xinyong.actors import Actor

    if not isinstance(actor, Actor):
        return None
    entry = WORKSPACES.get(actor.role)
    if entry is None or not can(actor, entry[2]):
        return None
    if actor.role == "person" and actor.subject_id is None:
        return None
    return entry[0], entry[1]


templates.env.globals["workspace_for"] = workspace_for

# -- flash messages ------------------------------------------------------------------------
# A confirmation after a form post travels in a short-lived cookie signed with the login
# session's own token, never in the query string: a link cannot make a page of this site
# say anything (a phishing text in ?message= would be shown in the site's green box).
FLASH_COOKIE = "xy_flash"
FLASH_MAX_CHARS = 500


def _flash_signature(session_token: str, payload: str) -> str:
    key = hashlib.sha256(b"xinyong-flash:" + session_token.encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]


def _session_token(request: Request) -> str | None:
    from xinyong.web.deps import SESSION_COOKIE

    return request.cookies.get(SESSION_COOKIE)


def set_flash(
    response: Response, request: Request, message: str, session_token: str | None = None
) -> None:
    """Shows ``message`` once on the next page this browser renders (same login session)."""
    token = session_token or _session_token(request)
    if not token:
        return
    payload = base64.urlsafe_b64encode(message[:FLASH_MAX_CHARS].encode()).decode()
    response.set_cookie(
        FLASH_COOKIE,
        f"{payload}.{_flash_signature(token, payload)}",
        httponly=True,
        secure=get_settings().cookie_secure,
        samesite="lax",
        max_age=300,
    )


def flash_redirect(request: Request, url: str, message: str) -> RedirectResponse:
    """303 to ``url`` with ``message`` as a flash. When ``url`` ends in a #fragment the
    message is shown inside that section (where the browser lands), not only on top."""
    response = RedirectResponse(url, status_code=303)
    anchor = url.partition("#")[2]
    set_flash(response, request, f"{anchor}\n{message}")
    return response


def read_flash(request: Request) -> str | None:
    """The pending flash message, if its signature matches this login session."""
    value = request.cookies.get(FLASH_COOKIE)
    token = _session_token(request)
    if not value or not token or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _flash_signature(token, payload)):
        return None
    try:
        return base64.urlsafe_b64decode(payload.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def render(
    request: Request,
    template: str,
    caller: Caller | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    settings = get_settings()
    base = {
        "city": settings.city_name,
        "site": settings,
        "caller": caller,
        "actor": caller.actor if caller else None,
        "role_name": ROLE_LABELS.get(caller.actor.role, "") if caller else "",
        "csrf_token": caller.csrf_token if caller else None,
        "extra_nav": EXTRA_NAV,
    }
    flash = None
    if FLASH_COOKIE in request.cookies and request.headers.get("hx-request") != "true":
        flash = read_flash(request)
    if flash and not context.get("message"):
        anchor, _, text = flash.partition("\n")
        context["message"] = text
        context["message_anchor"] = anchor
    response = templates.TemplateResponse(
        request, template, base | context, status_code=status_code
    )
    if FLASH_COOKIE in request.cookies and request.headers.get("hx-request") != "true":
        response.delete_cookie(FLASH_COOKIE)
    return response


def login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def render_with_login_csrf(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A form page used before login: CSRF is a double-submit cookie (no session yet)."""
    token = secrets.token_urlsafe(24)
    response = render(request, template, None, status_code, login_csrf=token, **context)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        secure=get_settings().cookie_secure,
        samesite="strict",
        max_age=3600,
    )
    return response


def forbidden_page(request: Request, caller: Caller, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        caller,
        status_code=403,
        status=403,
        heading="无权访问",
        message=message,
        workspace=workspace_for(caller.actor),
    )


# -- page access ------------------------------------------------------------------------
# A page declares who may open it as a parameter (``access: StaffPage``). A visitor who is
# not logged in is sent to the login page and back; a logged-in caller without the right
# gets the 403 page with the reason. One exception handler (web.app) answers both.

# Who handles cases (异议, 信用修复, 举报, 约谈, 名单程序) on the workbench.
CASE_ROLES = frozenset({Role.ADMIN, Role.CLERK, Role.REVIEWER})
NOT_PERSON_TEMPLATE = "account/not_person.html"


class PageRefused(Exception):
    """The caller may not open the page. ``caller`` None: not logged in."""

    def __init__(
        self, caller: Caller | None, message: str = "", template: str = "error.html"
    ) -> None:
        super().__init__(message)
        self.caller = caller
        self.message = message
        self.template = template

    def response(self, request: Request) -> Response:
        if self.caller is None:
            return login_redirect(request)
        if self.template == NOT_PERSON_TEMPLATE:
            return render(request, NOT_PERSON_TEMPLATE, self.caller, status_code=403)
        return forbidden_page(request, self.caller, self.message)


def require_page(
    permission: Permission | None = None,
    *,
    roles: frozenset[str] | None = None,
    refusal: str = "",
) -> Any:
    """A dependency: the logged-in caller holding ``permission`` (and in one of ``roles``);
    else PageRefused (the login redirect or the 403 page)."""

    def check(caller: OptionalCallerDep) -> Caller:
        if caller is None:
            raise PageRefused(None)
        if permission is not None and not can(caller.actor, permission):
            raise PageRefused(caller, PERMISSION_DENIED[permission])
        if roles is not None and caller.actor.role not in roles:
            raise PageRefused(caller, refusal)
        return caller

    return Depends(check)


def require_person_page(caller: OptionalCallerDep) -> Caller:
    """The information subject (信息主体) logged in; anyone else gets the page saying the
    page is the person's own."""
    if caller is None:
        raise PageRefused(None)
    if caller.actor.role != Role.PERSON or caller.actor.subject_id is None:
        raise PageRefused(caller, template=NOT_PERSON_TEMPLATE)
    return caller


LoggedInPage = Annotated[Caller, require_page()]
PersonPage = Annotated[Caller, Depends(require_person_page)]
OwnArchivePage = Annotated[Caller, require_page(Permission.OWN_ARCHIVE)]
StaffPage = Annotated[Caller, require_page(Permission.VIEW_SUBMISSIONS)]
CaseStaffPage = Annotated[
    Caller,
    require_page(
        Permission.VIEW_SUBMISSIONS, roles=CASE_ROLES, refusal="仅部门工作人员和信用办可以办理"
    ),
]
SubmitterPage = Annotated[Caller, require_page(Permission.SUBMIT_RECORDS)]
CheckerPage = Annotated[Caller, require_page(Permission.RUN_CHECK)]
FeedbackPage = Annotated[Caller, require_page(Permission.CHECK_FEEDBACK)]
AdminPage = Annotated[Caller, require_page(Permission.READ_ARCHIVE)]
CatalogAdminPage = Annotated[Caller, require_page(Permission.MANAGE_CATALOG)]
AccountsAdminPage = Annotated[Caller, require_page(Permission.MANAGE_ACCOUNTS)]
FullArchivePage = Annotated[Caller, require_page(Permission.READ_FULL_ARCHIVE)]
AuditorPage = Annotated[Caller, require_page(Permission.READ_AUDIT)]
InstitutionPage = Annotated[Caller, require_page(Permission.AUTHORIZED_QUERY)]


def workbench_context(session: Session, caller: Caller) -> dict[str, Any]:
    """What every workbench page (部门工作台) shows around its content: the department, the
    links the caller may follow, the names of statuses, channels and formats."""
    return {
        "department_name": department_name(session, caller.actor),
        "can_submit": can(caller.actor, Permission.SUBMIT_RECORDS),
        "can_check": can(caller.actor, Permission.RUN_CHECK),
        "status_names": BATCH_STATUS_NAMES,
        "channel_names": CHANNEL_NAMES,
        "format_names": FORMAT_NAMES,
    }


def _caller_for_error_page(request: Request) -> Caller | None:
    """The logged-in caller, if any, so that an error page keeps the header and offers the
    way back to the caller's own workspace (read only; never raises)."""
    from xinyong.accounts.models import SessionKind
    from xinyong.accounts.services import authenticate_session
    from xinyong.db import session_factory
    from xinyong.web.deps import SESSION_COOKIE

    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with session_factory()() as session:
            return authenticate_session(session, token, SessionKind.COOKIE)
    except Exception:
        return None


def error_page(request: Request, status: int, heading: str | None, message: str) -> HTMLResponse:
    """The site's Chinese error page for a page URL: the layout, the reason, a way back."""
    caller = _caller_for_error_page(request)
    return render(
        request,
        "error.html",
        caller,
        status_code=status,
        status=status,
        heading=heading,
        message=message,
        workspace=workspace_for(caller.actor) if caller else None,
        login_next=request.url.path if status == 401 and caller is None else None,
    )
