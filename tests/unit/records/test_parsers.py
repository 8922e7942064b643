"""Reading submitted files (xinyong.records.parsers): real files written to tmp_path."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import struct
import tracemalloc
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xinyong.errors import UnreadableFile
from xinyong.records import parsers
from xinyong.records.parsers import RawRow, RawTable, RowProblem, open_table

HEADERS = ["行政相对人名称", "证件号码", "处罚决定日期", "罚款金额（万元）"]
ROW = ["张三", "110101199003070011", "2024-01-05", "1.5"]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def read(path: Path, **options: int) -> tuple[RawTable, list[RawRow]]:
    with open_table(path, **options) as table:
        return table, list(table.rows())


def unreadable(path: Path, **options: int) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read(path, **options)
    return caught.value


def problems(rows: list[RawRow]) -> dict[int, RowProblem]:
    return {row.number: row.problem for row in rows if row.problem is not None}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every hypothesis example (function-scoped tmp_path is not reset
    between examples, so hypothesis refuses it)."""
    return tmp_path_factory.mktemp("parsers")


# -- CSV: encodings ---------------------------------------------------------------------


def test_utf8_csv_with_chinese_headers(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", csv_bytes([HEADERS, ROW, [" 李四 ", "", "2024/1/6", "2"]]))
    table, rows = read(path)
    assert (table.kind, table.encoding, table.headers) == ("csv", "utf-8", HEADERS)
    assert rows == [
        RawRow(2, dict(zip(HEADERS, ROW, strict=True)), None),
        RawRow(3, dict(zip(HEADERS, ["李四", "", "2024/1/6", "2"], strict=True)), None),
    ]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"\xef\xbb\xbf" + csv_bytes([HEADERS, ROW]))
    table, rows = read(path)
    assert table.headers == HEADERS
    assert table.encoding == "utf-8"
    assert rows[0].values["行政相对人名称"] == "张三"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_and_gb18030_csv(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / "a.csv", csv_bytes([HEADERS, ROW], encoding))
    table, rows = read(path)
    assert table.encoding == "gb18030"
    assert table.headers == HEADERS
    assert rows[0].values == dict(zip(HEADERS, ROW, strict=True))


def test_characters_only_gb18030_has(tmp_path: Path) -> None:
    # 𠮷 (CJK extension B) and € are four-byte / two-byte GB18030 sequences unknown to GBK.
    path = write(tmp_path / "a.csv", csv_bytes([["名称", "备注"], ["𠮷野家", "€5"]], "gb18030"))
    table, rows = read(path)
    assert table.encoding == "gb18030"
    assert rows[0].values == {"名称": "𠮷野家", "备注": "€5"}


@pytest.mark.parametrize(("encoding", "expected"), [("gbk", "gb18030"), ("utf-8", "utf-8")])
def test_encoding_decided_late_when_the_first_64_kib_are_ascii(
    tmp_path: Path, encoding: str, expected: str
) -> None:
    ascii_rows = [[f"name{n}", f"{n:018}"] for n in range(4000)]  # ~100 KiB of ASCII
    rows_in = [["name", "id"], *ascii_rows, ["王五", "备注：中文"]]
    path = write(tmp_path / "a.csv", csv_bytes(rows_in, encoding))
    assert path.read_bytes()[: parsers.SAMPLE_BYTES].isascii()
    table, rows = read(path)
    assert table.encoding == expected
    assert rows[-1].values == {"name": "王五", "id": "备注：中文"}
    assert rows[-1].number == len(rows_in)
    assert not problems(rows)


def test_utf8_character_cut_by_the_sample_boundary_is_still_utf8(tmp_path: Path) -> None:
    prefix = "名称,备注\r\nx,".encode()
    zhang = "张".encode()  # three bytes; the sample ends after the first
    data = prefix + b"y" * (parsers.SAMPLE_BYTES - len(prefix) - 1) + zhang + "三\r\n".encode()
    assert data[parsers.SAMPLE_BYTES - 1 : parsers.SAMPLE_BYTES] == zhang[:1]
    table, rows = read(write(tmp_path / "a.csv", data), max_cell_chars=100_000)
    assert table.encoding == "utf-8"
    assert rows[0].values["备注"].endswith("张三")
    assert rows[0].problem is None


