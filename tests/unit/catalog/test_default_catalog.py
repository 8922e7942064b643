"""The default catalog shipped in ``xinyong/catalog/data``: parses, cross-references hold,
and it covers what DOMAIN §4, §6, §7, §9 and §16 require. No database."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from xinyong.catalog import services
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.loader import (
    DATA_DIR,
    ParsedEntry,
    default_catalog_files,
    parse_catalog_file,
    parse_catalog_text,
)
from xinyong.catalog.schemas import InformationItem, Nature, OpenLevel
from xinyong.errors import InvalidInput
from xinyong.records.formats import SUBJECT_COLUMNS, normalize_header

NATIONAL_INFO_TYPES = {
    "登记注册基本信息",
    "司法裁判及执行信息",
    "行政管理信息",
    "职称和职业信息",
    "经营(活动)异常名录",
    "严重失信主体名单",
    "合同履行信息",
    "信用承诺及履行情况",
    "信用评价结果",
    "遵守法律法规情况",
    "诚实守信相关荣誉",
    "知识产权信息",
    "主体自愿提供的信息",
}
LOCAL_INFO_TYPES = {"资格资质", "表彰奖励", "公共事业费欠缴", "金融活动", "重点关注"}

KEY_DOMAINS = {
    "食品药品",
    "安全生产",
    "消防安全",
    "交通安全",
    "环境保护",
    "生物安全",
    "产品质量",
    "不动产交易",
    "税收缴纳",
    "医疗卫生",
    "劳动保障",
    "社会保险",
    "社会救助",
    "工程建设",
    "金融服务",
    "知识产权",
    "司法诉讼",
    "电子商务",
    "志愿服务",
    "统计调查",
    "涉税中介服务",
}
EXTRA_DOMAINS = {
    "GENERAL": "综合",
    "EDUCATION": "教育考试",
    "INDUSTRY_SELF_REGULATION": "行业自律",
    "PUBLIC_UTILITY": "公共事业",
}

KEY_GROUPS = {
    "公务员",
    "事业单位工作人员",
    "企业法定代表人及相关责任人",
    "律师",
    "教师",
    "医师",
    "执业药师",
    "食品药品关键岗位从业人员",
    "评估师",
    "税务师",
    "注册消防工程师",
    "会计师",
    "审计师",
    "统计从业人员",
    "房地产中介从业人员",
    "认证人员",
    "金融从业人员",
    "导游",
    "寄递人员",
    "安全评估师",
    "卫生评估师",
    "道路运输经营者及从业人员",
    "机动车驾驶人",
    "环评及检验检测从业人员",
    "质量检验检测人员",
    "专利代理人",
    "电子商务平台从业人员",
    "工程建设设计/施工/监理负责人及注册人员",
    "社会救助受助人群",
    "信用服务机构从业人员",
    "18岁以上学生",
}

WATCH_BEHAVIOURS = [
    "恶意逃废债务",
    "骗取财政资金",
    "行贿受贿",
    "非法集资",
    "电信诈骗",
    "网络欺诈",
    "金融欺诈",
    "严重交通违法",
    "制假售假",
    "虚报瞒报工资总额",
    "拖欠社会保险费",
    "偷逃税款",
    "骗取社会保险基金",
    "骗取社会救助",
    "出具虚假证明",
    "妨碍医疗秩序",
    "造谣传谣",
]
RED_HONOURS = [
    "诚信道德模范",
    "优秀(青年)志愿者",
    "A级纳税人",
    "行业协会商会推荐的诚信会员",
    "新闻媒体挖掘的诚信主体",
    "身边好人",
]
BLACK_LISTS = [
    "失信被执行人",
    "重大税收违法失信当事人",
    "统计严重失信",
    "拖欠农民工工资严重失信",
    "安全生产严重失信",
]
STUDENT_ITEMS = ["考试舞弊", "学术造假", "不履行助学贷款还款承诺", "伪造就业材料"]
ASSOCIATION_SANCTIONS = [
    "警告",
    "行业内通报批评",
    "公开谴责",
    "不予接纳",
    "限制任职",
    "限制发起",
    "劝退",
]

PENALTY_CATEGORIES = (
    "警告",
    "罚款",
    "没收违法所得、没收非法财物",
    "责令停产停业",
    "暂扣或者吊销许可证、暂扣或者吊销执照",
    "行政拘留",
    "其他",
)
# name → (label, type, required); None means "not checked"
SGS_PENALTY_FIELDS: dict[str, tuple[str, str | None, bool | None]] = {
    "penalty_basis": ("处罚依据", None, None),
    "penalty_category": ("处罚类别", "enum_multi", True),
    "penalty_content": ("处罚内容", None, True),
    "fine_amount": ("罚款金额（万元）", "decimal", None),
    "confiscated_amount": ("没收违法所得、没收非法财物的金额（万元）", "decimal", None),
    "licence_revoked": ("暂扣或吊销证照名称及编号", None, None),
    "penalty_valid_until": ("处罚有效期", "date", None),
    "publish_until": ("公示截止期", "date", None),
    "authority": ("处罚机关", None, True),
    "authority_code": ("处罚机关统一社会信用代码", None, None),
    "source_unit": ("数据来源单位", None, None),
    "source_unit_code": ("数据来源单位统一社会信用代码", None, None),
    "remarks": ("备注", None, None),
    "facts": ("违法事实", None, True),
    "behaviour_type": ("违法行为类型", None, True),
}
SGS_LICENSE_FIELDS: dict[str, tuple[str, str | None, bool | None]] = {
    "licence_category": ("许可类别", "enum", None),
    "licence_name": ("许可证书名称", None, None),
    "licence_number": ("许可编号", None, None),
    "licence_content": ("许可内容", None, True),
    "valid_from": ("有效期自", "date", None),
    "valid_until": ("有效期至", "date", None),
    "authority": ("许可机关", None, True),
    "authority_code": ("许可机关统一社会信用代码", None, None),
    "source_unit": ("数据来源单位", None, None),
    "source_unit_code": ("数据来源单位统一社会信用代码", None, None),
    "remarks": ("备注", None, None),
}
# Fields of the 双公示 formats that deliberately stand for a common column (see
# ``xinyong.records.validation.FIELD_FALLBACKS``).
SGS_FALLBACK_FIELDS = {"behaviour_type", "publish_until", "source_unit_code"}

MY_FILES = ("00_base.yaml", "10_items.yaml", "20_behaviours.yaml", "30_scenarios.yaml")


def _build(paths: list[Path]) -> tuple[Catalog, list[ParsedEntry]]:
    catalog = Catalog()
    parsed_all: list[ParsedEntry] = []
    for path in paths:
        for parsed in parse_catalog_file(path):
            section = catalog.section(parsed.section)
            assert parsed.entry.code not in section, (path.name, parsed.section, parsed.entry.code)
            section[parsed.entry.code] = parsed.entry
            parsed_all.append(parsed)
    return catalog, parsed_all


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return _build(default_catalog_files())[0]


@pytest.fixture(scope="module")
def items(catalog: Catalog) -> list[InformationItem]:
    return list(catalog.items.values())


def _items_named(items: list[InformationItem], text: str) -> list[InformationItem]:
    return [i for i in items if text in i.name]


# -- files, parsing, references ---------------------------------------------------------


def test_default_files_exist_with_version_and_description() -> None:
    import yaml

    names = [p.name for p in default_catalog_files()]
    for name in MY_FILES:
        assert name in names
        doc = yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
        assert doc["version"] == 1
        assert doc["description"].strip()
        assert "departments" not in doc


def test_default_catalog_has_no_dangling_references(catalog: Catalog) -> None:
    assert catalog.check_references() == []


def test_my_files_alone_are_consistent() -> None:
    catalog, _ = _build([DATA_DIR / name for name in MY_FILES])
    assert catalog.check_references() == []


def test_behaviours_and_scenarios_files_hold_only_their_section() -> None:
    assert {p.section for p in parse_catalog_file(DATA_DIR / "20_behaviours.yaml")} == {
        "behaviours"
    }
    assert {p.section for p in parse_catalog_file(DATA_DIR / "30_scenarios.yaml")} == {"scenarios"}
    assert {p.section for p in parse_catalog_file(DATA_DIR / "10_items.yaml")} == {"items"}


# -- base: grades, info types, domains, key groups ---------------------------------------


def test_three_national_grades(catalog: Catalog) -> None:
    got = {g.code: (g.name, g.rank, g.min_months, g.max_months) for g in catalog.grades.values()}
    assert got == {
        "minor": ("轻微", 1, 0, 3),
        "general": ("一般", 2, 3, 12),
        "serious": ("严重", 3, 12, 36),
    }


def test_info_types_are_the_national_thirteen_plus_local(catalog: Catalog) -> None:
    names = {t.name for t in catalog.info_types.values()}
    assert names == NATIONAL_INFO_TYPES | LOCAL_INFO_TYPES


def test_domains_cover_every_key_domain(catalog: Catalog) -> None:
    names = {d.name for d in catalog.domains.values()}
    assert names >= KEY_DOMAINS
    for code, name in EXTRA_DOMAINS.items():
        assert catalog.domains[code].name == name
    assert len(names) == len(catalog.domains) == len(KEY_DOMAINS) + len(EXTRA_DOMAINS)


def test_key_groups_cover_every_key_group(catalog: Catalog) -> None:
    assert {g.name for g in catalog.key_groups.values()} == KEY_GROUPS
    assert catalog.key_groups["STUDENT"].min_age == 18
    assert all(g.min_age is None for c, g in catalog.key_groups.items() if c != "STUDENT")


# -- items: coverage ---------------------------------------------------------------------


def test_item_count_is_reasonable(items: list[InformationItem]) -> None:
    assert 70 <= len(items) <= 110


def test_every_domain_is_used(catalog: Catalog, items: list[InformationItem]) -> None:
    assert {i.domain for i in items} == set(catalog.domains)


def test_every_national_info_type_is_used(catalog: Catalog, items: list[InformationItem]) -> None:
    used = {catalog.info_types[i.info_type].name for i in items}
    assert used >= NATIONAL_INFO_TYPES
    assert used >= LOCAL_INFO_TYPES


def test_every_key_group_is_referenced(catalog: Catalog, items: list[InformationItem]) -> None:
    used = {g for i in items for g in i.key_groups}
    assert used == set(catalog.key_groups)


def test_every_nature_and_list_kind_is_present(items: list[InformationItem]) -> None:
    assert {i.nature for i in items} == set(Nature)
    assert {i.list_kind for i in items} == {None, "red", "black", "watch"}
    assert {i.open_level for i in items} == set(OpenLevel)


def test_student_items(catalog: Catalog, items: list[InformationItem]) -> None:
    for name in STUDENT_ITEMS:
        found = [
            i
            for i in _items_named(items, name)
            if i.domain == "EDUCATION" and "STUDENT" in i.key_groups
        ]
        assert found, name
        assert all(i.nature is Nature.NEGATIVE for i in found)


def test_industry_association_sanctions(items: list[InformationItem]) -> None:
    sanctions = [
        i for i in items if i.domain == "INDUSTRY_SELF_REGULATION" and i.nature is Nature.NEGATIVE
    ]
    for name in ASSOCIATION_SANCTIONS:
        assert any(name in i.name for i in sanctions), name
    ranks = {"minor": 1, "general": 2, "serious": 3}

    def rank(name: str) -> int:
        item = next(i for i in sanctions if name in i.name)
        return ranks[item.default_grade or ""]

    assert rank("警告") <= rank("行业内通报批评") <= rank("公开谴责") <= rank("劝退")


def test_red_list_honours(catalog: Catalog, items: list[InformationItem]) -> None:
    for name in RED_HONOURS:
        found = [i for i in items if i.name == name]
        assert len(found) == 1, name
        item = found[0]
        assert item.list_kind == "red"
        assert item.nature is Nature.POSITIVE
        assert catalog.info_types[item.info_type].name == "诚实守信相关荣誉"
        assert item.validity_months
        assert item.open_level is OpenLevel.PUBLIC


def test_black_lists(catalog: Catalog, items: list[InformationItem]) -> None:
    for name in BLACK_LISTS:
        assert any(i.list_kind == "black" for i in _items_named(items, name)), name
    for item in items:
        if item.list_kind == "black":
            assert item.nature is Nature.NEGATIVE
            assert item.default_grade == "serious"
            assert catalog.info_types[item.info_type].name == "严重失信主体名单"
            assert item.open_level is OpenLevel.PUBLIC
    debtor = next(i for i in items if i.name == "失信被执行人")
    assert debtor.domain == "JUDICIAL"
    assert any("法院" in d for d in debtor.providing_departments)


def test_watch_list_items(catalog: Catalog, items: list[InformationItem]) -> None:
    watch = [i for i in items if i.list_kind == "watch"]
    for name in WATCH_BEHAVIOURS:
        assert any(name in i.name for i in watch), name
    for item in watch:
        assert item.nature is Nature.NEGATIVE
        assert catalog.info_types[item.info_type].name == "重点关注"


def test_sgs_penalty(catalog: Catalog) -> None:
    item = catalog.items["SGS_PENALTY"]
    assert item.name == "行政处罚（双公示）"
    assert item.record_format == "sgs_penalty"
    assert item.nature is Nature.NEGATIVE
    assert item.default_grade == "general"
    assert item.open_level is OpenLevel.PUBLIC
    assert set(item.subject_kinds) == {"person", "organisation"}
    assert item.reaches_responsible_persons
    assert catalog.info_types[item.info_type].name == "行政管理信息"
    assert item.domain == "GENERAL"
    _assert_fields(item, SGS_PENALTY_FIELDS)
    category = item.field("penalty_category")
    assert category is not None and category.choices == PENALTY_CATEGORIES
    assert catalog.item_for_format("sgs_penalty") is item


def test_sgs_license(catalog: Catalog) -> None:
    item = catalog.items["SGS_LICENSE"]
    assert item.name == "行政许可（双公示）"
    assert item.record_format == "sgs_license"
    assert item.nature is Nature.NEUTRAL
    assert item.open_level is OpenLevel.PUBLIC
    assert item.validity_months == 36
    assert catalog.info_types[item.info_type].name == "行政管理信息"
    _assert_fields(item, SGS_LICENSE_FIELDS)
    category = item.field("licence_category")
    assert category is not None
    assert category.choices == ("普通", "特许", "认可", "核准", "登记", "其他")
    assert catalog.item_for_format("sgs_license") is item


def _assert_fields(
    item: InformationItem, expected: dict[str, tuple[str, str | None, bool | None]]
) -> None:
    for name, (label, type_, required) in expected.items():
        spec = item.field(name)
        assert spec is not None, name
        assert spec.label == label, name
        if type_ is not None:
            assert spec.type == type_, name
        if required is not None:
            assert spec.required is required, name


def test_only_the_two_sgs_items_use_sgs_formats(items: list[InformationItem]) -> None:
    formats = {i.code: i.record_format for i in items if i.record_format != "generic"}
    assert formats == {"SGS_PENALTY": "sgs_penalty", "SGS_LICENSE": "sgs_license"}


# -- items: internal sanity --------------------------------------------------------------


def test_every_item_has_sensible_metadata(items: list[InformationItem]) -> None:
    for item in items:
        assert item.fields, item.code
        assert item.providing_departments, item.code
        assert item.description, item.code
        assert item.frequency, item.code
        names = [f.name for f in item.fields]
        assert len(names) == len(set(names)), item.code
        labels = [f.label for f in item.fields]
        assert len(labels) == len(set(labels)), item.code
        for spec in item.fields:
            assert len(spec.choices) == len(set(spec.choices)), (item.code, spec.name)
        if item.nature is Nature.POSITIVE:
            assert item.list_kind in (None, "red"), item.code
        if item.nature is Nature.NEUTRAL:
            assert item.list_kind is None, item.code
        if item.list_kind == "red":
            assert item.nature is Nature.POSITIVE, item.code


def test_period_overrides_are_sane(catalog: Catalog, items: list[InformationItem]) -> None:
    overridden = [i for i in items if i.periods]
    assert overridden
    for item in overridden:
        assert item.nature is Nature.NEGATIVE
        for grade, period in item.periods.items():
            assert grade in catalog.grades
            assert period.max_months <= 60  # at most Zhejiang/Shanghai's five years


def test_field_labels_do_not_hide_common_columns(items: list[InformationItem]) -> None:
    """A field label equal to a common column (姓名, 证件号码, 决定日期…) would capture it."""
    common = {normalize_header(a) for aliases in SUBJECT_COLUMNS.values() for a in aliases}
    for item in items:
        for spec in item.fields:
            headers = {normalize_header(h) for h in (spec.label, spec.name, *spec.aliases)}
            if headers & common:
                assert item.record_format != "generic", (item.code, spec.name)
                assert spec.name in SGS_FALLBACK_FIELDS, (item.code, spec.name)


def test_open_levels_follow_the_rules(items: list[InformationItem]) -> None:
    by_code = {i.code: i for i in items}
    assert by_code["UTILITY_ARREARS"].open_level is OpenLevel.AUTHORIZED
    assert by_code["LOAN_OVERDUE"].open_level is OpenLevel.AUTHORIZED
    assert by_code["TRAFFIC_VIOLATION"].open_level is OpenLevel.GOVERNMENT


# -- behaviours -----------------------------------------------------------------------


def test_behaviours_cover_negative_and_positive_items(catalog: Catalog) -> None:
    referenced = {code for b in catalog.behaviours.values() for code in b.items}
    for item in catalog.items.values():
        if item.nature is not Nature.NEUTRAL:
            assert item.code in referenced, item.code


def test_behaviour_grades_match_nature(catalog: Catalog) -> None:
    for behaviour in catalog.behaviours.values():
        if behaviour.nature is Nature.NEGATIVE:
            assert behaviour.grade in catalog.grades, behaviour.code
        else:
            assert behaviour.grade is None, behaviour.code
            assert not behaviour.watch_list, behaviour.code
        for code in behaviour.items:
            assert catalog.items[code].nature is behaviour.nature, behaviour.code


def test_watch_list_behaviours(catalog: Catalog) -> None:
    watch = [b for b in catalog.behaviours.values() if b.watch_list]
    for name in WATCH_BEHAVIOURS:
        assert any(name in b.name for b in watch), name
    watch_items = {i.code for i in catalog.items.values() if i.list_kind == "watch"}
    assert watch_items <= {code for b in watch for code in b.items}


def test_sgs_penalty_behaviours_span_all_grades(catalog: Catalog) -> None:
    grades = {b.grade for b in catalog.behaviours.values() if "SGS_PENALTY" in b.items}
    assert grades == set(catalog.grades)


# -- scenarios -------------------------------------------------------------------------


SCENARIOS = [
    "行政许可",
    "公务员招录",
    "事业单位招聘",
    "政府采购",
    "招标投标",
    "评先评优",
    "职称评定",
    "人大代表政协委员资格审核",
    "党代会代表候选人推荐",
    "高消费",
    "融资信贷",
    "财政资金支持",
    "市场准入",
    "国有企业高管任职",
    "公务人员调任选任",
    "后备干部提拔",
    "员工招录",
    "升学",
    "毕业",
    "奖学金",
    "公共交通优惠",
    "租借租赁",
    "旅游门票优惠",
    "行业协会会员管理",
    "日常监督检查",
]


def test_scenarios_present(catalog: Catalog) -> None:
    names = [s.name for s in catalog.scenarios.values()]
    for wanted in SCENARIOS:
        assert any(wanted in n for n in names), wanted
    for scenario in catalog.scenarios.values():
        assert scenario.check_method, scenario.code
        assert scenario.description, scenario.code


def test_mandatory_scenarios_follow_qingdao(catalog: Catalog) -> None:
    by_name = {s.name: s for s in catalog.scenarios.values()}
    for name in ("行政许可", "公务员招录", "评先评优", "职称评定", "员工招录", "国有企业高管任职"):
        assert by_name[name].mandatory, name
    for name in ("高消费", "公共交通优惠", "旅游门票优惠", "升学"):
        assert not by_name[name].mandatory, name


# -- loader error messages name the line -------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_grade_with_min_above_max_names_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\n"
        "grades:\n"
        "  - code: minor\n"
        "    name: 轻微\n"
        "    rank: 1\n"
        "    min_months: 0\n"
        "    max_months: 3\n"
        "  - code: odd\n"
        "    name: 颠倒\n"
        "    rank: 2\n"
        "    min_months: 12\n"
        "    max_months: 3\n",
    )
    with pytest.raises(InvalidInput) as exc:
        parse_catalog_file(path)
    assert "第 8 行" in exc.value.message
    assert "bad.yaml" in exc.value.message
    assert "odd" in exc.value.message
    assert exc.value.code == "catalog_entry"


def test_item_period_with_min_above_max_names_its_line(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "items:\n"
        "  - code: X_OK\n"
        "    name: 正常\n"
        "    info_type: LAW_COMPLIANCE\n"
        "    domain: GENERAL\n"
        "    nature: positive\n"
        "  - code: X_BAD\n"
        "    name: 颠倒\n"
        "    info_type: LAW_COMPLIANCE\n"
        "    domain: GENERAL\n"
        "    nature: negative\n"
        "    default_grade: general\n"
        "    periods:\n"
        "      general: {min_months: 24, max_months: 6}\n"
    )
    with pytest.raises(InvalidInput) as exc:
        parse_catalog_text(text, "items.yaml")
    assert "第 8 行" in exc.value.message


def test_duplicated_code_names_the_second_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\n"
        "domains:\n"
        "  - {code: FOOD_DRUG, name: 食品药品}\n"
        "  - {code: TAX, name: 税收缴纳}\n"
        "  - {code: FOOD_DRUG, name: 食品药品（重复）}\n",
    )
    with pytest.raises(InvalidInput) as exc:
        parse_catalog_file(path)
    assert "第 5 行" in exc.value.message
    assert "FOOD_DRUG" in exc.value.message
    assert exc.value.code == "catalog_duplicate"


def test_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\ngrades:\n  - code: minor\n    name: 轻微: 错误\n    rank: 1\n",
    )
    with pytest.raises(InvalidInput) as exc:
        parse_catalog_file(path)
    assert "第 4 行" in exc.value.message
    assert exc.value.code == "catalog_yaml"


def test_unclosed_flow_mapping_names_a_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\ndomains:\n  - {code: TAX, name: 税收缴纳\n  - {code: IP, name: 知识产权}\n",
    )
    with pytest.raises(InvalidInput) as exc:
        parse_catalog_file(path)
    assert "第 4 行" in exc.value.message


UNKNOWN_GRADE_FILE = (
    "version: 1\n"
    "description: 引用不存在的等级\n"
    "items:\n"
    "  - code: X_FINE\n"
    "    name: 正常的目录项\n"
    "    info_type: LAW_COMPLIANCE\n"
    "    domain: GENERAL\n"
    "    nature: negative\n"
    "    default_grade: general\n"
    "  - code: X_UNKNOWN_GRADE\n"
    "    name: 等级不存在\n"
    "    info_type: LAW_COMPLIANCE\n"
    "    domain: GENERAL\n"
    "    nature: negative\n"
    "    default_grade: catastrophic\n"
)


def test_unknown_grade_reference_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """References are checked against the catalog the file would produce (no database:
    the catalog in force is the default one, built from the files)."""
    entries = parse_catalog_file(_write(tmp_path, UNKNOWN_GRADE_FILE))
    assert [e.line for e in entries] == [4, 10]
    monkeypatch.setattr(
        services, "current_catalog", lambda session: _build(default_catalog_files())[0]
    )
    with pytest.raises(InvalidInput) as exc:
        services.load_entries(cast(Any, None), entries, "bad.yaml")
    message = exc.value.message
    assert exc.value.code == "catalog_reference"
    assert "第 10 行" in message
    assert "catastrophic" in message
    assert "X_FINE" not in message


def test_unknown_period_grade_and_domain_name_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        "version: 1\n"
        "items:\n"
        "  - code: X_PERIOD\n"
        "    name: 期限等级不存在\n"
        "    info_type: LAW_COMPLIANCE\n"
        "    domain: NO_SUCH_DOMAIN\n"
        "    nature: negative\n"
        "    default_grade: general\n"
        "    periods:\n"
        "      dreadful: {min_months: 1, max_months: 2}\n"
    )
    entries = parse_catalog_text(text, "p.yaml")
    monkeypatch.setattr(
        services, "current_catalog", lambda session: _build(default_catalog_files())[0]
    )
    with pytest.raises(InvalidInput) as exc:
        services.load_entries(cast(Any, None), entries, "p.yaml")
    assert "第 3 行" in exc.value.message
    assert "dreadful" in exc.value.message
    assert "NO_SUCH_DOMAIN" in exc.value.message


def test_every_kind_of_dangling_reference_is_named(catalog: Catalog) -> None:
    """Catalog.check_references, one row of REFERENCES per kind: each broken reference
    is reported once, with its section, entry and message, in section order."""
    broken = catalog.copy()
    item = next(i for i in catalog.items.values() if i.nature is Nature.NEGATIVE)
    period = next(iter(item.periods.values()), None)
    broken.items = {
        item.code: item.model_copy(
            update={
                "domain": "NO_DOMAIN",
                "info_type": "无此类别",
                "default_grade": "nograde",
                "periods": {"nograde": period} if period else {},
                "department_grades": ("nograde",),
                "key_groups": ("NO_GROUP",),
            }
        )
    }
    behaviour = next(iter(catalog.behaviours.values()))
    broken.behaviours = {
        behaviour.code: behaviour.model_copy(update={"grade": "nograde", "items": ("NO_ITEM",)})
    }
    rule = next(iter(catalog.grading_rules.values()))
    when = rule.when.model_copy(update={"items": ("NO_ITEM",), "domains": ("NO_DOMAIN",)})
    broken.grading_rules = {rule.code: rule.model_copy(update={"grade": "nograde", "when": when})}
    measure = next(iter(catalog.measures.values()))
    trigger = measure.trigger.model_copy(
        update={"min_grade": "nograde", "items": ("NO_ITEM",), "domains": ("NO_DOMAIN",)}
    )
    broken.measures = {
        measure.code: measure.model_copy(update={"trigger": trigger, "scenarios": ("NO_SCENARIO",)})
    }
    model = next(iter(catalog.scoring_models.values()))
    kept = next(iter(catalog.grades))
    broken.scoring_models = {
        model.code: model.model_copy(
            update={
                "grade_points": {kept: -10, "nograde": -1},
                "item_points": {"NO_ITEM": 5},
            }
        )
    }
    i, b, r, m, s = item.code, behaviour.code, rule.code, measure.code, model.code
    expected = [
        ("items", i, f"目录项 {i} 的领域 NO_DOMAIN 不存在"),
        ("items", i, f"目录项 {i} 的信息类别 无此类别 不存在"),
        ("items", i, f"目录项 {i} 的默认等级 nograde 不存在"),
        *([("items", i, f"目录项 {i} 的公示期限等级 nograde 不存在")] if period else []),
        ("items", i, f"目录项 {i} 允许报送的等级 nograde 不存在"),
        ("items", i, f"目录项 {i} 的重点人群 NO_GROUP 不存在"),
        ("behaviours", b, f"行为 {b} 的等级 nograde 不存在"),
        ("behaviours", b, f"行为 {b} 引用的目录项 NO_ITEM 不存在"),
        ("grading_rules", r, f"定级规则 {r} 的等级 nograde 不存在"),
        ("grading_rules", r, f"定级规则 {r} 引用的目录项 NO_ITEM 不存在"),
        ("grading_rules", r, f"定级规则 {r} 引用的领域 NO_DOMAIN 不存在"),
        ("measures", m, f"措施 {m} 的等级 nograde 不存在"),
        ("measures", m, f"措施 {m} 引用的目录项 NO_ITEM 不存在"),
        ("measures", m, f"措施 {m} 引用的领域 NO_DOMAIN 不存在"),
        ("measures", m, f"措施 {m} 引用的场景 NO_SCENARIO 不存在"),
        ("scoring_models", s, f"积分模型 {s} 的等级 nograde 不存在"),
        *[
            ("scoring_models", s, f"积分模型 {s} 缺少等级 {g} 的分值")
            for g in catalog.grades
            if g != kept
        ],
        ("scoring_models", s, f"积分模型 {s} 引用的目录项 NO_ITEM 不存在"),
    ]
    problems = broken.check_references()
    # (the old implementation listed the missing grades in set order)
    assert sorted(problems) == sorted(expected) and len(problems) == len(expected)
    assert problems == expected
