"""Catalog tables. Every catalog entry is versioned; old versions stay."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, JsonDoc, UtcDateTime, created_at, pk, utcnow


class CatalogEntry(Base):
    """One version of one catalog entry of one kind (item, domain, key_group, scenario…)."""

    __tablename__ = "catalog_entries"
    __table_args__ = (UniqueConstraint("kind", "code", "version"),)

    id: Mapped[pk]
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Department(Base):
    """A submitting department or association (数据提供单位)."""

    __tablename__ = "departments"

    id: Mapped[pk]
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="government")
    created_at: Mapped[created_at]
