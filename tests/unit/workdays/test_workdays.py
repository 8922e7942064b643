import datetime as dt

import pytest

from xinyong.workdays import CalendarUnknown, WorkdayCalendar

cal = WorkdayCalendar()


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


def test_unknown_year_is_a_clear_error() -> None:
    with pytest.raises(CalendarUnknown) as exc:
        cal.is_workday(dt.date(2099, 1, 5))
    assert "2099" in exc.value.message


def test_office_overrides_cover_a_new_year() -> None:
    new_year = dt.date(2099, 1, 1)
    custom = WorkdayCalendar({new_year: False, dt.date(2099, 1, 3): True})
    assert custom.add_workdays(dt.date(2099, 1, 1), 2) == dt.date(2099, 1, 3)
