"""Accounts: creating users, logging in, sessions, API keys, and who the caller is.

Secrets (session tokens, API keys) are random, shown once, and stored only as SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xinyong.accounts.models import (
    ApiKey,
    Institution,
    KeyRole,
    LoginSession,
    SessionKind,
    User,
)
from xinyong.accounts.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from xinyong.accounts.realname import RealNameVerifier, configured_verifier
from xinyong.actors import DEPARTMENT_ROLES, SYSTEM, Actor, Role
from xinyong.audit.services import record_event
from xinyong.catalog.models import Department
from xinyong.config import get_settings
from xinyong.db import utcnow
from xinyong.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized, keep_work
from xinyong.identity.protection import IdentityProtector
from xinyong.subjects.services import ensure_person, link_alias

log = logging.getLogger("xinyong.accounts")

KEY_PREFIX = "xy_"
TOKEN_PREFIX = "xs_"
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- institutions -------------------------------------------------------------------------


def ensure_institution(session: Session, name: str, credit_code: str | None = None) -> Institution:
    name = name.strip()
    if not name:
        raise InvalidInput("机构名称不能为空", code="institution_name_required")
    found = session.scalar(select(Institution).where(Institution.name == name))
    if found is not None:
        return found
    institution = Institution(name=name[:200], credit_code=credit_code)
    session.add(institution)
    session.flush()
    return institution


def institution_by_name(session: Session, name: str) -> Institution:
    found = session.scalar(select(Institution).where(Institution.name == name.strip()))
    if found is None:
        raise NotFound(f"机构“{name}”不存在", code="institution_not_found")
    return found


# --- users ----------------------------------------------------------------------------------


def _department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(f"部门“{code}”不存在", code="department_not_found")
    return dept


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    department_code: str | None = None,
    institution_name: str | None = None,
    subject_id: int | None = None,
    by: Actor | None = None,
) -> User:
    """An account of any role except person (persons sign up with real-name verification).

    ``by``: who creates it, for the audit trail (the platform itself when not given)."""
    if not USERNAME.match(username):
        raise InvalidInput(
            "用户名须为 3–64 位字母、数字、下划线、点或连字符", code="invalid_username"
        )
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise InvalidInput(f"角色“{role}”不存在", code="unknown_role") from exc
    if role_value is Role.SYSTEM or role_value is Role.DEPARTMENT:
        raise InvalidInput("部门业务系统和系统角色使用 API 密钥，不能创建登录账号", code="bad_role")
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, code="weak_password")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名“{username}”已被使用", code="username_taken")
    department_id = None
    institution_id = None
    if role_value in DEPARTMENT_ROLES:
        if not department_code:
            raise InvalidInput("部门账号须指定所属部门", code="department_required")
        department_id = _department(session, department_code).id
    if role_value is Role.INSTITUTION:
        if not institution_name:
            raise InvalidInput("机构账号须指定所属机构", code="institution_required")
        institution_id = ensure_institution(session, institution_name).id
    if role_value is Role.PERSON and subject_id is None:
        raise InvalidInput("个人账号须经实名核验绑定本人档案", code="realname_required")
    if subject_id is not None and session.scalar(
        select(User.id).where(User.subject_id == subject_id)
    ):
        raise Conflict("该身份证号已注册账号", code="person_already_registered")
    user = User(
        username=username,
        display_name=(display_name or username)[:100],
        role=role_value.value,
        department_id=department_id,
        institution_id=institution_id,
        subject_id=subject_id,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    record_event(session, by or SYSTEM, "accounts:user:created", target_type="user", target_id=user.id, details={"username": username, "role": role_value.value, "department_id": department_id, "institution_id": institution_id})  # fmt: skip
    return user


def register_person(
    session: Session,
    protector: IdentityProtector,
    *,
    id_number: str,
    name: str,
    username: str,
    password: str,
    verifier: RealNameVerifier | None = None,
) -> User:
    """A person signs up: real-name verification binds the account to their archive."""
    verifier = verifier or configured_verifier()
    if not name.strip():
        raise InvalidInput("请填写姓名", code="name_required")
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, code="weak_password")
    if not verifier.verify(session, protector, id_number, name):
        log.info("real-name verification refused")
        raise Forbidden("实名核验未通过：姓名与身份证号不一致", code="realname_failed")
    subject = ensure_person(session, protector, id_number, name)
    other_documents = getattr(verifier, "other_documents", None)
    if other_documents is not None:
        for id_type, number in other_documents(session, protector, id_number):
            link_alias(session, protector, subject, id_type, number)
    return create_user(
        session,
        username=username,
        password=password,
        role=Role.PERSON,
        display_name=subject.name,
        subject_id=subject.id,
        by=Actor(name=f"user:{username}", role=Role.PERSON, channel="web"),
    )


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户“{username}”不存在", code="user_not_found")
    return user


def set_active(session: Session, username: str, active: bool, by: Actor | None = None) -> User:
    user = get_user(session, username)
    record_event(session, by or SYSTEM, "accounts:user:" + ("enabled" if active else "disabled"), target_type="user", target_id=user.id, details={"username": username})  # fmt: skip
    user.is_active = active
    if not active:
        session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    session.flush()
    return user


def set_password(session: Session, username: str, password: str, by: Actor | None = None) -> User:
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, code="weak_password")
    user = get_user(session, username)
    record_event(session, by or SYSTEM, "accounts:user:password_set", target_type="user", target_id=user.id, details={"username": username})  # fmt: skip
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return user


def lockout_minutes(failed: int, threshold: int) -> int:
    """Back-off after too many failures: 1, 2, 4 … minutes, capped at a day. Pure."""
    if failed < threshold:
        return 0
    return int(min(2 ** (failed - threshold), 24 * 60))


def authenticate_password(
    session: Session, username: str, password: str, channel: str = "api"
) -> User:
    """The user if the password is right. Wrong or locked: one message that reveals nothing.

    A failure is counted (and audited) and its error marked ``keep_work``: the count
    stands although the request fails (the web's unit of work commits it).
    """
    settings = get_settings()
    user = session.scalar(select(User).where(User.username == username))
    now = utcnow()
    who = Actor(name=f"user:{username[:64]}", role=user.role if user else "unknown", channel=channel, user_id=user.id if user else None)  # fmt: skip
    if user is None:
        verify_password(DUMMY_HASH, password)  # same time as a real check
        record_event(session, who, "accounts:login:failed", target_type="user", details={"reason": "unknown_user"})  # fmt: skip
        raise keep_work(Unauthorized("用户名或密码错误", code="bad_credentials"))
    if user.locked_until is not None and user.locked_until > now:
        record_event(session, who, "accounts:login:refused", target_type="user", target_id=user.id, details={"reason": "locked"})  # fmt: skip
        raise keep_work(
            Unauthorized("登录失败次数过多，账号已暂时锁定，请稍后再试", code="account_locked")
        )
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        minutes = lockout_minutes(user.failed_logins, settings.max_failed_logins)
        if minutes:
            user.locked_until = now + dt.timedelta(minutes=minutes)
        session.flush()
        log.info("failed login user_id=%s failures=%s", user.id, user.failed_logins)
        record_event(session, who, "accounts:login:failed", target_type="user", target_id=user.id, details={"reason": "bad_password", "failures": user.failed_logins, "locked_minutes": minutes})  # fmt: skip
        raise keep_work(Unauthorized("用户名或密码错误", code="bad_credentials"))
    if not user.is_active:
        record_event(session, who, "accounts:login:refused", target_type="user", target_id=user.id, details={"reason": "disabled"})  # fmt: skip
        raise keep_work(Unauthorized("账号已停用，请联系信用办", code="account_disabled"))
    record_event(session, who, "accounts:login:succeeded", target_type="user", target_id=user.id)  # fmt: skip
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


# --- sessions and tokens -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenedSession:
    token: str  # the secret; shown once
    csrf_token: str
    expires_at: dt.datetime


def open_session(session: Session, user: User, kind: SessionKind) -> OpenedSession:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = utcnow() + dt.timedelta(hours=get_settings().session_hours)
    session.add(
        LoginSession(
            token_hash=_hash(token),
            kind=kind.value,
            user_id=user.id,
            csrf_token=csrf,
            expires_at=expires,
        )
    )
    session.flush()
    return OpenedSession(token=token, csrf_token=csrf, expires_at=expires)


def close_session(session: Session, token: str) -> None:
    session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == _hash(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of a request and, for cookie sessions, its CSRF token."""

    actor: Actor
    csrf_token: str | None = None  # set for cookie sessions: unsafe methods must echo it
    user: User | None = None


def actor_for_user(session: Session, user: User, channel: str) -> Actor:
    dept_code = None
    organisation = None
    if user.department_id is not None:
        dept = session.get(Department, user.department_id)
        dept_code = dept.code if dept else None
        organisation = dept.name if dept else None
    if user.institution_id is not None:
        inst = session.get(Institution, user.institution_id)
        organisation = inst.name if inst else None
    return Actor(
        name=f"user:{user.username}",
        role=user.role,
        department_id=user.department_id,
        department_code=dept_code,
        channel=channel,
        user_id=user.id,
        subject_id=user.subject_id,
        organisation=organisation,
        institution_id=user.institution_id,
    )


def authenticate_session(session: Session, token: str | None, kind: SessionKind) -> Caller:
    if not token:
        raise Unauthorized("请先登录", code="not_logged_in")
    found = session.scalar(select(LoginSession).where(LoginSession.token_hash == _hash(token)))
    if found is None or found.kind != kind.value:
        raise Unauthorized("登录状态无效，请重新登录", code="invalid_session")
    if found.revoked_at is not None:
        raise Unauthorized("已退出登录，请重新登录", code="session_revoked")
    if found.expires_at <= utcnow():
        raise Unauthorized("登录已过期，请重新登录", code="session_expired")
    user = session.get(User, found.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("账号已停用，请联系信用办", code="account_disabled")
    channel = "web" if kind is SessionKind.COOKIE else "api"
    return Caller(
        actor=actor_for_user(session, user, channel),
        csrf_token=found.csrf_token if kind is SessionKind.COOKIE else None,
        user=user,
    )


# --- API keys --------------------------------------------------------------------------------


def issue_api_key(
    session: Session,
    role: KeyRole,
    label: str,
    department: Department | None = None,
    expires_at: dt.datetime | None = None,
    institution: Institution | None = None,
    by: Actor | None = None,
) -> str:
    """Create a key and return the secret; only its hash is stored."""
    if role is KeyRole.DEPARTMENT and department is None:
        raise InvalidInput("部门业务系统的密钥须绑定部门", code="department_required")
    if role is KeyRole.INSTITUTION and institution is None:
        raise InvalidInput("机构密钥须绑定机构", code="institution_required")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            prefix=secret[:10],
            key_hash=_hash(secret),
            role=role.value,
            department_id=department.id if department else None,
            institution_id=institution.id if institution else None,
            label=label,
            expires_at=expires_at,
        )
    )
    session.flush()
    record_event(session, by or SYSTEM, "accounts:apikey:issued", target_type="api_key", target_id=secret[:10], details={"role": role.value, "department_id": department.id if department else None, "institution_id": institution.id if institution else None, "label": label})  # fmt: skip
    return secret