def test_bytes_of_another_encoding_later_reject_only_their_row(tmp_path: Path) -> None:
    data = (
        csv_bytes([["名称", "备注"], *[["张三", "x" * 50]] * 3000])  # > 64 KiB of UTF-8
        + "李四,混入的 GBK 行\r\n".encode("gbk")
        + "王五,好\r\n".encode()
    )
    table, rows = read(write(tmp_path / "a.csv", data))
    assert table.encoding == "utf-8"
    assert {number: p.code for number, p in problems(rows).items()} == {3002: "bad_bytes"}
    assert rows[-1] == RawRow(3003, {"名称": "王五", "备注": "好"}, None)


def test_one_gbk_line_does_not_turn_a_utf8_file_into_mojibake(tmp_path: Path) -> None:
    # GB18030 would decode this whole file without error, as nonsense; UTF-8 must win.
    data = (
        "名称,备注\r\n张三,很好\r\n".encode()
        + "李四,不好\r\n".encode("gbk")
        + "王五,可以\r\n赵六,对的\r\n".encode()
    )
    assert data.decode("gb18030").startswith("鍚嶇О")
    table, rows = read(write(tmp_path / "a.csv", data))
    assert table.encoding == "utf-8"
    assert [(row.number, row.problem and row.problem.code) for row in rows] == [
        (2, None),
        (3, "bad_bytes"),
        (4, None),
        (5, None),
    ]
    assert rows[2].values == {"名称": "王五", "备注": "可以"}


def test_nul_byte_later_rejects_only_its_row(tmp_path: Path) -> None:
    data = csv_bytes([["a", "b"], *[["1", "2"]] * 30000]) + b"3,4\x005\r\n6,7\r\n"
    _, rows = read(write(tmp_path / "a.csv", data))
    assert problems(rows)[30002].code == "bad_bytes"
    assert rows[-1] == RawRow(30003, {"a": "6", "b": "7"}, None)


def test_file_in_neither_encoding(tmp_path: Path) -> None:
    error = unreadable(write(tmp_path / "a.csv", b"a,b\r\n\x80\x80\x80,\xff\xfe\xff\r\n"))
    assert error.code == "encoding"
    assert "UTF-8" in error.message and "GBK" in error.message


def test_utf16_file_gets_a_precise_hint(tmp_path: Path) -> None:
    error = unreadable(write(tmp_path / "a.txt", "名称\t备注\r\n".encode("utf-16")))
    assert error.code == "encoding"
    assert "UTF-16" in error.message


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 4,
        b"\x00\x01\x02\x03" * 100,
        b"name,id\r\n" + b"\x01\x02\x03\x04\x05\x06" * 50,
    ],
)
def test_binary_garbage(tmp_path: Path, data: bytes) -> None:
    assert unreadable(write(tmp_path / "a.csv", data)).code == "binary"


def test_html_saved_as_xls(tmp_path: Path) -> None:
    data = b"<html><body><table><tr><td>\xe5\xa7\x93\xe5\x90\x8d</td></tr></table></body></html>"
    assert unreadable(write(tmp_path / "a.xls", data)).code == "unsupported_format"


# -- CSV: shape -------------------------------------------------------------------------


def test_tab_separated(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", csv_bytes([HEADERS, ROW], delimiter="\t"))
    table, rows = read(path)
    assert table.headers == HEADERS
    assert rows[0].values["证件号码"] == "110101199003070011"


def test_tabs_inside_comma_separated_headers_do_not_switch_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"a\tb,c\r\n1,2\r\n")
    table, rows = read(path)
    assert table.headers == ["a\tb", "c"]
    assert rows[0].values == {"a\tb": "1", "c": "2"}


