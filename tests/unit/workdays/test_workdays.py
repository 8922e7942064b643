import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.workdays import (
    WorkdayCalendar,
    YearSchedule,
    YearSource,
    statutory_holidays,
)

cal = WorkdayCalendar()
D = dt.date


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Spring Festival 2025: 1.28–2.4 off; Sunday 1.26 and Saturday 2.8 are 调休 workdays.
        (dt.date(2025, 1, 24), 1, dt.date(2025, 1, 26)),
        (dt.date(2025, 1, 26), 1, dt.date(2025, 1, 27)),
        (dt.date(2025, 1, 27), 1, dt.date(2025, 2, 5)),
        (dt.date(2025, 1, 27), 5, dt.date(2025, 2, 10)),
        # National Day 2025: 10.1–10.8 off; Sunday 9.28 and Saturday 10.11 are workdays.
        (dt.date(2025, 9, 26), 1, dt.date(2025, 9, 28)),
        (dt.date(2025, 9, 30), 1, dt.date(2025, 10, 9)),
        (dt.date(2025, 9, 30), 3, dt.date(2025, 10, 11)),
        (dt.date(2025, 9, 30), 20, dt.date(2025, 11, 4)),
        # an ordinary week
        (dt.date(2025, 3, 7), 1, dt.date(2025, 3, 10)),
        (dt.date(2025, 3, 10), 0, dt.date(2025, 3, 10)),
    ],
)
def test_add_workdays_across_holidays_and_make_up_days(
    start: dt.date, days: int, expected: dt.date
) -> None:
    assert cal.add_workdays(start, days) == expected


def test_workdays_between_counts_make_up_saturday() -> None:
    assert cal.workdays_between(dt.date(2025, 10, 7), dt.date(2025, 10, 12)) == 3


@pytest.mark.parametrize(
    ("year", "eve", "qingming", "duanwu", "zhongqiu"),
    [
        # checked against the State Council's schedules of the shipped years
        (2025, D(2025, 1, 28), D(2025, 4, 4), D(2025, 5, 31), D(2025, 10, 6)),
        (2026, D(2026, 2, 16), D(2026, 4, 5), D(2026, 6, 19), D(2026, 9, 25)),
        # 除夕 is 腊月廿九 in 2027 and 腊月三十 in 2030
        (2027, D(2027, 2, 5), D(2027, 4, 5), D(2027, 6, 9), D(2027, 9, 15)),
        (2030, D(2030, 2, 2), D(2030, 4, 5), D(2030, 6, 5), D(2030, 9, 12)),
    ],
)
def test_statutory_holidays_of_the_2024_rule(
    year: int, eve: dt.date, qingming: dt.date, duanwu: dt.date, zhongqiu: dt.date
) -> None:
    days = statutory_holidays(year)
    assert len(days) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3
    spring = sorted(d for d, name in days.items() if name == "春节")
    assert spring == [eve + dt.timedelta(days=n) for n in range(4)]
    assert [d for d, name in days.items() if name == "清明节"] == [qingming]
    assert [d for d, name in days.items() if name == "端午节"] == [duanwu]
    assert [d for d, name in days.items() if name == "中秋节"] == [zhongqiu]
    assert {d for d, n in days.items() if n == "劳动节"} == {D(year, 5, 1), D(year, 5, 2)}
    assert {d for d, n in days.items() if n == "国庆节"} == {D(year, 10, i) for i in (1, 2, 3)}


def test_the_statutory_days_are_inside_the_published_schedules() -> None:
    # The shipped 2025 and 2026 schedules give every statutory day off: the rule agrees.
    for year in (2025, 2026):
        assert not any(cal.is_workday(d) for d in statutory_holidays(year))


def test_a_year_without_a_schedule_is_provisional_never_an_error() -> None:
    assert cal.source(2026) is YearSource.SHIPPED
    assert cal.source(2027) is YearSource.PROVISIONAL
    # 2027: 除夕 Friday 2.5 and 初三 Monday 2.8 off, no make-up days, weekends off
    assert not cal.is_workday(D(2027, 2, 5)) and not cal.is_workday(D(2027, 2, 8))
    assert cal.is_workday(D(2027, 2, 9))
    assert not cal.is_workday(D(2027, 2, 20))  # a Saturday stays a day off
    due = cal.deadline(D(2026, 12, 24), 20)
    assert due.on == D(2027, 1, 22) and due.provisional
    inside = cal.deadline(D(2026, 12, 1), 5)
    assert inside.on == D(2026, 12, 8) and not inside.provisional
    assert cal.deadline(D(2099, 3, 2), 5).on == D(2099, 3, 9)


def test_a_loaded_schedule_replaces_the_rule_for_its_year() -> None:
    loaded = WorkdayCalendar(
        [
            YearSchedule(
                2027,
                off_days=frozenset(D(2027, 2, 5) + dt.timedelta(days=n) for n in range(8)),
                work_days=frozenset({D(2027, 2, 20)}),
            )
        ]
    )
    assert loaded.source(2027) is YearSource.LOADED
    assert loaded.is_workday(D(2027, 2, 20)) and not loaded.is_workday(D(2027, 2, 10))
    assert loaded.add_workdays(D(2027, 2, 1), 5) == D(2027, 2, 16)
    assert cal.add_workdays(D(2027, 2, 1), 5) == D(2027, 2, 10)
    assert not loaded.provisional_between(D(2027, 2, 1), D(2027, 2, 16))
    assert loaded.provisional_between(D(2027, 12, 20), D(2028, 1, 10))


TEST_2027 = WorkdayCalendar(
    [
        YearSchedule(
            2027,
            off_days=frozenset({D(2027, 1, 1), D(2027, 10, 4)}),
            work_days=frozenset({D(2027, 2, 20), D(2027, 10, 9)}),
        )
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)),
    days=st.integers(min_value=0, max_value=40),
    calendar=st.sampled_from([cal, TEST_2027]),
)
def test_add_workdays_and_workdays_between_agree(
    start: dt.date, days: int, calendar: WorkdayCalendar
) -> None:
    due = calendar.deadline(start, days)
    assert calendar.workdays_between(start, due.on) == days
    if days:
        assert calendar.is_workday(due.on)
        assert calendar.workdays_between(start, due.on - dt.timedelta(days=1)) == days - 1
    walked = [start + dt.timedelta(days=n) for n in range(1, (due.on - start).days + 1)]
    assert due.provisional == any(calendar.is_provisional(d.year) for d in walked)
