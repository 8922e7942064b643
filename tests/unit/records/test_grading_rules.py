"""The grading precedence and the national display-period bounds, as properties."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.loader import default_catalog_files, parse_catalog_file
from xinyong.catalog.schemas import (
    Behaviour,
    Domain,
    Grade,
    GradeCondition,
    GradingRule,
    InformationItem,
    PeriodOverride,
)
from xinyong.records.display import (
    NATIONAL_PERIOD_BOUNDS,
    display_window,
    last_day,
    period_problems,
    permitted_bounds,
)
from xinyong.records.grading import (
    Grader,
    grade_record,
    grade_source_label,
    record_domain,
)

GRADES = {
    "minor": Grade(code="minor", name="轻微", rank=1, min_months=0, max_months=3),
    "general": Grade(code="general", name="一般", rank=2, min_months=3, max_months=12),
    "serious": Grade(code="serious", name="严重", rank=3, min_months=12, max_months=36),
}
grade_codes = st.sampled_from(sorted(GRADES))


def default_catalog() -> Catalog:
    catalog = Catalog()
    for path in default_catalog_files():
        for parsed in parse_catalog_file(path):
            catalog.section(parsed.section)[parsed.entry.code] = parsed.entry
    return catalog


ITEM = InformationItem(
    code="IT", name="测试项", info_type="T", domain="D", nature="negative", default_grade="general"
)


@given(
    department=st.one_of(st.none(), grade_codes),
    behaviour=st.one_of(st.none(), grade_codes),
    rules=st.lists(st.tuples(grade_codes, st.booleans()), max_size=4),
    default=grade_codes,
)
def test_precedence_department_then_behaviour_then_rules_then_default(
    department: str | None,
    behaviour: str | None,
    rules: list[tuple[str, bool]],
    default: str,
) -> None:
    item = ITEM.model_copy(update={"default_grade": default})
    grading_rules = [
        GradingRule(
            code=f"R{i}",
            name=f"规则{i}",
            grade=grade,
            # A rule matches when its 处罚类别 is the record's.
            when=GradeCondition(penalty_categories=("罚款" if matches else "警告",)),
        )
        for i, (grade, matches) in enumerate(rules)
    ]
    named = (
        Behaviour(code="B", name="行为", nature="negative", grade=behaviour, items=("IT",))
        if behaviour
        else None
    )
    decision = grade_record(
        item,
        {"penalty_category": ["罚款"]},
        grading_rules,
        GRADES,
        department,
        behaviour=named,
    )
    matching = [g for g, m in rules if m]
    if department:
        assert (decision.grade, decision.grade_source) == (department, "department")
    elif behaviour:
        assert (decision.grade, decision.grade_source) == (behaviour, "behaviour:B")
    elif matching:
        worst = max(matching, key=lambda g: GRADES[g].rank)
        assert decision.grade == worst and decision.source == "rule"
        assert decision.rule is not None and rules[int(decision.rule[1:])][0] == worst
    else:
        assert (decision.grade, decision.grade_source) == (default, "catalog")


CATALOG = default_catalog()


@given(
    behaviour=st.sampled_from(["DRUNK_DRIVING", "醉酒驾驶机动车", "酒后驾车", "", "HIT_AND_RUN"]),
    kind=st.sampled_from(["醉酒驾驶", "饮酒驾驶", "肇事逃逸", "其他", "无证驾驶"]),
    stated=st.one_of(st.none(), grade_codes),
)
def test_the_memoised_grader_agrees_with_the_rule_and_names_its_source(
    behaviour: str, kind: str, stated: str | None
) -> None:
    grader = Grader(CATALOG)
    item = CATALOG.items["SERIOUS_TRAFFIC_VIOLATION"]
    facts = {"violation_kind": kind}
    first = grader.decide(item, facts, behaviour or None, stated)
    again = grader.decide(item, dict(facts), behaviour or None, stated)
    assert first == again
    decision, match = first
    if stated:
        assert decision.grade == stated
    elif match.behaviour is not None:
        assert decision.grade == match.behaviour.grade
        assert decision.grade_source == f"behaviour:{match.behaviour.code}"
        assert grade_source_label(decision.grade_source, CATALOG).startswith("信用行为分类目录：")
    if {behaviour, kind} & {
        "DRUNK_DRIVING",
        "醉酒驾驶机动车",
        "醉酒驾驶",
        "HIT_AND_RUN",
        "肇事逃逸",
    }:
        assert stated or decision.grade == "serious"


@given(
    basis=st.sampled_from(
        [
            "",
            "《中华人民共和国食品安全法》第一百二十四条",
            "依据《安全生产法》和《食品安全法》",
            "《行政处罚法》",
        ]
    ),
    authority=st.sampled_from(["", "示范市应急管理局", "示范市市场监督管理局"]),
)
def test_double_publicity_domain_prefers_the_basis_then_the_authority(
    basis: str, authority: str
) -> None:
    item = CATALOG.items["SGS_PENALTY"]
    domain = record_domain(
        item, {"penalty_basis": basis, "authority": authority}, CATALOG.domains.values()
    )
    if "安全生产法" in basis:  # cited first
        assert domain == "WORK_SAFETY"
    elif "食品安全法" in basis:
        assert domain == "FOOD_DRUG"
    elif "应急管理局" in authority:
        assert domain == "WORK_SAFETY"
    else:
        assert domain == item.domain == "GENERAL"
    # A generic item keeps its own domain whatever its facts say.
    generic = CATALOG.items["FOOD_DRUG_VIOLATION"]
    assert record_domain(generic, {"penalty_basis": basis}, [Domain(code="X", name="X", laws=("法",))]) == generic.domain  # fmt: skip


@given(
    grade=grade_codes,
    low=st.integers(0, 48),
    span=st.integers(0, 48),
    profile=st.sampled_from(["national", "changsha"]),
    decided=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2026, 12, 1)),
)
def test_a_catalog_period_outside_the_national_bounds_is_refused(
    grade: str, low: int, span: int, profile: str, decided: dt.date
) -> None:
    high = low + span
    item = ITEM.model_copy(
        update={
            "default_grade": grade,
            "periods": {grade: PeriodOverride(min_months=low, max_months=high)},
        }
    )
    problems = period_problems(GRADES, [item], profile)
    national = NATIONAL_PERIOD_BOUNDS[grade]
    allowed = permitted_bounds(grade, profile)
    within = allowed.min_months <= low and high <= allowed.max_months
    assert (problems == []) == within
    if profile == "national":
        assert allowed == national
    else:  # Changsha widens every grade to its three years, never narrows
        assert allowed.max_months == 36 and allowed.min_months == national.min_months
    if within:
        _, until = display_window(item, GRADES[grade], decided, profile=profile)
        assert until is not None
        limit = 36 if profile == "changsha" else national.max_months
        assert until <= last_day(decided, limit)
    else:
        assert all("国家发展改革委令第36号" in message for _, _, message in problems)


def test_the_shipped_catalog_keeps_the_national_bounds() -> None:
    assert period_problems(CATALOG.grades, CATALOG.items.values(), "national") == []
    cheating = CATALOG.items["EXAM_CHEATING"].periods["general"]
    assert cheating.max_months <= 12