def authenticate_api_key(session: Session, secret: str | None) -> Actor:
    if not secret:
        raise Unauthorized("缺少 API 密钥", code="missing_api_key")
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(secret)))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("API 密钥无效或已吊销", code="invalid_api_key")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise Unauthorized("API 密钥已过期", code="expired_api_key")
    dept_code = None
    organisation = None
    if key.department_id is not None:
        dept = session.get(Department, key.department_id)
        dept_code = dept.code if dept else None
        organisation = dept.name if dept else None
    if key.institution_id is not None:
        inst = session.get(Institution, key.institution_id)
        organisation = inst.name if inst else None
    if key.role == KeyRole.PLATFORM:
        organisation = key.label  # the lower platform's code, e.g. its region code
    return Actor(
        name=f"apikey:{key.prefix}",
        role=key.role,
        department_id=key.department_id,
        department_code=dept_code,
        channel="api",
        organisation=organisation,
        institution_id=key.institution_id,
    )


def authenticate_bearer(session: Session, secret: str) -> Actor:
    """An ``Authorization: Bearer`` credential: a login token (xs_…) or an API key (xy_…)."""
    if secret.startswith(TOKEN_PREFIX):
        return authenticate_session(session, secret, SessionKind.BEARER).actor
    return authenticate_api_key(session, secret)
