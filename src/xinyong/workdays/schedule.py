"""Reading a year's holiday schedule (节假日安排) file: YAML or CSV (docs/workflows.md).

YAML, one year per document or a list of years::

    year: 2027
    notice: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:
      - name: 春节
        off_days: 2027-02-05..2027-02-12   # a range (both ends included) or a list of dates
        work_days: [2027-02-14]            # 调休上班 (a Saturday or Sunday)

CSV (UTF-8 or GBK, as Excel saves it), one row per date: ``日期,安排,节日`` with 安排 放假 or
上班; a file may hold several years.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import yaml

from xinyong.errors import InvalidInput
from xinyong.workdays import YearSchedule, statutory_holidays

# The first year of the statutory holidays ``statutory_holidays`` knows (2024 amendment).
STATUTORY_RULE_FROM = 2025

OFF_WORDS = {"放假", "休息", "休", "off"}
WORK_WORDS = {"上班", "调休上班", "班", "work"}


# YAML 1.1 reads an unquoted ``off`` key as False: accepted too, so a hand-written file works.
OFF_KEYS: tuple[Any, ...] = ("off_days", "放假", "off", False)
WORK_KEYS: tuple[Any, ...] = ("work_days", "上班", "work")


def _field(holiday: dict[Any, Any], keys: tuple[Any, ...]) -> Any:
    values = [holiday[k] for k in keys if k in holiday]
    return [d for value in values for d in (value if isinstance(value, list) else [value])]


class ScheduleError(InvalidInput):
    code = "bad_schedule"


@dataclass
class _Year:
    year: int
    notice: str | None = None
    off: dict[dt.date, str] = field(default_factory=dict)
    work: dict[dt.date, str] = field(default_factory=dict)


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ScheduleError(f"{where}：日期“{value}”无法识别，应为 YYYY-MM-DD")


def _dates(value: Any, where: str) -> list[dt.date]:
    if value is None:
        return []
    if isinstance(value, list):
        return [d for v in value for d in _dates(v, where)]
    if isinstance(value, str) and ".." in value:
        first, last = (_date(part, where) for part in value.split("..", 1))
        if last < first:
            raise ScheduleError(f"{where}：日期范围“{value}”的结束日早于开始日")
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [_date(value, where)]


def _add(year: _Year, day: dt.date, off: bool, name: str, where: str) -> None:
    if day.year != year.year:
        raise ScheduleError(f"{where}：日期 {day} 不在 {year.year} 年内")
    if off:
        if day in year.work:
            raise ScheduleError(f"{where}：{day} 既列为放假又列为上班")
        year.off[day] = name
    else:
        if day in year.off:
            raise ScheduleError(f"{where}：{day} 既列为放假又列为上班")
        if day.weekday() < 5:
            raise ScheduleError(
                f"{where}：调休上班日 {day} 是工作日（星期{'一二三四五'[day.weekday()]}），"
                "应为星期六或星期日"
            )
        year.work[day] = name


class _DatesAsText(yaml.SafeLoader):
    """Dates stay text, so an impossible one (2027-13-01) is reported with its place by
    ``_date`` instead of failing inside the YAML loader."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str, source: str) -> list[_Year]:
    try:
        documents = [d for d in yaml.load_all(text, Loader=_DatesAsText) if d is not None]
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{source}：YAML 格式错误：{exc}") from None
    blocks: list[Any] = []
    for document in documents:
        blocks.extend(document if isinstance(document, list) else [document])
    years = []
    for number, block in enumerate(blocks, start=1):
        where = f"{source} 第 {number} 个年度"
        if not isinstance(block, dict) or "year" not in block:
            raise ScheduleError(f"{where}：缺少 year（年度）")
        try:
            year = _Year(int(block["year"]), notice=(str(block.get("notice") or "") or None))
        except (TypeError, ValueError):
            raise ScheduleError(f"{where}：year“{block['year']}”不是年份") from None
        holidays = block.get("holidays") or []
        if not isinstance(holidays, list):
            raise ScheduleError(f"{where}：holidays 应为列表")
        for index, holiday in enumerate(holidays, start=1):
            if not isinstance(holiday, dict):
                raise ScheduleError(f"{where} 第 {index} 个节日：应含 name、off_days、work_days")
            name = str(holiday.get("name") or "").strip()
            here = f"{where}（{name or f'第 {index} 个节日'}）"
            for day in _dates(_field(holiday, OFF_KEYS), here):
                _add(year, day, True, name, here)
            for day in _dates(_field(holiday, WORK_KEYS), here):
                _add(year, day, False, name, here)
        years.append(year)
    return years


