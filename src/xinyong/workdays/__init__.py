"""Chinese working days (工作日): statutory holidays and 调休 make-up working days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import chinese_calendar

from xinyong.errors import InvalidInput


class CalendarUnknown(InvalidInput):
    """A date lies beyond the years the holiday calendar knows."""

    code = "calendar_unknown"


class WorkdayCalendar:
    """Working days from the ``chinese-calendar`` package (State Council announcements),
    supplemented by the office's own entries for years the package does not know yet
    (``overrides``: date → True for a working day, False for a day off)."""

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._override_years = {d.year for d in self._overrides}

    def is_workday(self, day: dt.date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year in self._override_years:
                return day.weekday() < 5
            raise CalendarUnknown(
                f"节假日日历尚未包含 {day.year} 年，无法计算工作日期限；"
                "请升级 chinesecalendar 或由信用办录入该年度放假安排"
            ) from None

    def add_workdays(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("days must be ≥ 0")
        day = start
        remaining = days
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count


DEFAULT_CALENDAR = WorkdayCalendar()