def test_old_mac_line_endings(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path / "a.csv", "名称,金额\r张三,1\r李四,2\r".encode()))
    assert table.headers == ["名称", "金额"]
    assert [row.values["名称"] for row in rows] == ["张三", "李四"]


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    assert unreadable(write(tmp_path / "a.csv", data)).code == "empty"


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path / "a.csv", csv_bytes([HEADERS])))
    assert table.headers == HEADERS
    assert rows == []


def test_blank_header_row(tmp_path: Path) -> None:
    assert unreadable(write(tmp_path / "a.csv", b",,,\r\n , ,\r\n")).code == "no_header"


def test_blank_column_name_between_others(tmp_path: Path) -> None:
    error = unreadable(write(tmp_path / "a.csv", b"a,,c\r\n1,2,3\r\n"))
    assert error.code == "blank_header"
    assert "第 2 列" in error.message


def test_trailing_blank_headers_and_cells_are_ignored(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path / "a.csv", b"a,b,,\r\n1,2,,\r\n"))
    assert table.headers == ["a", "b"]
    assert rows == [RawRow(2, {"a": "1", "b": "2"}, None)]


def test_duplicated_header_is_named(tmp_path: Path) -> None:
    error = unreadable(write(tmp_path / "a.csv", csv_bytes([["名称", "证件号码", " 名称 "]])))
    assert error.code == "duplicate_header"
    assert "名称" in error.message


def test_blank_first_row_means_no_header(tmp_path: Path) -> None:
    error = unreadable(write(tmp_path / "a.csv", b",,\r\na,b\r\n1,2\r\n"))
    assert error.code == "no_header"
    assert "第 1 行" in error.message


def test_blank_rows_are_skipped_but_counted(tmp_path: Path) -> None:
    data = b"a,b\r\n1,2\r\n\r\n , \r\n3,4\r\n"
    _, rows = read(write(tmp_path / "a.csv", data))
    assert [(row.number, row.values["a"]) for row in rows] == [(2, "1"), (5, "3")]


def test_quoted_cells_with_line_breaks_are_one_spreadsheet_row(tmp_path: Path) -> None:
    data = csv_bytes([["名称", "违法事实"], ["张三", "第一行\n第二行"], ["李四", "无"]])
    _, rows = read(write(tmp_path / "a.csv", data))
    assert [row.number for row in rows] == [2, 3]
    assert rows[0].values["违法事实"] == "第一行\n第二行"


def test_wrong_cell_counts(tmp_path: Path) -> None:
    data = b"a,b,c\r\n1,2,3\r\n1,2,3,4\r\n1,2\r\n1,2,3,,\r\n1,2"
    _, rows = read(write(tmp_path / "a.csv", data))
    found = problems(rows)
    assert {number: p.code for number, p in found.items()} == {
        3: "cell_count",
        4: "cell_count",
        6: "cell_count",
    }
    assert "4 个单元格" in found[3].message
    assert rows[3] == RawRow(5, {"a": "1", "b": "2", "c": "3"}, None)  # blank extras are fine
    assert rows[4].values == {"a": "1", "b": "2"}  # the truncated last line


def test_megabyte_cell_is_rejected_without_being_kept(tmp_path: Path) -> None:
    data = b"a,b\r\n1," + b"x" * (1 << 20) + b"\r\n2,ok\r\n"
    _, rows = read(write(tmp_path / "a.csv", data), max_cell_chars=4000)
    assert rows[0].problem == RowProblem(
        "cell_too_long", "“b”列有 1048576 个字符，超过上限 4000", "b"
    )
    assert rows[0].values["b"] == ""
    assert rows[1] == RawRow(3, {"a": "2", "b": "ok"}, None)


