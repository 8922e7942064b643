"""Shared page plumbing: templates, the logged-in caller, CSRF for forms."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from xinyong.accounts.permissions import PERMISSION_DENIED, Permission, can
from xinyong.accounts.services import Caller
from xinyong.actors import ROLE_LABELS
from xinyong.config import get_settings

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def localtime(value: dt.datetime | None) -> str:
    """Stored UTC shown as Beijing time (STYLE: Asia/Shanghai for display)."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


templates.env.filters["localtime"] = localtime


def may(actor: object, permission: str) -> bool:
    """For templates: whether the logged-in actor holds ``permission`` (the one table)."""
    from xinyong.actors import Actor

    return isinstance(actor, Actor) and can(actor, Permission(permission))


templates.env.globals["may"] = may

LOGIN_CSRF_COOKIE = "xy_login_csrf"

# Links in the main navigation after the portal's own; a page module adds its entry when
# its service exists (报告核验, 信用举报).
EXTRA_NAV: list[tuple[str, str]] = []


def render(
    request: Request,
    template: str,
    caller: Caller | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    base = {
        "city": get_settings().city_name,
        "caller": caller,
        "actor": caller.actor if caller else None,
        "role_name": ROLE_LABELS.get(caller.actor.role, "") if caller else "",
        "csrf_token": caller.csrf_token if caller else None,
        "extra_nav": EXTRA_NAV,
    }
    return templates.TemplateResponse(request, template, base | context, status_code=status_code)


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
        request, "error.html", caller, status_code=403, heading="无权访问", message=message
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
