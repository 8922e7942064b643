"""Chinese working days (工作日): statutory holidays and 调休 make-up working days.

Where a year's answer comes from, in order:

1. a schedule the credit office loaded (``xinyong calendar load``, the console's 节假日安排
   page): the State Council's 放假 and 调休上班 dates for that year, as published each autumn;
2. the schedules the platform ships, from the ``chinese-calendar`` package (2004–2026 as of
   this release);
3. for any other year, the provisional rule (暂定): the statutory holidays of
   《全国年节及纪念日放假办法》 as amended in 2024 and the weekends are days off, with no
   make-up working days and no day off in lieu of a holiday falling on a weekend — the State
   Council's adjustments cannot be known before it publishes them. A deadline whose count ran
   through such a year is provisional and is recomputed when that year's schedule is loaded.

A deadline is never refused for lack of a calendar. This module is pure: the loaded schedules
are read from the database by :mod:`xinyong.workdays.services` and handed in.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

import chinese_calendar
from lunar_python import Lunar


class YearSource(enum.StrEnum):
    LOADED = "loaded"  # 信用办载入
    SHIPPED = "shipped"  # 随平台提供
    PROVISIONAL = "provisional"  # 暂定（按法定节假日推算）


YEAR_SOURCE_NAMES = {
    YearSource.LOADED: "信用办载入",
    YearSource.SHIPPED: "随平台提供",
    YearSource.PROVISIONAL: "暂定（按法定节假日推算）",
}

PROVISIONAL_MARK = "暂定"


@dataclass(frozen=True)
class YearSchedule:
    """One year's State Council schedule: 放假 dates (weekends inside a holiday block
    included or not, it makes no difference) and 调休上班 dates (weekend days worked)."""

    year: int
    off_days: frozenset[dt.date]
    work_days: frozenset[dt.date]
    notice: str | None = None  # the notice's name or number, e.g. 国办发明电〔2025〕7号
    holiday_names: dict[dt.date, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Deadline:
    on: dt.date
    provisional: bool  # 暂定: the count ran through a year without a published schedule


def _lunar_to_solar(year: int, month: int, day: int) -> dt.date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> dt.date:
    # 清明 is a solar term (4 or 5 April); lunar year ``year`` always contains April of ``year``.
    solar = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


@functools.lru_cache(maxsize=256)
def statutory_holidays(year: int) -> dict[dt.date, str]:
    """全体公民放假的节日 of 《全国年节及纪念日放假办法》 (2024 amendment, in force from 2025):
    元旦 1 day, 春节 4 (除夕 to 正月初三), 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3."""
    days: dict[dt.date, str] = {dt.date(year, 1, 1): "元旦"}
    new_year = _lunar_to_solar(year, 1, 1)
    # 除夕 is the last day of the twelfth lunar month (29th or 30th), the eve of 正月初一.
    for offset in range(-1, 3):
        days[new_year + dt.timedelta(days=offset)] = "春节"
    days[_qingming(year)] = "清明节"
    days[dt.date(year, 5, 1)] = days[dt.date(year, 5, 2)] = "劳动节"
    days[_lunar_to_solar(year, 5, 5)] = "端午节"
    days[_lunar_to_solar(year, 8, 15)] = "中秋节"
    for day in (1, 2, 3):
        days[dt.date(year, 10, day)] = "国庆节"
    return days


@functools.lru_cache(maxsize=256)
def shipped_year(year: int) -> bool:
    """Whether the ``chinese-calendar`` package knows ``year``'s State Council schedule."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkdayCalendar:
    """Working days from the loaded schedules, the shipped ones, else the provisional rule."""

    def __init__(self, schedules: Iterable[YearSchedule] = ()) -> None:
        self._schedules = {s.year: s for s in schedules}

    @property
    def loaded_years(self) -> list[int]:
        return sorted(self._schedules)

    def schedule(self, year: int) -> YearSchedule | None:
        return self._schedules.get(year)

    def source(self, year: int) -> YearSource:
        if year in self._schedules:
            return YearSource.LOADED
        if shipped_year(year):
            return YearSource.SHIPPED
        return YearSource.PROVISIONAL

    def is_provisional(self, year: int) -> bool:
        return self.source(year) is YearSource.PROVISIONAL

    def is_workday(self, day: dt.date) -> bool:
        loaded = self._schedules.get(day.year)
        if loaded is not None:
            if day in loaded.work_days:
                return True
            if day in loaded.off_days:
                return False
            return day.weekday() < 5
        if shipped_year(day.year):
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5 and day not in statutory_holidays(day.year)

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

    def provisional_between(self, start: dt.date, end: dt.date) -> bool:
        """Whether counting from ``start`` (not counted) to ``end`` went through a year
        computed by the provisional rule."""
        if end <= start:
            return False
        first = (start + dt.timedelta(days=1)).year
        return any(self.is_provisional(year) for year in range(first, end.year + 1))

    def deadline(self, start: dt.date, days: int) -> Deadline:
        on = self.add_workdays(start, days)
        return Deadline(on, self.provisional_between(start, on))


DEFAULT_CALENDAR = WorkdayCalendar()
"""The shipped schedules and the provisional rule only: for pure code and tests. Services
use :func:`xinyong.workdays.services.calendar_for`, which adds the office's loaded years."""
