"""API keys: a random secret shown once, stored as its SHA-256."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk


class KeyRole(enum.StrEnum):
    ADMIN = "admin"  # 信用办
    DEPARTMENT = "department"  # 部门业务系统


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[pk]
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
