"""An authorization a person grants an institution (授权查询)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, JsonDoc, UtcDateTime, created_at, pk


class Authorization(Base):
    __tablename__ = "authorizations"

    id: Mapped[pk]
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"), index=True)
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"), index=True)
    scope: Mapped[list[str]] = mapped_column(JsonDoc)  # Scope values
    purpose: Mapped[str] = mapped_column(String(32))  # Purpose value
    purpose_text: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[dt.date]
    valid_until: Mapped[dt.date]
    repeated: Mapped[bool] = mapped_column(default=False)
    uses: Mapped[int] = mapped_column(default=0)
    granted_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    granted_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The one query occasion of a one-time authorization: when it began, what it read.
    first_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    used_scopes: Mapped[list[str] | None] = mapped_column(JsonDoc)
