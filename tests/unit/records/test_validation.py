"""The column-wise validation of many rows decides exactly what the per-row rule decides.

``RowValidator.validate_rows`` checks fixed-item tables column by column and sends every row
it cannot vouch for through ``RowValidator.validate``; these tests hold the two together on
random rows, valid and invalid, of the 双公示 penalty format and the licence item. No
database.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import penalty_row, resident_id
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.loader import default_catalog_files, parse_catalog_file
from xinyong.config import Keys
from xinyong.demo import SGS_PENALTY_HEADERS, credit_code_for
from xinyong.identity.protection import IdentityProtector
from xinyong.records.formats import map_columns
from xinyong.records.parsers import RawRow, RowProblem
from xinyong.records.validation import RowContext, RowError, RowValidator, ValidRow


def _catalog() -> Catalog:
    catalog = Catalog()
    for path in default_catalog_files():
        for parsed in parse_catalog_file(path):
            catalog.section(parsed.section)[parsed.entry.code] = parsed.entry
    return catalog


CATALOG = _catalog()
PROTECTOR = IdentityProtector(Keys(secrets.token_bytes(32), secrets.token_bytes(32)))
DEPT_CREDIT = credit_code_for(10_001)
OTHER_CREDIT = credit_code_for(10_002)
UNKNOWN_CREDIT = credit_code_for(10_003)
TODAY = dt.date.today()


def _validator(
    *, fixed_department: int | None = None, restrict: bool = False, item_code: str = "SGS_PENALTY"
) -> RowValidator:
    item = CATALOG.items[item_code]
    ctx = RowContext(
        catalog=CATALOG,
        protector=PROTECTOR,
        departments_by_credit_code={DEPT_CREDIT: 1, OTHER_CREDIT: 2},
        departments_by_code={"D1": 1, "D2": 2},
        fixed_department_id=fixed_department,
        restrict_to_department=restrict,
        fixed_item=item,
        submitted_by="测试",
        # 1 provides what the catalog says 市公安局 provides; 2 is 市教育局
        department_names={1: ("示范市公安局", "D1"), 2: ("示范市教育局", "D2")},
    )
    return RowValidator(ctx, map_columns(HEADERS, item))


HEADERS = [*SGS_PENALTY_HEADERS, "身份证号", "考试名称"]  # 考试名称: EXAM_CHEATING's own field


PERSON = resident_id()
MINOR = resident_id(birth=dt.date(TODAY.year - 17, 1, 1))
REP = resident_id(birth=dt.date(1975, 2, 3))
ORG = credit_code_for(424_242)

# Values worth trying in each column: valid spellings, near misses, blanks, junk.
CELLS: dict[str, list[str]] = {
    "行政相对人名称": ["张三", "", "  ", "示范有限公司", "名" * 201, " 李四 "],
    "行政相对人类别": ["自然人", "法人及非法人组织", "个体工商户", "", "外星人"],
    "行政相对人代码_1(统一社会信用代码)": ["", ORG, ORG.lower(), ORG[:-1] + "0", "123"],
    "法定代表人": ["", "王五"],
    "法定代表人证件类型": ["", "身份证", "护照", "统一社会信用代码", "驾照"],
    "法定代表人证件号码": ["", REP, "E12345678", REP[:-1] + "0", "11010519491231002"],
    "证件类型": ["身份证", "", "护照", "台胞证", "统一社会信用代码", "驾照", "社会保障卡"],
    "身份证号": ["", PERSON, MINOR, PERSON[:-1] + "0"],
    "考试名称": ["全国大学英语四级考试", ""],
    "证件号码": [
        PERSON,
        MINOR,
        PERSON[:6] + PERSON[8:17],  # 15 digits
        "110105194912310000",  # an 18-digit number Excel kept as a number
        "1.10105E+17",
        PERSON.lower(),
        "",
        "110105194912310021",  # check digit
        "11010519491231002",  # length
        "990105194912310028",  # region
        "110105194902300026",  # birth date
        "E12345678",
        " " + PERSON,
    ],
    "行政处罚决定书文号": ["测罚〔2025〕1号", "测罚〔2025〕2号", "", "文" * 201],
    "违法行为类型": ["无证经营", "", "行" * 501],
    "违法事实": ["经查存在违法行为", "", "  "],
    "处罚类别": [
        "罚款",
        "警告",
        "罚款;警告",
        "罚款，没收违法所得、没收非法财物",
        "打板子",
        "",
        "；",
    ],
    "处罚内容": ["给予罚款", ""],
    "罚款金额（万元）": ["", "1.5", "0.5", "25", "1,234.5", "一百", "-1", "1e5", "０.５"],
    "处罚决定日期": [
        (TODAY - dt.timedelta(days=20)).isoformat(),
        "2025/1/5",
        "2025年1月5日",
        "20250105",
        "45662",
        "2024",
        "2024年13月1日",
        (TODAY + dt.timedelta(days=3)).isoformat(),
        "",
        "1989-12-31",
    ],
    "公示截止期": ["", "2030-01-01", "2020-01-01", "不详"],
    "处罚有效期": ["", "2026-01-01", "明年"],
    "处罚机关": ["测试局", ""],
    "数据来源单位统一社会信用代码": [
        DEPT_CREDIT,
        OTHER_CREDIT,
        UNKNOWN_CREDIT,
        "",
        DEPT_CREDIT.lower(),
    ],
    "备注": ["", "无", "备" * 1001],
    "行政相对人代码_2(工商注册号)": ["", "110000000000000", "  "],
}


def _row(number: int, choices: dict[str, str], *, organisation: bool = False) -> RawRow:
    if organisation:
        values = penalty_row(name="示范有限公司", org_code=ORG, legal_rep=("王五", REP))
    else:
        values = penalty_row(id_number=PERSON)
    values["数据来源单位统一社会信用代码"] = DEPT_CREDIT
    values["考试名称"] = "全国大学英语四级考试"
    values["身份证号"] = ""
    values.update(choices)
    return RawRow(number, values, None)


@st.composite
def rows(draw: Any) -> list[RawRow]:
    count = draw(st.integers(min_value=1, max_value=12))
    result = []
    for number in range(2, count + 2):
        columns = draw(st.lists(st.sampled_from(sorted(CELLS)), max_size=4, unique=True))
        choices = {c: draw(st.sampled_from(CELLS[c])) for c in columns}
        result.append(_row(number, choices, organisation=draw(st.booleans())))
    return result


def _per_row(validator: RowValidator, raw: list[RawRow]) -> list[ValidRow | RowError]:
    return [validator.validate(r.number, r.values) for r in raw]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows(),
    st.sampled_from([(None, False), (1, False), (1, True), (2, False)]),
    st.sampled_from(["SGS_PENALTY", "SGS_PENALTY", "TELECOM_FRAUD", "EXAM_CHEATING"]),
)
def test_many_rows_at_once_decide_as_each_row_alone(
    raw: list[RawRow], department: tuple[int | None, bool], item_code: str
) -> None:
    """Also for the rules of issue 16: providers (department 1 may not submit the
    students' EXAM_CHEATING, 2 not TELECOM_FRAUD), minimum age, 15-digit numbers, Excel
    numbers, social security cards, aliases beside 身份证号, 个体工商户 operators."""
    fixed, restrict = department
    many = _validator(fixed_department=fixed, restrict=restrict, item_code=item_code)
    alone = _validator(fixed_department=fixed, restrict=restrict, item_code=item_code)
    assert many.validate_rows(raw) == _per_row(alone, raw)


def test_common_rows_take_the_column_pass_and_agree() -> None:
    validator = _validator()
    raw = [_row(n, {}) for n in range(2, 50)]
    raw.append(_row(50, {}, organisation=True))
    fast = validator._fast_rows(raw)
    assert all(isinstance(r, ValidRow) for r in fast)
    assert fast == _per_row(_validator(), raw)
    org = fast[-1]
    assert org is not None and org.legal_representative is not None
    assert org.legal_representative.name == "王五"


def test_bad_rows_fall_back_with_the_exact_error() -> None:
    raw = [
        _row(2, {}),
        _row(3, {"证件号码": "110105194912310021"}),
        _row(4, {"处罚类别": "打板子"}),
        _row(5, {"处罚决定日期": "2024年13月1日"}),
        _row(6, {"罚款金额（万元）": "一百"}),
    ]
    validator = _validator()
    assert [r is None for r in validator._fast_rows(raw)] == [False, True, True, True, True]
    outcomes = validator.validate_rows(raw)
    assert isinstance(outcomes[0], ValidRow)
    codes = [(o.row, o.column, o.code) for o in outcomes[1:] if isinstance(o, RowError)]
    assert codes == [
        (3, "证件号码", "id_checksum"),
        (4, "处罚类别", "invalid_choice"),
        (5, "处罚决定日期", "invalid_date"),
        (6, "罚款金额（万元）", "invalid_number"),
    ]
    assert outcomes == _per_row(_validator(), raw)


def test_rows_with_a_reading_problem_are_rejected_as_read() -> None:
    problem = RowProblem("cell_count", "该行只有 3 个单元格", None)
    raw = [_row(2, {}), RawRow(3, {}, problem), _row(4, {})]
    outcomes = _validator().validate_rows(raw)
    assert isinstance(outcomes[0], ValidRow) and isinstance(outcomes[2], ValidRow)
    assert outcomes[1] == RowError(3, None, "cell_count", "该行只有 3 个单元格")


@pytest.mark.parametrize("item_code", ["SGS_LICENSE", None])
def test_tables_without_the_column_pass_still_validate_each_row(item_code: str | None) -> None:
    item = CATALOG.items[item_code] if item_code else None
    headers = [
        "目录项",
        "部门代码",
        "姓名",
        "证件号码",
        "文书号",
        "决定日期",
        "许可内容",
        "许可机关",
    ]
    ctx = RowContext(
        catalog=CATALOG,
        protector=PROTECTOR,
        departments_by_credit_code={},
        departments_by_code={"D1": 1},
        fixed_department_id=None,
        restrict_to_department=False,
        fixed_item=item,
        submitted_by="测试",
    )
    values = dict(zip(headers, ["SGS_LICENSE", "D1", "赵六", PERSON, "许〔2025〕9号",
                                "2025-02-01", "食品经营许可", "测试局"], strict=True))  # fmt: skip
    raw = [RawRow(2, values), RawRow(3, dict(values, 决定日期="明天"))]
    outcomes = RowValidator(ctx, map_columns(headers, item)).validate_rows(raw)
    assert isinstance(outcomes[0], ValidRow) and outcomes[0].item_code == "SGS_LICENSE"
    assert isinstance(outcomes[1], RowError) and outcomes[1].code == "invalid_date"


def test_a_rejected_row_carries_every_error_and_a_converted_number_a_note() -> None:
    raw = [
        _row(2, {"证件号码": "110105194912310021", "处罚类别": "打板子", "处罚内容": ""}),
        _row(3, {"证件号码": PERSON[:6] + PERSON[8:17]}),
    ]
    bad, good = _validator().validate_rows(raw)
    assert isinstance(bad, RowError) and isinstance(good, ValidRow)
    assert [(e.column, e.code) for e in bad.every()] == [
        ("证件号码", "id_checksum"),
        ("处罚类别", "invalid_choice"),
        ("处罚内容", "required"),
    ]
    assert good.subject.number == PERSON
    assert [n.code for n in good.notes] == ["id_converted"]


def test_excel_numbers_and_minors_are_told_apart_from_typos() -> None:
    raw = [
        _row(2, {"证件号码": "110105194912310000"}),
        _row(3, {"证件号码": "1.10105E+17"}),
        _row(4, {"证件号码": "110105194912310021"}),
    ]
    codes = [o.code for o in _validator().validate_rows(raw) if isinstance(o, RowError)]
    assert codes == ["excel_number", "excel_number", "id_checksum"]
    validator = _validator(item_code="EXAM_CHEATING", fixed_department=2)
    raw = [_row(2, {"证件号码": MINOR}), _row(3, {})]
    minor, adult = validator.validate_rows(raw)
    assert isinstance(minor, RowError) and minor.code == "under_age"
    assert "未满 18 周岁" in minor.message
    assert isinstance(adult, ValidRow)
    assert validator._fast_rows(raw)[0] is None and validator._fast_rows(raw)[1] is not None
