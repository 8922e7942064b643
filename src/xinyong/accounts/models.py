"""Accounts (DOMAIN §2): people who log in, institutions, web sessions and API keys.

A person's account is bound to their archive (``subject_id``) by real-name verification;
it never stores the identity number itself. Passwords are argon2id hashes; session and
API-key secrets are stored only as SHA-256 digests.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk


class KeyRole(enum.StrEnum):
    """Who an API key acts for."""

    ADMIN = "admin"  # 信用办
    DEPARTMENT = "department"  # 部门业务系统
    INSTITUTION = "institution"  # 授权查询机构的业务系统
    PLATFORM = "platform"  # 下级信用平台（共享交换）


class Institution(Base):
    """An organisation that queries persons' credit with their authorization (银行、用人单位…)."""

    __tablename__ = "institutions"

    id: Mapped[pk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    credit_code: Mapped[str | None] = mapped_column(String(18))
    created_at: Mapped[created_at]


class User(Base):
    __tablename__ = "users"

    id: Mapped[pk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    institution_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("institutions.id"))
    subject_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("subjects.id"), unique=True
    )  # a person's own archive, bound by real-name verification
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[created_at]
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class SessionKind(enum.StrEnum):
    COOKIE = "cookie"  # browser session, CSRF-protected
    BEARER = "bearer"  # API bearer token from /api/v1/auth/token


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[pk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[pk]
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    institution_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("institutions.id"))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
