"""Cell values as departments write them (xinyong.records.values)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.records.values import parse_date, parse_decimal, parse_int, split_multi

JAN_5 = dt.date(2024, 1, 5)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-05",
        "2024-1-5",
        "2024/1/5",
        "2024/01/05",
        "2024.1.5",
        "2024年1月5日",
        "2024年01月05日",
        "2024 年 1 月 5 日",
        "20240105",
        "2024-01-05 00:00:00",
        "2024-01-05T08:00:00",
        "2024/1/5 8:30",
        "2024-01-05 00:00:00.000",
        "  2024-01-05\t",
        "２０２４－０１－０５",
        "45296",
        "45296.0",
        "2024-01-05T08:00:00+08:00",
        "2024-01-04T16:00:00Z",
    ],
)
def test_parse_date_accepts_the_spellings_departments_use(text: str) -> None:
    assert parse_date(text) == JAN_5


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2023-02-29", "不存在"),
        ("2024-13-01", "不存在"),
        ("2024-04-31", "不存在"),
        ("1899-12-31", "年份"),
        ("2101-01-01", "年份"),
        ("2024-01/05", "无法识别"),
        ("2024-01-05 25:00", "时间"),
        ("2024-01-05 下午", "无法识别"),
        ("05/01/2024", "无法识别"),
        ("", "为空"),
        ("   ", "为空"),
        ("长期", "无法识别"),
        ("2958466", "无法识别"),
        ("0", "无法识别"),
        ("45296.5", "无法识别"),
        ("=DATE(2024,1,5)", "无法识别"),
    ],
)
def test_parse_date_rejects_impossible_and_unknown_dates_in_chinese(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_date(text)


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        ("1", dt.date(1900, 1, 1)),
        ("59", dt.date(1900, 2, 28)),
        ("61", dt.date(1900, 3, 1)),
        ("45296", JAN_5),
        ("73415", dt.date(2100, 12, 31)),
    ],
)
def test_excel_serials_follow_excels_1900_leap_year_bug(serial: str, expected: dt.date) -> None:
    assert parse_date(serial) == expected


def test_excel_serial_60_is_the_day_that_never_was() -> None:
    with pytest.raises(ValueError, match="1900 年 2 月 29 日"):
        parse_date("60")


def test_a_utc_time_late_in_the_evening_is_the_next_day_in_beijing() -> None:
    assert parse_date("2024-01-05T20:00:00Z") == dt.date(2024, 1, 6)
    assert parse_date("2024-01-05T20:00:00+08:00") == JAN_5


def _spellings(day: dt.date) -> list[str]:
    y, m, d = day.year, day.month, day.day
    return [
        day.isoformat(),
        f"{y}-{m}-{d}",
        f"{y}/{m}/{d}",
        f"{y}/{m:02}/{d:02}",
        f"{y}.{m}.{d}",
        f"{y}年{m}月{d}日",
        f"{y}年{m:02}月{d:02}日",
        f"{y}{m:02}{d:02}",
        f"{day.isoformat()} 00:00:00",
        f"{day.isoformat()}T08:00:00",
    ]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_every_date_from_1900_to_2100_parses_in_every_spelling(day: dt.date) -> None:
    for text in _spellings(day):
        assert parse_date(text) == day, text


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)))
def test_excel_serials_round_trip(day: dt.date) -> None:
    serial = (day - dt.date(1899, 12, 30)).days
    assert parse_date(str(serial)) == day
    assert parse_date(f"{serial}.0") == day


def test_a_bare_year_is_an_excel_serial_in_1905() -> None:
    # Documented, not desired: validation must catch implausible decision dates.
    assert parse_date("2024") == dt.date(1905, 7, 16)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_date_raises_only_value_error(text: str) -> None:
    try:
        day = parse_date(text)
    except ValueError as exc:
        assert re.search(r"[\u4e00-\u9fff]", str(exc)), "messages are Chinese"
    else:
        assert dt.date(1900, 1, 1) <= day <= dt.date(2100, 12, 31)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[0-9０-９年月日号/.\-: T+Z]{0,24}", fullmatch=True))
def test_parse_date_raises_only_value_error_on_date_like_text(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5", Decimal("1.5")),
        ("1,234.50", Decimal("1234.50")),
        ("1,234,567", Decimal("1234567")),
        ("１２.５", Decimal("12.5")),
        ("１，２３４．５", Decimal("1234.5")),
        ("0", Decimal("0")),
        ("007", Decimal("7")),
        (" 3 ", Decimal("3")),
        ("0.000001", Decimal("0.000001")),
        ("1.5000000", Decimal("1.5")),
        ("1000000000000", Decimal("1000000000000")),
    ],
)
def test_parse_decimal_accepts_amounts_as_written(text: str, expected: Decimal) -> None:
    assert parse_decimal(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-1", "负数"),
        ("-0", "负数"),
        ("-0.5", "负数"),
        ("NaN", "不是有效的数值"),
        ("Infinity", "不是有效的数值"),
        ("inf", "不是有效的数值"),
        ("1.2E+5", "科学计数法"),
        ("1,5", "千位分隔符"),
        ("12,34.5", "千位分隔符"),
        ("1.1234567", "小数位数"),
        ("1000000000000.01", "过大"),
        ("99999999999999999999", "过大"),
        ("1.5万", "不是有效的数值"),
        ("¥100", "不是有效的数值"),
        ("abc", "不是有效的数值"),
        ("", "为空"),
        ("+1", "+"),
        ("1 000", "不是有效的数值"),
    ],
)
def test_parse_decimal_rejects_negatives_and_garbage(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_decimal(text)


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False, allow_infinity=False))
def test_parse_decimal_round_trips_plain_and_grouped(number: Decimal) -> None:
    number = number.copy_abs()  # hypothesis may draw -0, which is refused as negative
    assert parse_decimal(f"{number:f}") == number
    assert parse_decimal(f"{number:,f}") == number


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_parse_decimal_raises_only_value_error(text: str) -> None:
    try:
        number = parse_decimal(text)
    except ValueError:
        pass
    else:
        assert Decimal(0) <= number <= Decimal(10) ** 12


def test_parse_int() -> None:
    assert parse_int("12") == 12
    assert parse_int("1,234") == 1234
    assert parse_int("１２") == 12
    assert parse_int("12.0") == 12
    with pytest.raises(ValueError, match="整数"):
        parse_int("12.5")
    with pytest.raises(ValueError, match="负数"):
        parse_int("-3")


def test_split_multi_splits_on_every_separator_but_the_enumeration_comma() -> None:
    assert split_multi("警告;罚款；没收违法所得、没收非法财物|其他，甲, 乙\n丙\r\n") == [
        "警告",
        "罚款",
        "没收违法所得、没收非法财物",
        "其他",
        "甲",
        "乙",
        "丙",
    ]
    assert split_multi("没收违法所得、没收非法财物") == ["没收违法所得、没收非法财物"]
    assert split_multi(" ;; ，") == []
    assert split_multi("") == []


_SEPARATORS = set(";；|，,\r\n")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("警告罚款、;；|，,\r\n \t　ab=-"), max_size=40) | st.text())
def test_split_multi_never_loses_a_character(text: str) -> None:
    parts = split_multi(text)
    kept = Counter(char for char in text if char not in _SEPARATORS and not char.isspace())
    assert Counter(char for char in "".join(parts) if not char.isspace()) == kept
    for part in parts:
        assert part and part == part.strip()
        assert not _SEPARATORS & set(part)
