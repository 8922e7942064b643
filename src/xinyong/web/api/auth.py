"""Logging in and signing up through the API (bearer tokens)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from xinyong.accounts.models import SessionKind
from xinyong.accounts.services import (
    authenticate_password,
    close_session,
    open_session,
    register_person,
)
from xinyong.actors import ROLE_LABELS
from xinyong.identity.protection import protector_for
from xinyong.web.deps import SESSION_COOKIE, CallerDep, SessionDep
from xinyong.web.ratelimit import client_address, limiter

router = APIRouter(tags=["登录 auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenRead(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: str
    role: str


@router.post("/auth/token", response_model=TokenRead)
def token(request: Request, body: Credentials, session: SessionDep) -> Any:
    """A bearer token for the API. Wrong credentials: 401 with one message for every cause;
    repeated failures lock the account with back-off. Attempts are rate-limited per client
    address and per username (429 with Retry-After)."""
    limiter.hit("login", "ip:" + client_address(request))
    limiter.hit("login", "user:" + body.username.lower())
    user = authenticate_password(session, body.username, body.password)  # failures kept
    opened = open_session(session, user, SessionKind.BEARER)
    return {
        "token": opened.token,
        "expires_at": opened.expires_at.isoformat(),
        "role": user.role,
    }


@router.post("/auth/logout", status_code=204)
def logout(request: Request, session: SessionDep, caller: CallerDep) -> None:
    """Ends the current login session or bearer token."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        close_session(session, header[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        close_session(session, cookie)


class Registration(BaseModel):
    id_number: str = Field(min_length=1, max_length=32, description="居民身份证号码")
    name: str = Field(min_length=1, max_length=50)
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class AccountRead(BaseModel):
    username: str
    display_name: str
    role: str
    role_name: str


@router.post("/auth/register", response_model=AccountRead, status_code=201)
def register(body: Registration, session: SessionDep) -> Any:
    """A person signs up; real-name verification binds the account to their archive."""
    user = register_person(
        session,
        protector_for(),
        id_number=body.id_number,
        name=body.name,
        username=body.username,
        password=body.password,
    )
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_name": ROLE_LABELS[user.role],
    }
