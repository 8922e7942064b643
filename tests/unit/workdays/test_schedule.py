"""Schedule files as the office writes them: the YAML of docs/workflows.md, a CSV saved by
Excel in GBK; a bad file names its place."""

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.workdays.schedule import ScheduleError, parse_schedule

D = dt.date
FIXTURE = Path(__file__).parents[2] / "data" / "holiday-schedule-2027.TEST-DATA.yaml"


def test_the_test_fixture_reads_as_one_year() -> None:
    [year] = parse_schedule(FIXTURE.read_bytes(), FIXTURE.name)
    assert year.year == 2027 and year.notice == "测试数据（非国务院通知）"
    assert D(2027, 2, 5) in year.off_days and D(2027, 2, 12) in year.off_days
    assert year.work_days == {D(2027, 2, 20), D(2027, 4, 25), D(2027, 9, 26), D(2027, 10, 9)}
    assert year.holiday_names[D(2027, 2, 20)] == "春节"


def test_a_gbk_csv_of_two_years() -> None:
    from xinyong.workdays import statutory_holidays

    # Every statutory holiday of each year (a schedule lacking one is refused), 2027's
    # 元旦 written with slashes as Excel may save it.
    rows = [
        f"{day.isoformat()},放假,{name}"
        for year in (2027, 2028)
        for day, name in sorted(statutory_holidays(year).items())
    ]
    rows[0] = "2027/1/1,放假,元旦"
    text = "日期,安排,节日\r\n" + "\r\n".join(rows) + "\r\n2027/2/20,上班,春节\r\n"
    years = parse_schedule(text.encode("gbk"), "安排.csv")
    assert [y.year for y in years] == [2027, 2028]
    assert years[0].work_days == {D(2027, 2, 20)}
    assert years[0].off_days == set(statutory_holidays(2027))
    assert years[1].holiday_names[D(2028, 1, 1)] == "元旦"


def test_a_year_without_one_of_its_statutory_holidays_is_refused() -> None:
    text = "日期,安排,节日\r\n2027-01-01,放假,元旦\r\n"
    with pytest.raises(ScheduleError) as exc:
        parse_schedule(text.encode("gbk"), "安排.csv")
    assert "2027 年缺少法定节假日" in exc.value.message and "春节 2027-02-05" in exc.value.message
    # Years before the 2024 amendment had other holidays: not checked against it.
    assert parse_schedule("日期,安排\r\n2024-01-01,放假\r\n".encode(), "a.csv")[0].year == 2024


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("日期,安排\n2027-02-19,上班\n", "a.csv", "第 2 行：调休上班日 2027-02-19 是工作日"),
        ("日期,安排\n2027-13-01,放假\n", "a.csv", "第 2 行“日期”：日期“2027-13-01”无法识别"),
        ("日期,安排\n2027-01-01,补班\n", "a.csv", "第 2 行“安排”：“补班”应为“放假”或“上班”"),
        ("时间,类型\n", "a.csv", "第 1 行应为表头"),
        (
            "year: 2027\nholidays:\n  - name: 春节\n    off_days: 2027-02-12..2027-02-05\n",
            "a.yaml",
            "（春节）：日期范围“2027-02-12..2027-02-05”的结束日早于开始日",
        ),
        (
            "year: 2027\nholidays:\n  - name: 元旦\n    off_days: [2028-01-01]\n",
            "a.yaml",
            "日期 2028-01-01 不在 2027 年内",
        ),
        (
            "year: 2027\nholidays:\n  - {name: 春节, off: [2027-02-06], work: [2027-02-06]}\n",
            "a.yaml",
            "2027-02-06 既列为放假又列为上班",
        ),
        ("year: 2027\n", "a.yaml", "2027 年没有放假日期"),
        ("year: 2027\n", "a.txt", "应为 .yaml、.yml 或 .csv"),
    ],
)
def test_bad_files_name_the_place(text: str, name: str, message: str) -> None:
    with pytest.raises(ScheduleError) as exc:
        parse_schedule(text.encode(), name)
    assert message in exc.value.message


@given(st.binary(max_size=300), st.sampled_from(["a.csv", "a.yaml"]))
def test_any_bytes_are_read_or_refused_clearly(data: bytes, name: str) -> None:
    try:
        years = parse_schedule(data, name)
    except ScheduleError as exc:
        assert exc.message
    else:
        assert all(y.off_days for y in years)


def test_the_shipped_schedules_give_every_statutory_holiday_off() -> None:
    # The rule a loaded file is held to agrees with the State Council's own schedules.
    from xinyong.workdays import WorkdayCalendar, statutory_holidays

    calendar = WorkdayCalendar()
    for year in (2025, 2026):
        assert not any(calendar.is_workday(day) for day in statutory_holidays(year))