@pytest.mark.parametrize("cell", ["=SUM(A1:A3)", " =1+1", "=cmd|' /C calc'!A0"])
def test_formulas_are_rejected(tmp_path: Path, cell: str) -> None:
    _, rows = read(write(tmp_path / "a.csv", csv_bytes([["名称", "备注"], ["张三", cell]])))
    problem = rows[0].problem
    assert problem is not None
    assert (problem.code, problem.column) == ("formula", "备注")
    assert cell.strip() not in problem.message


def test_equals_sign_inside_text_is_fine(tmp_path: Path) -> None:
    data = csv_bytes([["名称", "备注"], ["张三", "a=b，见 https://x.cn/?q=1"]])
    _, rows = read(write(tmp_path / "a.csv", data))
    assert rows[0].problem is None


def test_whitespace_of_every_kind_is_stripped(tmp_path: Path) -> None:
    data = csv_bytes([["名称", "备注"], ["\u3000张三\xa0", "\t内容 "], ["王五", "a b"]])
    _, rows = read(write(tmp_path / "a.csv", data))
    assert rows[0].values == {"名称": "张三", "备注": "内容"}
    assert rows[1].values == {"名称": "王五", "备注": "a b"}


def test_quote_left_open_is_reported_where_it_starts(tmp_path: Path) -> None:
    data = b'a,b\r\n0,ok\r\n1,"oops\r\n2,3\r\n4,5\r\n'
    _, rows = read(write(tmp_path / "a.csv", data))
    assert rows[0] == RawRow(2, {"a": "0", "b": "ok"}, None)
    assert [(row.number, row.problem and row.problem.code) for row in rows[1:]] == [(3, "bad_csv")]
    assert rows[1].problem is not None
    assert "引号没有配对" in rows[1].problem.message


def test_stray_text_after_a_closing_quote_rejects_only_its_row(tmp_path: Path) -> None:
    data = b'a,b\r\n"abc"def,2\r\nx,y\r\n'
    _, rows = read(write(tmp_path / "a.csv", data))
    assert [(row.number, row.problem and row.problem.code) for row in rows] == [
        (2, "bad_csv"),
        (3, None),
    ]
    assert rows[1].values == {"a": "x", "b": "y"}


def test_damaged_header_beyond_the_sample(tmp_path: Path) -> None:
    data = b"id," + b"x" * 70_000 + b"\x00,b\r\n1,2,3\r\n"
    error = unreadable(write(tmp_path / "a.csv", data))
    assert error.code == "encoding"
    assert "第 1 行" in error.message


def test_line_longer_than_the_limit_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsers, "BLOCK_BYTES", 1024)
    monkeypatch.setattr(parsers, "MAX_LINE_BYTES", 4096)
    data = b"a,b\r\n1,2\r\n3," + b"y" * 10_000 + b"\r\n5,6\r\n"
    _, rows = read(write(tmp_path / "a.csv", data))
    assert [(row.number, row.problem and row.problem.code) for row in rows] == [
        (2, None),
        (3, "line_too_long"),
        (4, None),
    ]
    assert rows[2].values == {"a": "5", "b": "6"}


def test_file_larger_than_max_bytes(tmp_path: Path) -> None:
    error = unreadable(write(tmp_path / "a.csv", csv_bytes([HEADERS, ROW])), max_bytes=10)
    assert error.code == "too_large"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile):
        open_table(tmp_path / "missing.csv")


def test_close_releases_the_file_and_can_be_repeated(tmp_path: Path) -> None:
    table = open_table(write(tmp_path / "a.csv", csv_bytes([HEADERS, ROW, ROW])))
    next(table.rows())
    table.close()
    table.close()
    assert list(table.rows()) == []


# -- OLE2 and XLSX ----------------------------------------------------------------------


def test_password_protected_or_old_excel(tmp_path: Path) -> None:
    path = write(tmp_path / "a.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4096))
    error = unreadable(path)
    assert error.code == "encrypted_or_xls"
    assert "加密" in error.message and ".xlsx" in error.message and "CSV" in error.message


def make_xlsx(path: Path, rows: Sequence[Sequence[object]], *, first_row: int = 0) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    time_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for r, row in enumerate(rows, start=first_row):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(r, c, value, time_format)
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, value, date_format)
            elif isinstance(value, tuple):  # (formula, cached value)
                sheet.write_formula(r, c, value[0], None, value[1])
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            elif value is not None:
                sheet.write(r, c, value)
    workbook.close()
    return path


