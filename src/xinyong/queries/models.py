"""The query log: every read of a person's data, with who, why and on what basis."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, JsonDoc, UtcDateTime, pk, utcnow


class QueryBasis(enum.StrEnum):
    SELF = "self"  # 本人查询
    LEGAL_DUTY = "legal_duty"  # 依法履职 / 政务共享
    AUTHORIZATION = "authorization"  # 授权查询
    ADMINISTRATION = "administration"  # 信用办管理


class QueryLog(Base):
    """On PostgreSQL range-partitioned by ``queried_at``, one partition a year, primary key
    ``(id, queried_at)`` (migration 0013, ``xinyong.partitions``)."""

    __tablename__ = "query_log"

    id: Mapped[pk]
    # No foreign key: every read logged is of a subject just read (migration 0014).
    subject_id: Mapped[int] = mapped_column(BigId, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100))  # 业务编号 of a department read
    basis: Mapped[str] = mapped_column(String(32))
    authorization_id: Mapped[int | None] = mapped_column(BigId)
    returned: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    queried_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
