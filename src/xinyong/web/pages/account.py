"""Login, sign-up and the personal centre's account pages (授权, 查询记录)."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from xinyong.accounts.models import Institution, SessionKind
from xinyong.accounts.services import (
    Caller,
    authenticate_password,
    close_session,
    open_session,
    register_person,
)
from xinyong.authorizations import services as authz
from xinyong.authorizations.rules import PURPOSE_LABELS, SCOPE_LABELS
from xinyong.config import get_settings
from xinyong.errors import XinyongError
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.lists.models import ENTRY_STATUS_NAMES, LIST_NAMES
from xinyong.lists.procedure import procedures_of_subject
from xinyong.notices import interviews as interview_service
from xinyong.notices import services as notice_service
from xinyong.notices.services import notices_of
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import query_log_view
from xinyong.reads import read_lists, read_score
from xinyong.records.services import read_archive
from xinyong.subjects.services import get_subject
from xinyong.web.api.me import SELF_PURPOSE, authorization_as_dict
from xinyong.web.deps import SESSION_COOKIE, FormDep, OptionalCallerDep, PathId, SessionDep
from xinyong.web.pages.common import (
    LOGIN_CSRF_COOKIE,
    SHANGHAI,
    WORKSPACES,
    LoggedInPage,
    OwnArchivePage,
    PersonPage,
    flash_redirect,
    render,
    render_with_login_csrf,
    safe_next,
)
from xinyong.web.ratelimit import client_address, limiter

router = APIRouter(include_in_schema=False)

LIST_STATUS_NAMES: dict[str, str] = {s.value: n for s, n in ENTRY_STATUS_NAMES.items()}


def _home_for(role: str) -> str:
    """Where a role lands after login: its own workspace (common.WORKSPACES), not the
    public portal."""
    entry = WORKSPACES.get(role)
    return entry[0] if entry else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return render_with_login_csrf(
        request,
        "account/login.html",
        next=safe_next(next, ""),
        registered=request.query_params.get("registered") == "1",
    )


def login_csrf_ok(request: Request, sent: str) -> bool:
    """The double-submit CSRF check of forms used without a session (login, tip-offs)."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, sent)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    if not login_csrf_ok(request, csrf_token):
        return _login_error(request, "页面已失效，请刷新后重新登录", next, 403)
    try:
        limiter.hit("login", "ip:" + client_address(request))
        limiter.hit("login", "user:" + username.lower())
    except XinyongError as exc:
        return _login_error(request, exc.message, next, exc.http_status)
    try:
        user = authenticate_password(session, username, password, channel="web")
    except XinyongError as exc:  # the failure count is kept: the page returns normally
        return _login_error(request, exc.message, next, 401)
    opened = open_session(session, user, SessionKind.COOKIE)
    response = RedirectResponse(safe_next(next, _home_for(user.role)), status_code=303)
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _login_error(request: Request, message: str, next: str, status: int) -> Response:
    return render_with_login_csrf(
        request, "account/login.html", status, error=message, next=safe_next(next, "")
    )


@router.post("/logout")
def logout(request: Request, session: SessionDep, caller: OptionalCallerDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if caller is not None and token:
        close_session(session, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request) -> Response:
    return render_with_login_csrf(request, "account/register.html")


@router.post("/register", response_class=HTMLResponse)
def register(
    request: Request,
    session: SessionDep,
    id_number: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=50)],
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    error = None
    if not login_csrf_ok(request, csrf_token):
        error = "页面已失效，请刷新后重试"
    else:
        try:
            register_person(
                session,
                protector_for(),
                id_number=id_number,
                name=name,
                username=username,
                password=password,
            )
        except XinyongError as exc:
            session.rollback()
            error = exc.message
    if error:
        return render_with_login_csrf(
            request, "account/register.html", 422, error=error, name=name, username=username
        )
    return RedirectResponse("/login?registered=1", status_code=303)