def test_xlsx_cells_read_as_people_see_them(tmp_path: Path) -> None:
    headers = ["名称", "日期", "时刻", "整数", "小数", "浮点", "公式", "布尔", "空", "证件号"]
    path = make_xlsx(
        tmp_path / "a.xlsx",
        [
            headers,
            [
                " 张三 ",
                dt.date(2024, 1, 5),
                dt.datetime(2024, 1, 5, 13, 45),
                45296,
                1.5,
                0.1 + 0.2,
                ("=D2*2", 90592),
                True,
                None,
                110101199003070011,
            ],
        ],
    )
    table, rows = read(path)
    assert (table.kind, table.encoding, table.headers) == ("xlsx", None, headers)
    assert rows == [
        RawRow(
            2,
            {
                "名称": "张三",
                "日期": "2024-01-05",
                "时刻": "2024-01-05 13:45:00",
                "整数": "45296",
                "小数": "1.5",
                "浮点": "0.3",
                "公式": "90592",  # the value Excel showed, as the department saw it
                "布尔": "是",
                "空": "",
                "证件号": "110101199003070000",  # Excel kept 15 digits
            },
            RowProblem(
                "excel_number", "证件号被 Excel 存为数字，已丢失位数，请将该列设为文本", "证件号"
            ),
        )
    ]


def test_xlsx_text_starting_with_equals_is_rejected(tmp_path: Path) -> None:
    _, rows = read(make_xlsx(tmp_path / "a.xlsx", [["名称", "备注"], ["张三", "=HYPERLINK(1)"]]))
    assert rows[0].problem is not None
    assert rows[0].problem.code == "formula"


def test_xlsx_row_numbers_match_excel(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "a.xlsx", [["a", "b"], ["1", "2"], [None, None], ["3", "4"]], first_row=2
    )
    table, rows = read(path)
    assert table.headers == ["a", "b"]
    assert [row.number for row in rows] == [4, 6]


def test_xlsx_with_a_csv_name_is_still_read_as_xlsx(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "a.csv", [["a"], ["1"]])
    table, rows = read(path)
    assert table.kind == "xlsx"
    assert rows[0].values == {"a": "1"}


def test_xlsx_duplicate_headers(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "a.xlsx", [["名称", "名称"], ["1", "2"]])
    assert unreadable(path).code == "duplicate_header"


def test_empty_xlsx(tmp_path: Path) -> None:
    assert unreadable(make_xlsx(tmp_path / "a.xlsx", [])).code == "empty"


