"""Submitted files in every shape departments send: the readers and the cell values."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinyong.errors import UnreadableFile
from xinyong.records.parsers import RawRow, open_table
from xinyong.records.values import parse_date, parse_decimal, parse_int, split_multi

HEADERS = ["行政相对人名称", "证件号码", "处罚类别"]


def rows_of(path: Path, **kw: object) -> tuple[list[str], list[RawRow]]:
    with open_table(path, **kw) as table:  # type: ignore[arg-type]
        return table.headers, list(table.rows())


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / "a.csv", "姓名,证件号码\n张三,1101\n李四,1102\n", encoding)
    headers, rows = rows_of(path)
    assert headers == ["姓名", "证件号码"]
    assert [r.values["姓名"] for r in rows] == ["张三", "李四"]
    assert [r.number for r in rows] == [2, 3]


def test_gbk_whose_chinese_starts_after_the_sample(tmp_path: Path) -> None:
    filler = "".join(f"a{i},b\n" for i in range(20_000))  # > 64 KiB of ASCII first
    path = write(tmp_path / "late.csv", "name,x\n" + filler + "王五,乙\n", "gbk")
    _, rows = rows_of(path)
    assert rows[-1].values == {"name": "王五", "x": "乙"}
    assert rows[-1].problem is None


def test_tab_separated_and_blank_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "姓名\t证件号码\n\n张三\t1\n\t\n")
    headers, rows = rows_of(path)
    assert headers == ["姓名", "证件号码"] and len(rows) == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\x00\x01\x02\x03binary" * 50, "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "encrypted_or_xls"),
        (b"PK\x03\x04" + b"\x00" * 100, "corrupt_xlsx"),
        (b"a,a\n1,2\n", "duplicate_header"),
        (b",\n1,2\n", "no_header"),
        (b"\xff\xfe\xfa\xfb" * 100, "encoding"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as exc:
        rows_of(path)
    assert exc.value.code == code
    assert exc.value.message


def test_row_problems_reject_only_that_row(tmp_path: Path) -> None:
    long = "长" * 5000
    text = f"a,b\n1,2\n1,2,3\n1\n{long},x\n=SUM(A1),y\nx=1,z\n"
    _, rows = rows_of(write(tmp_path / "r.csv", text), max_cell_chars=4000)
    problems = [r.problem.code if r.problem else None for r in rows]
    assert problems == [None, "cell_count", "cell_count", "cell_too_long", "formula", None]
    assert rows[3].values.get("a", "") == ""  # the megabyte cell is not kept


def test_truncated_last_line_and_bad_bytes(tmp_path: Path) -> None:
    data = "a,b\n张,三\n".encode() + b"\xff\xfe,x\n" + "李".encode()
    _, rows = rows_of(write_bytes(tmp_path, data))
    assert [r.problem.code if r.problem else None for r in rows] == [
        None,
        "bad_bytes",
        "cell_count",
    ]


def write_bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "b.csv"
    path.write_bytes(data)
    return path


def make_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["名称", "日期", "金额", "整数", "公式", "布尔"])
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_string(1, 0, "张三")
    sheet.write_datetime(1, 1, dt.datetime(2024, 1, 5), date_format)
    sheet.write_number(1, 2, 1.5)
    sheet.write_number(1, 3, 45296)
    sheet.write_formula(1, 4, "=1+1", None, 2)
    sheet.write_boolean(1, 5, True)
    book.close()
    return path


def test_xlsx_values(tmp_path: Path) -> None:
    headers, rows = rows_of(make_xlsx(tmp_path / "a.xlsx"))
    assert headers == ["名称", "日期", "金额", "整数", "公式", "布尔"]
    values = rows[0].values
    assert values["日期"] == "2024-01-05"
    assert (values["金额"], values["整数"], values["布尔"]) == ("1.5", "45296", "是")
    assert values["公式"] == "2"  # the cached result, never the formula


def test_truncated_xlsx(tmp_path: Path) -> None:
    good = make_xlsx(tmp_path / "a.xlsx").read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(UnreadableFile) as exc:
        rows_of(cut)
    assert exc.value.code == "corrupt_xlsx"


def test_zip_bomb_is_refused_before_decompression(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            block = b"\x00" * (1 << 20)
            for _ in range(64):
                member.write(block)
    with pytest.raises(UnreadableFile) as exc:
        rows_of(bomb)
    assert exc.value.code == "too_large"
    with pytest.raises(UnreadableFile):
        rows_of(make_xlsx(tmp_path / "ok.xlsx"), max_uncompressed=10)


def test_jsonl(tmp_path: Path) -> None:
    text = '{"姓名": "张三", "金额": 2.0, "空": null}\n\n[1,2]\n{"姓名": "李四", "新": true}\nnot json\n'
    headers, rows = rows_of(write(tmp_path / "a.jsonl", text))
    assert headers == ["姓名", "金额", "空", "新"]  # a key first met on line 4 is a column too
    assert rows[0].values == {"姓名": "张三", "金额": "2", "空": ""}
    assert [r.number for r in rows] == [1, 3, 4, 5]
    assert [r.problem.code if r.problem else None for r in rows] == [
        None,
        "bad_json",
        None,
        "bad_json",
    ]
    assert rows[2].values["新"] == "是"


def test_too_large_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as exc:
        rows_of(write(tmp_path / "a.csv", "a\n1\n"), max_bytes=2)
    assert exc.value.code == "too_large"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_fuzz_any_bytes_only_ever_unreadable_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz"
    path.write_bytes(data)
    try:
        _, rows = rows_of(path)
    except UnreadableFile as exc:
        assert exc.code and exc.message
    else:
        assert all(isinstance(r, RawRow) for r in rows)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.lists(
        st.lists(
            st.text(
                alphabet=st.characters(
                    codec="gb18030", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")
                ),
                min_size=1,
                max_size=12,
            ).filter(lambda t: not t.startswith("=") and t == t.strip()),
            min_size=3,
            max_size=3,
        ),
        min_size=1,
        max_size=8,
    ),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
)
def test_round_trip_csv(tmp_path: Path, table: list[list[str]], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["甲", "乙", "丙"])
    writer.writerows(table)
    path = write(tmp_path / "rt.csv", buffer.getvalue(), encoding)
    _, rows = rows_of(path)
    assert [[r.values["甲"], r.values["乙"], r.values["丙"]] for r in rows] == table


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
        "20240105",
        "2024-01-05 00:00:00",
        "2024-01-05T08:00:00",
        "45296",
        "45296.0",
        "２０２４－０１－０５",
    ],
)
def test_dates_departments_write(text: str) -> None:
    assert parse_date(text) == dt.date(2024, 1, 5)


@pytest.mark.parametrize(
    "text", ["2023-02-29", "1899-12-31", "2101-01-01", "60", "昨天", "", "2024-13-01"]
)
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_excel_serials_around_the_1900_leap_bug() -> None:
    assert parse_date("1") == dt.date(1900, 1, 1)
    assert parse_date("59") == dt.date(1900, 2, 28)
    assert parse_date("61") == dt.date(1900, 3, 1)


@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)))
def test_every_date_in_every_format(day: dt.date) -> None:
    for text in (
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day:%Y%m%d}",
        str((day - dt.date(1899, 12, 30)).days),
    ):
        assert parse_date(text) == day


@given(st.text(max_size=40))
def test_parse_date_raises_only_value_error(text: str) -> None:
    try:
        day = parse_date(text)
    except ValueError as exc:
        assert str(exc)  # a reason for people
    else:
        assert 1900 <= day.year <= 2100


def test_numbers() -> None:
    assert parse_decimal("1,234.50") == Decimal("1234.50")
    assert str(parse_decimal("100")) == "100"
    assert parse_decimal("１２.５") == Decimal("12.5")
    assert parse_int("3") == 3
    for bad in ("-1", "NaN", "Infinity", "abc", "1e13", "0.0000001"):
        with pytest.raises(ValueError):
            parse_decimal(bad)
    with pytest.raises(ValueError):
        parse_int("1.5")


def test_split_multi_keeps_the_enumeration_comma() -> None:
    assert split_multi("罚款;没收违法所得、没收非法财物，警告") == [
        "罚款",
        "没收违法所得、没收非法财物",
        "警告",
    ]


@given(st.text(max_size=50))
def test_split_multi_loses_no_character(text: str) -> None:
    def squeeze(value: str) -> str:
        return "".join(c for c in value if not c.isspace() and c not in ";；|，,")

    parts = split_multi(text)
    assert all(part and part == part.strip() for part in parts)
    assert squeeze("".join(parts)) == squeeze(text)
