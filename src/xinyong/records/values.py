"""Cell values as departments write them: dates, amounts, multi-value cells. Pure."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

_FULLWIDTH = str.maketrans("０１２３４５６７８９．，－／", "0123456789.,-/")
_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{1,7}(\.0+)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_MULTI_SPLIT = re.compile(r"[;；|，,\n\r]+")


def _make(year: int, month: int, day: int) -> dt.date:
    if not 1900 <= year <= 2100:
        raise ValueError("日期年份应在 1900 至 2100 之间")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError("日期不存在") from None


def parse_date(text: str) -> dt.date:
    """2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, with a time, or an Excel serial."""
    value = text.strip().translate(_FULLWIDTH)
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return _make(int(value[:4]), int(value[5:7]), int(value[8:]))
        except ValueError as exc:
            if "年份" in str(exc) or "不存在" in str(exc):
                raise
    for sep in (" ", "T"):
        if sep in value:
            head = value.split(sep, 1)[0]
            if head != value:
                value = head
                break
    match = _DATE_PARTS.match(value)
    if match:
        return _make(int(match[1]), int(match[2]), int(match[3]))
    match = _COMPACT.match(value)
    if match:
        return _make(int(match[1]), int(match[2]), int(match[3]))
    if _SERIAL.match(value):
        serial = int(float(value))
        if serial == 60:
            raise ValueError("Excel 日期序号 60 不是有效日期（1900-02-29 不存在）")
        if not 1 <= serial <= 2958465:
            raise ValueError("Excel 日期序号超出范围")
        # Excel's 1900 system counts a 29 February 1900 that never was.
        base = _EXCEL_EPOCH if serial > 60 else dt.date(1899, 12, 31)
        return _make(*(base + dt.timedelta(days=serial)).timetuple()[:3])
    raise ValueError("无法识别的日期格式（应为 2024-01-05、2024/1/5、2024年1月5日 等）")


def parse_decimal(text: str) -> Decimal:
    value = text.strip().translate(_FULLWIDTH).replace(",", "")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError("不是有效的数字") from None
    if not number.is_finite():
        raise ValueError("不是有效的数字")
    if number < 0:
        raise ValueError("金额不能为负数")
    if number >= Decimal(10) ** 12:
        raise ValueError("数值过大")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise ValueError("小数位数过多（最多 6 位）")
    return Decimal(int(number)) if number == number.to_integral() else number


def parse_int(text: str) -> int:
    number = parse_decimal(text)
    if number != number.to_integral():
        raise ValueError("应为整数")
    return int(number)


def split_multi(text: str) -> list[str]:
    """Split a multi-value cell; never on 、, which 处罚类别 values themselves contain."""
    return [part.strip() for part in _MULTI_SPLIT.split(text) if part.strip()]
