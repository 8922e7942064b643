"""The streaming XLSX writer: what calamine (and so Excel) reads back."""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import unescape

from hypothesis import given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from xinyong.measures.xlsx import StreamingWorkbook, _text


def test_rows_read_back_as_written(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    with StreamingWorkbook(out) as book:
        sheet = book.add_sheet("比对结果")
        sheet.append(["行号", "姓名", "核查说明"], header=True)
        sheet.append([2, "甲 & <乙>", "无效\x01行"])
        sheet.append([3, "", "  前后空格  "])
        for n in range(4, 5004):  # more than one buffer
            sheet.append([n, f"第{n}行", "无措施"])
        totals = book.add_sheet("汇总")
        totals.append(["总行数", 5002])
        totals.append(["批次", "abc"])
    workbook = CalamineWorkbook.from_path(str(out))
    assert workbook.sheet_names == ["比对结果", "汇总"]
    rows = workbook.get_sheet_by_index(0).to_python()
    assert rows[0] == ["行号", "姓名", "核查说明"]
    assert rows[1] == [2, "甲 & <乙>", "无效\x01行"]
    assert rows[2] == [3, "", "  前后空格  "]
    assert len(rows) == 5003 and rows[-1] == [5003, "第5003行", "无措施"]
    assert workbook.get_sheet_by_index(1).to_python() == [["总行数", 5002], ["批次", "abc"]]


@given(st.text(alphabet=st.sampled_from(["甲", "a", " ", "&", "<", ">", ";", "\x01", "\x1f"])))
def test_text_is_escaped_for_xml_and_decodes_back(value: str) -> None:
    escaped = _text(value)
    assert not set(escaped) & set("<>\x01\x1f")
    decoded = re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), escaped)
    assert unescape(decoded) == value