@router.get("/me", response_class=HTMLResponse)
def personal_centre(request: Request, session: SessionDep, caller: PersonPage) -> Response:
    from xinyong.web.pages.remedies import personal_remedies

    actor = caller.actor
    assert actor.subject_id is not None  # PersonPage
    subject = get_subject(session, actor.subject_id)
    archive = read_archive(
        session,
        actor,
        protector_for(),
        subject,
        audience=Audience.SELF,
        purpose=SELF_PURPOSE,
        basis=QueryBasis.SELF,
    ).as_dict()
    score = read_score(session, actor, subject.id, purpose=SELF_PURPOSE, basis=QueryBasis.SELF)
    lists = read_lists(
        session,
        actor,
        subject.id,
        audience=Audience.SELF,
        purpose=SELF_PURPOSE,
        basis=QueryBasis.SELF,
    )
    trend = {
        "score": {
            "labels": [h["computed_on"] for h in score["history"]],
            "series": {"诚信积分": [h["score"] for h in score["history"]]},
        }
    }
    return render(
        request,
        "account/me.html",
        caller,
        archive=archive,
        score=score,
        queries=query_log_view(session, subject.id, limit=50),
        lists=lists,
        procedures=procedures_of_subject(session, subject.id),  # 告知 and 陈述申辩
        list_names=LIST_NAMES,
        list_status_names=LIST_STATUS_NAMES,
        notices=notices_of(session, subject.id)[:50],
        interviews=_interviews(session, caller),
        trend=trend,
        **personal_remedies(session, caller),
        authorizations=[
            authorization_as_dict(session, a)
            for a in authz.authorizations_of_subject(session, subject.id)
        ],
        institutions=list(session.scalars(select(Institution).order_by(Institution.name))),
        scopes=SCOPE_LABELS,
        purposes=PURPOSE_LABELS,
        today=dt.date.today().isoformat(),
        default_until=(dt.date.today() + dt.timedelta(days=30)).isoformat(),
    )


@router.post("/me/authorizations")
def grant_authorization(
    request: Request, form: FormDep, session: SessionDep, caller: LoggedInPage
) -> Response:
    try:
        until = dt.date.fromisoformat(str(form.get("valid_until", "")))
    except ValueError:
        return flash_redirect(request, "/me#authorizations", "授权截止日期格式不正确")
    try:
        authz.grant(
            session,
            caller.actor,
            institution_id=int(str(form.get("institution_id", "0")) or 0),
            scope=[str(s) for s in form.getlist("scope")],
            purpose=str(form.get("purpose", "")),
            purpose_text=str(form.get("purpose_text", "")) or None,
            valid_until=until,
            repeated=form.get("repeated") == "on",
        )
    except (XinyongError, ValueError) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, XinyongError) else "授权信息不完整"
        return flash_redirect(request, "/me#authorizations", message)
    return flash_redirect(request, "/me#authorizations", "已授权")


@router.post("/me/authorizations/{authorization_id}/revoke")
def revoke_authorization(
    authorization_id: int, request: Request, session: SessionDep, caller: LoggedInPage
) -> Response:
    try:
        authz.revoke(session, caller.actor, authorization_id)
    except XinyongError as exc:
        session.rollback()
        return flash_redirect(request, "/me#authorizations", exc.message)
    return flash_redirect(request, "/me#authorizations", "已撤回授权")


def _interviews(session: SessionDep, caller: Caller) -> list[dict[str, Any]]:
    """The person's interviews (约谈): when, where, why; the read is in their query log."""
    assert caller.actor.subject_id is not None
    rows = interview_service.interviews_of(session, caller.actor, caller.actor.subject_id)
    for row in rows:
        row["local_time"] = dt.datetime.fromisoformat(row["held_at"]).astimezone(SHANGHAI)
    return sorted(rows, key=lambda r: r["held_at"], reverse=True)


# -- the notice inbox (信用告知) ------------------------------------------------------------


def _notices_answer(request: Request, session: SessionDep, caller: Caller) -> Response:
    """htmx swaps the inbox in place; a plain form post goes back to the personal centre."""
    if request.headers.get("hx-request") == "true":
        assert caller.actor.subject_id is not None
        notices = notices_of(session, caller.actor.subject_id)[:50]
        return render(request, "account/_notices.html", caller, notices=notices)
    return flash_redirect(request, "/me#notices", "已标为已读")


@router.post("/me/notices/{notice_id}/read")
def notice_read(
    notice_id: PathId, request: Request, session: SessionDep, access: OwnArchivePage
) -> Response:
    notice_service.mark_read(session, access.actor, notice_id)
    return _notices_answer(request, session, access)


@router.post("/me/notices/read")
def notices_all_read(request: Request, session: SessionDep, access: OwnArchivePage) -> Response:
    """全部标为已读."""
    notice_service.mark_all_read(session, access.actor)
    return _notices_answer(request, session, access)