def test_truncated_xlsx(tmp_path: Path) -> None:
    whole = make_xlsx(tmp_path / "whole.xlsx", [HEADERS, *[ROW] * 200]).read_bytes()
    error = unreadable(write(tmp_path / "a.xlsx", whole[: len(whole) // 2]))
    assert error.code == "corrupt_xlsx"
    for cut in range(4, len(whole), max(1, len(whole) // 40)):
        assert unreadable(write(tmp_path / "a.xlsx", whole[:cut])).code == "corrupt_xlsx"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_xlsx_never_escapes_as_another_error(
    scratch: Path, damage: list[tuple[int, int]]
) -> None:
    whole = scratch / "whole.xlsx"
    if not whole.exists():
        make_xlsx(whole, [HEADERS, *[ROW] * 20])
    data = bytearray(whole.read_bytes())
    for position, value in damage:
        data[position % len(data)] = value
    path = write(scratch / "damaged.xlsx", bytes(data))
    try:
        with open_table(path) as table:
            assert all(isinstance(row, RawRow) for row in table.rows())
    except UnreadableFile:
        pass


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    error = unreadable(path)
    assert error.code == "corrupt_xlsx"
    assert ".xlsx" in error.message


def _bomb(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(block)
    return path


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "a.xlsx", 300 << 20)
    assert path.stat().st_size < 2 << 20
    assert unreadable(path).code == "too_large"


def test_workbook_over_the_uncompressed_limit(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "a.xlsx", [HEADERS, *[ROW] * 100])
    assert unreadable(path, max_uncompressed=10_000).code == "too_large"


def _declare_size(data: bytearray, name: bytes, size: int) -> None:
    """Overwrite a member's uncompressed size in its local header and directory entry."""
    for signature, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        start = data.find(signature)
        while start >= 0:
            if data[start + name_at : start + name_at + len(name)] == name:
                struct.pack_into("<I", data, start + size_at, size)
            start = data.find(signature, start + 4)


def test_zip_that_lies_about_its_sizes(tmp_path: Path) -> None:
    data = bytearray(_bomb(tmp_path / "bomb.xlsx", 8 << 20).read_bytes())
    _declare_size(data, b"xl/worksheets/sheet1.xml", 1000)
    assert unreadable(write(tmp_path / "a.xlsx", bytes(data))).code == "corrupt_xlsx"


# -- JSON Lines -------------------------------------------------------------------------


def test_jsonl_rows(tmp_path: Path) -> None:
    lines = [
        '{"名称": " 张三 ", "金额": 45296.0, "次数": 3, "比例": 1.50, "确认": true, "备注": null}',
        "",
        '{"名称": "李四", "金额": 1e3, "新列": "x"}',
    ]
    table, rows = read(write(tmp_path / "a.jsonl", "\n".join(lines).encode()))
    assert (table.kind, table.encoding) == ("jsonl", "utf-8")
    assert table.headers == ["名称", "金额", "次数", "比例", "确认", "备注", "新列"]
    assert rows == [
        RawRow(
            1,
            {
                "名称": "张三",
                "金额": "45296",
                "次数": "3",
                "比例": "1.50",
                "确认": "是",
                "备注": "",
            },
            None,
        ),
        RawRow(3, {"名称": "李四", "金额": "1000", "新列": "x"}, None),
    ]


def test_jsonl_bad_lines_reject_only_themselves(tmp_path: Path) -> None:
    lines = [
        b'{"a": "1"}',
        b'{"a": ',
        b'["a"]',
        b'{"a": {"nested": 1}}',
        b'{"a": NaN}',
        '{"a": "中文"}'.encode("gbk"),
        b'{"a": "=1+1"}',
        b'{"a": "\\u0000"}',
        b'{"a": "' + b"x" * 5000 + b'"}',
        b'{"a": "2"}',
    ]
    _, rows = read(write(tmp_path / "a.jsonl", b"\n".join(lines)))
    assert [(row.number, row.problem and row.problem.code) for row in rows] == [
        (1, None),
        (2, "bad_json"),
        (3, "bad_json"),
        (4, "bad_json"),
        (5, "bad_json"),
        (6, "bad_bytes"),
        (7, "formula"),
        (8, "bad_bytes"),
        (9, "cell_too_long"),
        (10, None),
    ]


@pytest.mark.parametrize("data", [b'{\n  "a": 1\n}\n', b"{not json}\n", b'{"a": 1'])
def test_jsonl_whose_first_line_is_not_an_object(tmp_path: Path, data: bytes) -> None:
    error = unreadable(write(tmp_path / "a.jsonl", data))
    assert error.code == "bad_json"
    assert "第 1 行" in error.message


def test_json_array_is_not_json_lines(tmp_path: Path) -> None:
    error = unreadable(write(tmp_path / "a.json", b'[{"a": 1}]'))
    assert error.code == "bad_json"
    assert "JSON Lines" in error.message


def test_jsonl_blank_key(tmp_path: Path) -> None:
    assert unreadable(write(tmp_path / "a.jsonl", b'{" ": 2, "a": 1}\n')).code == "blank_header"


# -- Properties -------------------------------------------------------------------------


_prefixes = st.sampled_from(
    [b"", b"\xef\xbb\xbf", b"{", b'{"a": 1}\n', b"PK\x03\x04", b"a,b\r\n", "名称,证件\r\n".encode()]
)


@settings(max_examples=300, deadline=None)
@given(_prefixes, st.binary(max_size=600) | st.text(max_size=200).map(str.encode))
def test_any_bytes_either_read_as_rows_or_raise_unreadable_file(
    scratch: Path, prefix: bytes, data: bytes
) -> None:
    path = scratch / "fuzz.bin"
    path.write_bytes(prefix + data)
    try:
        with open_table(path, max_cell_chars=50) as table:
            assert all(isinstance(header, str) and header for header in table.headers)
            for row in table.rows():
                assert isinstance(row, RawRow)
                assert row.problem is None or isinstance(row.problem, RowProblem)
                assert all(isinstance(v, str) for v in row.values.values())
    except UnreadableFile as exc:
        assert exc.message


_header_text = st.text(
    alphabet=st.characters(categories=("Lu", "Ll", "Lo", "Nd")), min_size=1, max_size=8
)
_cell_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn"))
    | st.sampled_from(' \t\n\r,"=、；'),
    max_size=20,
)


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    headers = draw(st.lists(_header_text, min_size=1, max_size=5, unique=True))
    rows = draw(st.lists(st.lists(_cell_text, min_size=len(headers), max_size=len(headers))))
    return headers, rows


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=_tables())
def test_csv_round_trip(
    scratch: Path, encoding: str, table: tuple[list[str], list[list[str]]]
) -> None:
    headers, rows_in = table
    assume(all(not cell.strip().startswith("=") for row in rows_in for cell in row))
    data = csv_bytes([headers, *rows_in], encoding)
    if encoding == "gb18030" and not data.isascii():
        # Bytes that are valid UTF-8 too are genuinely ambiguous; UTF-8 wins, by design.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            assume(False)
    path = scratch / f"round-trip-{encoding}.csv"
    path.write_bytes(data)
    expected = [
        (number, dict(zip(headers, [cell.strip() for cell in row], strict=True)))
        for number, row in enumerate(rows_in, start=2)
        if any(cell.strip() for cell in row)
    ]
    with open_table(path) as opened:
        assert opened.headers == headers
        got = [(row.number, row.values) for row in opened.rows() if row.problem is None]
    assert got == expected


# -- Memory -----------------------------------------------------------------------------


def _big_csv(path: Path, size: int) -> int:
    """Write about ``size`` bytes of 10-column UTF-8 rows in chunks; return the row count.

    Rows carry a long 违法事实, as real ones do, so 200 MB is ~200,000 rows and the test
    stays quick even under tracemalloc.
    """
    facts = "当事人于二〇二四年一月五日在本市某区经营场所内违反治安管理处罚法的规定。" * 12
    row = "张三丰,110101199003070011,2024-01-05,京公罚字〔2024〕第{n}号,罚款,1.5,某某市公安局,{n},{facts},备注\r\n"
    header = "名称,证件号码,日期,文号,类别,金额,机关,序号,事实,备注\r\n"
    with path.open("wb") as handle:
        handle.write(header.encode())
        written = n = 0
        while written < size:
            chunk = "".join(row.format(n=n + i, facts=facts) for i in range(5_000)).encode()
            n += 5_000
            handle.write(chunk)
            written += len(chunk)
    return n


@pytest.mark.slow
def test_streaming_a_200_mb_csv_keeps_memory_flat(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows_written = _big_csv(path, 200 << 20)
    tracemalloc.start()
    try:
        count = 0
        with open_table(path) as table:
            for row in table.rows():
                count += row.problem is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows_written
    assert peak < 20 << 20, f"peak {peak / (1 << 20):.1f} MB"
