"""Request-scoped dependencies: the unit of work and the authenticated caller.

A caller authenticates with an API key (``X-Api-Key`` or ``Authorization: Bearer xy_…``),
a login token (``Authorization: Bearer xs_…``) or the browser's session cookie. Cookie
requests that change something must echo the session's CSRF token (header
``X-CSRF-Token`` or form field ``csrf_token``); API keys and bearer tokens are not sent by
browsers on their own and need none.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from xinyong.accounts.models import SessionKind
from xinyong.accounts.permissions import Permission, require
from xinyong.accounts.services import (
    Caller,
    authenticate_api_key,
    authenticate_bearer,
    authenticate_session,
)
from xinyong.actors import Actor, Role
from xinyong.db import request_session
from xinyong.errors import Forbidden, Unauthorized, XinyongError

log = logging.getLogger("xinyong.web.auth")

MAX_ID = 2**63 - 1  # BIGINT: larger ids cannot exist and must not reach the driver
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]

SESSION_COOKIE = "xy_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


ON_ROLLBACK = "xinyong.on_rollback"


def on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """``undo`` runs if the request's work is rolled back, its commit included (a stored
    upload that no queued batch will ever read)."""
    session.info.setdefault(ON_ROLLBACK, []).append(undo)


def _roll_back(session: Session) -> None:
    session.rollback()
    for undo in session.info.pop(ON_ROLLBACK, []):
        undo()


def may_write(request: Request) -> bool:
    """Whether the request may write: it changes something, or it carries a credential
    (what a caller reads of a person is recorded: queries.recorder)."""
    if request.method not in SAFE_METHODS:
        return True
    headers = request.headers
    return bool(
        headers.get("x-api-key")
        or headers.get("authorization")
        or request.cookies.get(SESSION_COOKIE)
    )


def get_session(request: Request) -> Iterator[Session]:
    """The unit of work: one transaction per request, committed when the handler returns,
    else rolled back; the only place a request commits. A domain error marked
    ``errors.keep_work`` (a refused query's audit trail, a failed login's count) commits
    what was done before it, then goes out as the error.
    A request that may write takes SQLite's write lock when it begins
    (db.request_session): a POST/PUT/DELETE, and any request with a credential — a read of
    a person's data is logged, and a transaction that read before its first write fails at
    once (SQLITE_BUSY_SNAPSHOT) when another writer committed meanwhile, instead of waiting.
    An anonymous GET (portal pages) reads without the lock. An upload (multipart) takes it
    once its file is stored (db.begin_writing)."""
    streams = request.headers.get("content-type", "").startswith("multipart/form-data")
    session = request_session(writes=may_write(request) and not streams)
    try:
        yield session
        session.commit()
    except XinyongError as exc:
        if exc.work_kept:
            try:
                session.commit()
            except BaseException:
                _roll_back(session)
                raise
        else:
            _roll_back(session)
        raise
    except BaseException:
        _roll_back(session)
        raise
    finally:
        session.close()


def undo_failed_work(session: Session, exc: XinyongError) -> None:
    """After a domain error a handler answers itself (a page showing the reason): roll back
    the request's work, unless the error keeps it (``errors.keep_work``)."""
    if not exc.work_kept:
        session.rollback()