def _parse_csv(text: str, source: str) -> list[_Year]:
    try:
        rows = [
            row
            for row in csv.reader(io.StringIO(text, newline=""))
            if any(cell.strip() for cell in row)
        ]
    except csv.Error as exc:
        raise ScheduleError(f"{source}：CSV 格式错误：{exc}") from None
    if not rows:
        raise ScheduleError(f"{source}：文件为空")
    header = [cell.strip() for cell in rows[0]]
    try:
        date_col, kind_col = header.index("日期"), header.index("安排")
    except ValueError:
        raise ScheduleError(f"{source}：第 1 行应为表头“日期,安排,节日”") from None
    name_col = header.index("节日") if "节日" in header else None
    years: dict[int, _Year] = {}
    for line, row in enumerate(rows[1:], start=2):
        where = f"{source} 第 {line} 行"
        cells = row + [""] * (len(header) - len(row))
        day = _date(cells[date_col], f"{where}“日期”")
        kind = cells[kind_col].strip()
        if kind not in OFF_WORDS | WORK_WORDS:
            raise ScheduleError(f"{where}“安排”：“{kind}”应为“放假”或“上班”")
        name = cells[name_col].strip() if name_col is not None else ""
        year = years.setdefault(day.year, _Year(day.year))
        _add(year, day, kind in OFF_WORDS, name, where)
    return [years[y] for y in sorted(years)]


def _decode(data: bytes, source: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ScheduleError(f"{source}：文件编码无法识别（应为 UTF-8 或 GBK）")


def parse_schedule(data: bytes, filename: str) -> list[YearSchedule]:
    """The years a schedule file holds; a clear Chinese error naming the place otherwise."""
    source = filename or "节假日安排文件"
    text = _decode(data, source)
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "csv":
        years = _parse_csv(text, source)
    elif suffix in ("yaml", "yml"):
        years = _parse_yaml(text, source)
    else:
        raise ScheduleError(f"{source}：节假日安排文件应为 .yaml、.yml 或 .csv")
    seen: set[int] = set()
    for year in years:
        if not 1900 <= year.year <= 2200:
            raise ScheduleError(f"{source}：年度 {year.year} 超出范围")
        if year.year in seen:
            raise ScheduleError(f"{source}：{year.year} 年出现了不止一次")
        seen.add(year.year)
        if not year.off:
            raise ScheduleError(f"{source}：{year.year} 年没有放假日期")
        # The statutory holidays are always days off (《全国年节及纪念日放假办法》, 2024
        # amendment, in force from 2025): a schedule without one of them is incomplete.
        if year.year >= STATUTORY_RULE_FROM:
            missing = sorted(set(statutory_holidays(year.year)) - set(year.off))
            if missing:
                names = statutory_holidays(year.year)
                by_name: dict[str, list[str]] = {}
                for day in missing:
                    by_name.setdefault(names[day], []).append(day.isoformat())
                listed = "；".join(f"{n} {'、'.join(ds)}" for n, ds in by_name.items())
                raise ScheduleError(
                    f"{source}：{year.year} 年缺少法定节假日（{listed}）："
                    "法定节假日必定放假，请核对文件是否为完整的全年安排"
                )
    if not years:
        raise ScheduleError(f"{source}：文件中没有年度安排")
    return [
        YearSchedule(
            year=y.year,
            off_days=frozenset(y.off),
            work_days=frozenset(y.work),
            notice=y.notice,
            holiday_names={**y.off, **y.work},
        )
        for y in years
    ]
