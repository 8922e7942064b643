"""Loaded holiday schedules (节假日安排): the calendar in force and the years as the office
sees them. Loading a year, and moving the open deadlines that counted through it, is
:mod:`xinyong.deadlines` (it reaches objections, repair and the lists)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.workdays import (
    YEAR_SOURCE_NAMES,
    WorkdayCalendar,
    YearSchedule,
    YearSource,
    shipped_year,
    statutory_holidays,
)
from xinyong.workdays.models import HolidaySchedule

_CACHE = "xinyong.workdays.calendar"


def _schedule(row: HolidaySchedule) -> YearSchedule:
    names = {dt.date.fromisoformat(d): n for d, n in {**row.off_days, **row.work_days}.items()}
    return YearSchedule(
        year=row.year,
        off_days=frozenset(dt.date.fromisoformat(d) for d in row.off_days),
        work_days=frozenset(dt.date.fromisoformat(d) for d in row.work_days),
        notice=row.notice,
        holiday_names=names,
    )


def calendar_for(session: Session) -> WorkdayCalendar:
    """The working-day calendar in force: the office's loaded years over the shipped ones.
    Read once per session (a request, a command)."""
    cached = session.info.get(_CACHE)
    if isinstance(cached, WorkdayCalendar):
        return cached
    rows = session.scalars(select(HolidaySchedule).where(HolidaySchedule.is_current))
    calendar = WorkdayCalendar(_schedule(row) for row in rows)
    session.info[_CACHE] = calendar
    return calendar


def forget_calendar(session: Session) -> None:
    """Drop the session's calendar: the next :func:`calendar_for` reads the loaded years."""
    session.info.pop(_CACHE, None)


@dataclass(frozen=True)
class YearView:
    year: int
    source: YearSource
    source_name: str
    off_days: list[tuple[dt.date, str]]
    work_days: list[tuple[dt.date, str]]
    notice: str | None = None
    version: int | None = None
    loaded_by: str | None = None
    loaded_at: dt.datetime | None = None

    @property
    def provisional(self) -> bool:
        return self.source is YearSource.PROVISIONAL


def year_views(session: Session, *, today: dt.date | None = None, ahead: int = 3) -> list[YearView]:
    """The years a deadline may reach now (this year to ``ahead`` years on) and every loaded
    year, each with where its working days come from: the console page and ``calendar list``."""
    today = today or dt.date.today()
    calendar = calendar_for(session)
    rows = {
        row.year: row
        for row in session.scalars(select(HolidaySchedule).where(HolidaySchedule.is_current))
    }
    years = sorted(set(range(today.year - 1, today.year + ahead + 1)) | set(rows))
    views = []
    for year in years:
        source = calendar.source(year)
        row = rows.get(year)
        if row is not None:
            off = [(dt.date.fromisoformat(d), n) for d, n in sorted(row.off_days.items())]
            work = [(dt.date.fromisoformat(d), n) for d, n in sorted(row.work_days.items())]
        elif source is YearSource.PROVISIONAL:
            off = sorted(statutory_holidays(year).items())
            work = []
        else:
            off, work = _shipped(year)
        views.append(
            YearView(
                year=year,
                source=source,
                source_name=YEAR_SOURCE_NAMES[source],
                off_days=off,
                work_days=work,
                notice=row.notice if row else None,
                version=row.version if row else None,
                loaded_by=row.loaded_by if row else None,
                loaded_at=row.loaded_at if row else None,
            )
        )
    return views


def _shipped(year: int) -> tuple[list[tuple[dt.date, str]], list[tuple[dt.date, str]]]:
    import chinese_calendar

    if not shipped_year(year):
        return [], []
    off, work = [], []
    day = dt.date(year, 1, 1)
    while day.year == year:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        weekend = day.weekday() >= 5
        if on_holiday and name:
            off.append((day, _SHIPPED_NAMES.get(str(name), str(name))))
        elif weekend and not on_holiday:
            work.append((day, _SHIPPED_NAMES.get(str(name), str(name or ""))))
        day += dt.timedelta(days=1)
    return off, work


_SHIPPED_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
}
