"""Shared page plumbing: templates, the logged-in caller, CSRF for forms."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from xinyong.accounts.permissions import PERMISSION_DENIED, Permission, can
from xinyong.accounts.services import Caller
from xinyong.actors import ROLE_LABELS, actor_label
from xinyong.config import get_settings

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


def page_access(
    request: Request, caller: Caller | None, permission: Permission
) -> Caller | HTMLResponse | RedirectResponse:
    """The logged-in caller holding ``permission``; else the login redirect or a 403 page."""
    if caller is None:
        return login_redirect(request)
    if not can(caller.actor, permission):
        return forbidden_page(request, caller, PERMISSION_DENIED[permission])
    return caller


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
