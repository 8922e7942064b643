"""Holiday schedules the credit office loaded (节假日安排), one version per load of a year."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, JsonDoc, UtcDateTime, pk, utcnow


class HolidaySchedule(Base):
    """One version of one year's State Council schedule; old versions stay."""

    __tablename__ = "holiday_schedules"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: Mapped[pk]
    year: Mapped[int]
    version: Mapped[int]
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    # ISO dates → holiday name ("" when the file names none)
    off_days: Mapped[dict[str, str]] = mapped_column(JsonDoc)  # 放假
    work_days: Mapped[dict[str, str]] = mapped_column(JsonDoc)  # 调休上班
    notice: Mapped[str | None] = mapped_column(String(200))  # 通知名称或文号
    source: Mapped[str] = mapped_column(String(200))  # the file's name
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