# scope="function": commit before the response is sent, so that a browser following a
# redirect after a POST reads what the POST wrote (the default exits after sending).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def _csrf_token_sent(request: Request) -> str | None:
    sent = request.headers.get(CSRF_HEADER)
    if sent:
        return sent
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def read_form(request: Request) -> FormData:
    """The posted form, read on the event loop (files spooled to disk by Starlette) before
    the handler runs: handlers that take it are plain ``def``, run in a worker thread, so
    that no database work (on SQLite, waiting for the write lock) blocks the loop."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def request_secret(authorization: str | None, x_api_key: str | None) -> str | None:
    """The API key or login token a request carries: ``X-Api-Key``, else the
    ``Authorization: Bearer`` credential; ``None`` without either header."""
    if x_api_key:
        return x_api_key
    if authorization:
        if not authorization.lower().startswith("bearer "):
            raise Unauthorized("Authorization 头须为 Bearer 令牌", code="bad_authorization")
        return authorization[7:].strip()
    return None


def authenticate_request(
    session: Session, authorization: str | None, x_api_key: str | None, cookie: str | None
) -> tuple[Caller | None, bool]:
    """The caller a request's credentials name, and whether it came by the session cookie
    (which then needs the CSRF token on a change: ``require_csrf``). ``(None, False)``
    when the request carries no credential, or only an expired or ended session (simply
    not logged in). Synchronous: the check route calls it from a worker thread."""
    if x_api_key:
        return Caller(actor=authenticate_api_key(session, x_api_key)), False
    if authorization:
        secret = request_secret(authorization, None) or ""
        return Caller(actor=authenticate_bearer(session, secret)), False
    if not cookie:
        return None, False
    try:
        return authenticate_session(session, cookie, SessionKind.COOKIE), True
    except Unauthorized:
        return None, False


def require_csrf(caller: Caller, sent: str | None, path: str) -> None:
    """A change made by the session cookie echoes the session's CSRF token."""
    if not sent or not hmac.compare_digest(sent, caller.csrf_token or ""):
        log.warning("csrf refused actor=%s path=%s", caller.actor.name, path)
        raise Forbidden("页面已失效（缺少或错误的防伪令牌），请刷新后重试", code="csrf_failed")


def _credentials(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> tuple[Caller | None, bool]:
    # A plain ``def``: FastAPI runs it in a worker thread. Nothing that touches the
    # database may run on the event loop: on SQLite a write request's first statement
    # waits for the write lock (BEGIN IMMEDIATE), and a loop blocked there cannot finish
    # the request that holds it (the lock would be released only by the busy timeout).
    return authenticate_request(
        session, authorization, x_api_key, request.cookies.get(SESSION_COOKIE)
    )


async def get_caller_or_none(
    request: Request, credentials: Annotated[tuple[Caller | None, bool], Depends(_credentials)]
) -> Caller | None:
    """The caller, or ``None`` when the request carries no credential at all."""
    caller, by_cookie = credentials
    if caller is not None and by_cookie and request.method not in SAFE_METHODS:
        require_csrf(caller, await _csrf_token_sent(request), request.url.path)
    return caller


OptionalCallerDep = Annotated[Caller | None, Depends(get_caller_or_none)]


def get_caller(caller: OptionalCallerDep) -> Caller:
    return logged_in(caller)


def logged_in(caller: Caller | None) -> Caller:
    """The caller; refused (401) when the request carried no valid credential."""
    if caller is None:
        raise Unauthorized("请先登录或提供 API 密钥", code="not_authenticated")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_actor(caller: CallerDep) -> Actor:
    return caller.actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_admin(actor: ActorDep) -> Actor:
    if not actor.is_admin:
        raise Forbidden("仅信用办可以访问", code="admin_only")
    return actor


AdminDep = Annotated[Actor, Depends(require_admin)]


def require_person(actor: ActorDep) -> Actor:
    if actor.role != Role.PERSON or actor.subject_id is None:
        raise Forbidden("仅信息主体本人可以访问", code="person_only")
    return actor


PersonDep = Annotated[Actor, Depends(require_person)]


def permission(perm: Permission) -> Any:
    """A dependency that lets the request through only with ``perm``."""

    def check(actor: ActorDep) -> Actor:
        return require(actor, perm)

    return Depends(check)


SubmitterDep = Annotated[Actor, permission(Permission.SUBMIT_RECORDS)]
SubmissionsReaderDep = Annotated[Actor, permission(Permission.VIEW_SUBMISSIONS)]
LookupDep = Annotated[Actor, permission(Permission.LOOKUP_SUBJECT)]
ArchiveAdminDep = Annotated[Actor, permission(Permission.READ_ARCHIVE)]
CheckerDep = Annotated[Actor, permission(Permission.RUN_CHECK)]
FeedbackDep = Annotated[Actor, permission(Permission.CHECK_FEEDBACK)]
AccountsAdminDep = Annotated[Actor, permission(Permission.MANAGE_ACCOUNTS)]
InstitutionDep = Annotated[Actor, permission(Permission.AUTHORIZED_QUERY)]
AuditorDep = Annotated[Actor, permission(Permission.READ_AUDIT)]
