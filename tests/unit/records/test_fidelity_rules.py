"""Property tests for the parsing rules of issue 16: JSON Lines keys after line 1, the
earlier 双公示 header generation, compound surnames. No database."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.identity.masking import COMPOUND_SURNAMES, Audience, mask_name
from xinyong.records.formats import LEGACY_RENAMES, legacy_headers
from xinyong.records.parsers import open_table

KEYS = st.sampled_from(["姓名", "证件号码", "失信等级", "文书号", "决定日期", "备注", "金额"])
OBJECTS = st.lists(
    st.dictionaries(KEYS, st.text(alphabet="甲乙丙123", max_size=4), min_size=1, max_size=5),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(OBJECTS)
def test_jsonl_headers_are_every_key_in_the_order_first_seen(objects: list[dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.jsonl"
        path.write_text(
            "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8"
        )
        with open_table(path) as table:
            rows = list(table.rows())
            headers = table.headers
    assert headers == list(dict.fromkeys(k for o in objects for k in o))
    assert [r.values for r in rows] == objects


LEGACY = [
    "行政处罚决定书文号", "案件名称", "处罚类别1", "处罚类别2", "处罚事由", "处罚结果",
    "行政相对人名称", "行政相对人代码_5(居民身份证号)", "处罚决定日期", "处罚机关",
]  # fmt: skip
CATEGORY = st.sampled_from(["", "罚款", "警告", "行政拘留"])


@given(
    st.permutations(LEGACY),
    st.booleans(),
    CATEGORY,
    CATEGORY,
    st.text(alphabet="经查违法", max_size=6),
)
def test_earlier_generation_rows_read_as_todays(
    order: list[str], with_case_name: bool, first: str, second: str, reason: str
) -> None:
    headers = [h for h in order if with_case_name or h != "案件名称"]
    legacy = legacy_headers(headers)
    assert legacy is not None
    values = dict.fromkeys(headers, "x")
    values.update({"处罚类别1": first, "处罚类别2": second, "处罚事由": reason})
    out = legacy.values(values)
    assert set(out) == set(legacy.headers)
    assert out["处罚类别"] == "；".join(c for c in (first, second) if c)
    assert out["违法事实"] == reason
    assert out["违法行为类型"] == ("x" if with_case_name else reason)
    for header in headers:  # everything else is kept under its own (or today's) name
        if header not in ("处罚类别1", "处罚类别2", "处罚事由", "案件名称"):
            assert out[LEGACY_RENAMES.get(header, header)] == values[header]
    assert legacy_headers(legacy.headers) is None  # today's headers need no adapter


SURNAME = st.sampled_from([*sorted(COMPOUND_SURNAMES), "张", "王", "欧", "司"])
GIVEN = st.text(alphabet="娜明亮光婉儿", min_size=1, max_size=3)


@given(SURNAME, GIVEN)
def test_a_compound_surname_is_kept_whole_and_nothing_else_shown(
    surname: str, given_name: str
) -> None:
    name = surname + given_name
    masked = mask_name(name, Audience.PUBLIC)
    assert len(masked) == len(name)
    keep = 2 if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES else 1
    assert masked == name[:keep] + "*" * (len(name) - keep)
    if len(surname) == 2 and len(name) >= 3:
        assert masked.startswith(surname)
    assert mask_name(name, Audience.SELF) == name
