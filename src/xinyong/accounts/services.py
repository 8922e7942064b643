"""API key issue and authentication."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.models import ApiKey, KeyRole
from xinyong.actors import Actor
from xinyong.catalog.models import Department
from xinyong.db import utcnow
from xinyong.errors import Unauthorized

KEY_PREFIX = "xy_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(
    session: Session,
    role: KeyRole,
    label: str,
    department: Department | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """Create a key and return the secret; only its hash is stored."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            prefix=secret[:10],
            key_hash=_hash(secret),
            role=role.value,
            department_id=department.id if department else None,
            label=label,
            expires_at=expires_at,
        )
    )
    session.flush()
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
    if key.department_id is not None:
        dept = session.get(Department, key.department_id)
        dept_code = dept.code if dept else None
    return Actor(
        name=f"apikey:{key.prefix}",
        role=key.role,
        department_id=key.department_id,
        department_code=dept_code,
        channel="api",
    )
