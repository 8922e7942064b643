"""Cell values as departments really write them: dates, amounts, counts, multi-value cells.

Pure functions, called by validation for every row of every submission (归集), so the common
spelling of each value is tried first and the rest only when it fails. Each raises
``ValueError`` with a Chinese message that can be shown to the submitter as is; messages
never quote the cell, which may hold personal data.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Final

MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2100
MAX_AMOUNT: Final = Decimal(10) ** 12
"""Larger values are typing or unit mistakes (罚款金额 is in 万元), not real amounts."""
MAX_DECIMAL_PLACES: Final = 6

# Full-width forms that Chinese input methods produce; mapped before any parsing.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－／：　＋", "0123456789.,-/: +")

_SEPARATED_DATE = re.compile(
    r"(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})(.*)", re.ASCII | re.DOTALL
)
_CHINESE_DATE = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号](.*)", re.ASCII | re.DOTALL
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(.*)", re.ASCII | re.DOTALL)
_TIME = re.compile(
    r"(?:\s*T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_EXCEL_SERIAL = re.compile(r"(\d{1,7})(?:\.0*)?", re.ASCII)

# Excel's 1900 date system counts a 29 February 1900 that never was (a Lotus 1-2-3 bug kept
# for compatibility): serial 60 is that day, and every later serial is one day too high.
_EXCEL_BEFORE_BUG = dt.date(1899, 12, 31)
_EXCEL_AFTER_BUG = dt.date(1899, 12, 30)
_EXCEL_PHANTOM_DAY = 60
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31
_SHANGHAI = dt.timezone(dt.timedelta(hours=8))

_DATE_FORMATS_HINT = "应为 2024-01-05、2024/1/5、2024.1.5、2024年1月5日 或 20240105 等格式"


def parse_date(text: str) -> dt.date:
    """A date in any of the spellings departments use, including Excel serial numbers.

    A time after the date is accepted and dropped; one with a UTC offset is first converted
    to Beijing time, so ``2024-01-04T16:00:00Z`` is the decision date 2024-01-05.
    """
    value = text.strip()
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        # The common case, in C. Anything it refuses takes the slow path for a Chinese reason.
        try:
            date = dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if MIN_YEAR <= date.year <= MAX_YEAR:
                return date
    if not value.isascii():
        value = value.translate(_FULL_WIDTH).strip()
    if not value:
        raise ValueError("日期为空")
    match = (
        _SEPARATED_DATE.fullmatch(value)
        or _CHINESE_DATE.fullmatch(value)
        or _COMPACT_DATE.fullmatch(value)
    )
    if match is not None:
        groups = match.groups()
        year, month, day = int(groups[0]), int(groups[-3]), int(groups[-2])
        return _with_time(_date(year, month, day), groups[-1])
    match = _EXCEL_SERIAL.fullmatch(value)
    if match is not None:
        return _excel_serial(int(match[1]))
    raise ValueError(f"无法识别的日期：{_DATE_FORMATS_HINT}")


def _date(year: int, month: int, day: int) -> dt.date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"日期的年份应在 {MIN_YEAR} 至 {MAX_YEAR} 之间")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"日期不存在：{year} 年没有 {month} 月 {day} 日") from None


def _with_time(date: dt.date, rest: str) -> dt.date:
    """Check what follows the date: nothing, or a valid time of day."""
    if not rest or rest.isspace():
        return date
    match = _TIME.fullmatch(rest.rstrip())
    if match is None:
        raise ValueError(f"日期后面有无法识别的内容：{_DATE_FORMATS_HINT}")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("日期中的时间不存在（时应为 0–23，分、秒应为 0–59）")
    offset = match[4]
    if offset is None:
        return date
    if offset == "Z":
        zone = dt.UTC
    else:
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes > 18 * 60:
            raise ValueError("日期中的时区不存在")
        zone = dt.timezone(dt.timedelta(minutes=-minutes if offset[0] == "-" else minutes))
    moment = dt.datetime.combine(date, dt.time(hour, minute, second), zone)
    return _date(*moment.astimezone(_SHANGHAI).timetuple()[:3])


def _excel_serial(serial: int) -> dt.date:
    """An Excel 1900-system serial, as CSV exports of unformatted date cells contain."""
    if not 1 <= serial <= _EXCEL_MAX_SERIAL:
        raise ValueError(f"无法识别的日期：{_DATE_FORMATS_HINT}")
    if serial == _EXCEL_PHANTOM_DAY:
        raise ValueError("Excel 日期序号 60 对应不存在的 1900 年 2 月 29 日")
    base = _EXCEL_BEFORE_BUG if serial < _EXCEL_PHANTOM_DAY else _EXCEL_AFTER_BUG
    date = base + dt.timedelta(days=serial)
    return _date(date.year, date.month, date.day)


_NUMBER = re.compile(r"(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?", re.ASCII)
_LOOKS_NUMERIC = re.compile(r"[\d,]*\.?\d*(?:[eE][-+]?\d+)?", re.ASCII)


def parse_decimal(text: str) -> Decimal:
    """A non-negative amount: ``1.5``, ``1,234.50``, ``１２.５``.

    Thousands separators must sit every three digits: ``1,5`` is a European decimal comma or
    a typo, and reading it as fifteen would be wrong either way. Trailing zeros past six
    decimal places are tolerated (some exports pad); significant digits past six are not.
    """
    value = text.strip()
    if not value.isascii():
        value = value.translate(_FULL_WIDTH).strip()
    if _NUMBER.fullmatch(value) is None:
        raise ValueError(_number_problem(value))
    if "," in value:
        value = value.replace(",", "")
    fraction = value.partition(".")[2]
    if len(fraction) > MAX_DECIMAL_PLACES:
        significant = fraction.rstrip("0")
        if len(significant) > MAX_DECIMAL_PLACES:
            raise ValueError(f"小数位数过多：最多 {MAX_DECIMAL_PLACES} 位")
        value = value[: len(value) - len(fraction) + len(significant)].rstrip(".")
    number = Decimal(value)
    if number > MAX_AMOUNT:
        raise ValueError("数值过大：不能超过 1 万亿（请检查单位是否为万元）")
    return number


def _number_problem(value: str) -> str:
    """Say what is wrong with a value that is not a plain number, as precisely as we can."""
    if not value:
        return "数值为空"
    if value[0] == "-" and _LOOKS_NUMERIC.fullmatch(value[1:]):
        return "数值不能为负数"
    if value[0] == "+" and _NUMBER.fullmatch(value[1:]):
        return "数值前不要加“+”号"
    if "e" in value.lower() and _LOOKS_NUMERIC.fullmatch(value):
        return "数值不能用科学计数法（如 1.2E+5）：请在 Excel 中把单元格设为数值格式后重新导出"
    if "," in value and _LOOKS_NUMERIC.fullmatch(value):
        return "千位分隔符位置不正确：应每三位一个逗号（如 1,234.5），小数点用“.”"
    return "不是有效的数值：只能包含数字、小数点和千位分隔符"


def parse_int(text: str) -> int:
    """A non-negative whole number; ``12.0`` (as spreadsheets export it) is twelve."""
    number = parse_decimal(text)
    if number != number.to_integral_value():
        raise ValueError("应为整数")
    return int(number)


# 、 is deliberately absent: it belongs inside values such as 处罚类别
# "没收违法所得、没收非法财物" (DOMAIN §16).
_MULTI_VALUE_SEPARATORS = re.compile(r"[;；|，,\r\n]")


def split_multi(text: str) -> list[str]:
    """Split a multi-value (enum_multi) cell on ; ； | ， , or line breaks."""
    return [part for part in map(str.strip, _MULTI_VALUE_SEPARATORS.split(text)) if part]


__all__ = ["parse_date", "parse_decimal", "parse_int", "split_multi"]
