"""Every measure of the default list, exercised: facts that trigger it → the decision and its
reasons; the same facts made harmless → no decision. Generated from the catalog itself."""

from __future__ import annotations

import datetime as dt

import pytest

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.loader import default_catalog_files, parse_catalog_file
from xinyong.catalog.schemas import Measure
from xinyong.measures.engine import ListFact, RecordFact, SubjectFacts, decide, verdict_of

ON = dt.date(2026, 11, 23)


def load() -> Catalog:
    catalog = Catalog()
    for path in default_catalog_files():
        for parsed in parse_catalog_file(path):
            catalog.section(parsed.section)[parsed.entry.code] = parsed.entry
    return catalog


CATALOG = load()
MEASURES = sorted(CATALOG.measures.values(), key=lambda m: m.code)


def triggering_facts(measure: Measure) -> SubjectFacts:
    t = measure.trigger
    records: list[RecordFact] = []
    lists: list[ListFact] = []
    if t.lists:
        lists.append(ListFact(501, t.lists[0], "测试列入理由", ON - dt.timedelta(days=30)))
    if t.items or t.min_grade:
        code = (
            t.items[0]
            if t.items
            else next(
                i.code
                for i in CATALOG.items.values()
                if i.nature.value == "negative" and (not t.domains or i.domain in t.domains)
            )
        )
        item = CATALOG.items[code]
        grade = t.min_grade or item.default_grade
        records.append(
            RecordFact(
                701, code, item.name, item.domain, item.nature.value,
                grade if item.nature.value == "negative" else None,
                ON - dt.timedelta(days=40), "测〔2026〕1号",
            )
        )  # fmt: skip
    score = None
    if t.score_min is not None:
        score = t.score_min
    if t.score_max is not None:
        score = t.score_max
    known = ON - dt.timedelta(days=365 * 5) if t.clean_years else ON - dt.timedelta(days=40)
    return SubjectFacts(1, "测试", tuple(records), tuple(lists), score, None, known)


def harmless(measure: Measure, facts: SubjectFacts) -> SubjectFacts:
    t = measure.trigger
    score = facts.score
    if t.score_min is not None:
        score = t.score_min - 1
    if t.score_max is not None:
        score = t.score_max + 1
    last_negative = ON - dt.timedelta(days=100) if t.clean_years else None
    return SubjectFacts(1, "测试", (), (), score, last_negative, facts.known_since)


def scenario_of(measure: Measure) -> str:
    return measure.scenarios[0] if measure.scenarios else "ADMIN_LICENSING"


@pytest.mark.parametrize("measure", MEASURES, ids=[m.code for m in MEASURES])
def test_each_measure_is_decided_with_its_reasons(measure: Measure) -> None:
    facts = triggering_facts(measure)
    outcome = decide(facts, scenario_of(measure), CATALOG.measures.values(), CATALOG.grades, ON)
    decision = next((d for d in outcome.decisions if d.measure.code == measure.code), None)
    assert decision is not None, f"{measure.code} not decided"
    kinds = {t.kind for t in decision.triggers}
    if measure.trigger.lists:
        assert any(
            t.kind == "list" and t.ref == 501 and "测试列入理由" in t.text
            for t in decision.triggers
        )
    if measure.trigger.items or measure.trigger.min_grade:
        assert any(
            t.kind == "record" and t.ref == 701 and "测〔2026〕1号" in t.text
            for t in decision.triggers
        )
    if measure.trigger.score_min is not None or measure.trigger.score_max is not None:
        assert "score" in kinds
    if measure.trigger.clean_years:
        assert "clean" in kinds
    assert outcome.verdict == verdict_of(outcome.decisions)
    if measure.effect == "block":
        assert outcome.verdict == "blocked"


@pytest.mark.parametrize("measure", MEASURES, ids=[m.code for m in MEASURES])
def test_each_measure_is_not_decided_without_its_trigger(measure: Measure) -> None:
    facts = harmless(measure, triggering_facts(measure))
    outcome = decide(facts, scenario_of(measure), CATALOG.measures.values(), CATALOG.grades, ON)
    assert measure.code not in {d.measure.code for d in outcome.decisions}


@pytest.mark.parametrize(
    "measure",
    [m for m in MEASURES if m.scenarios],
    ids=[m.code for m in MEASURES if m.scenarios],
)
def test_measures_stay_in_their_scenarios(measure: Measure) -> None:
    other = next(s for s in CATALOG.scenarios if s not in measure.scenarios)
    outcome = decide(triggering_facts(measure), other, [measure], CATALOG.grades, ON)
    assert outcome.decisions == ()


def test_punishment_reaches_the_legal_representative_only_where_marked() -> None:
    org = SubjectFacts(9, "甲公司", (), (ListFact(900, "black", "公司列入", ON),), None, None, None)
    person = SubjectFacts(1, "张三", organisations=(org,))
    outcome = decide(person, "HIGH_CONSUMPTION", CATALOG.measures.values(), CATALOG.grades, ON)
    assert outcome.decisions == ()  # 限制高消费 needs the 失信被执行人 record itself
    outcome = decide(person, "SOE_EXECUTIVE", CATALOG.measures.values(), CATALOG.grades, ON)
    executive = next(d for d in outcome.decisions if d.measure.code == "P_RESTRICT_EXECUTIVE")
    assert executive.triggers[0].via_organisation == "甲公司"
    outcome = decide(person, "FISCAL_SUPPORT", CATALOG.measures.values(), CATALOG.grades, ON)
    assert "P_RESTRICT_POLICY_SUPPORT" not in {d.measure.code for d in outcome.decisions}


def test_default_list_covers_the_seeds() -> None:
    names = " ".join(m.name for m in MEASURES)
    for phrase in ("限制高消费", "限制招录", "限制行政许可", "限制市场准入", "优先办理", "绿色通道",
                   "容缺受理", "加大日常监督检查频次", "公开披露", "不予接纳",
                   "公共交通", "租借租赁", "旅游"):  # fmt: skip
        assert phrase in names, phrase
    assert {m.kind for m in MEASURES} == {"reward", "punishment"}
    sanctioned = {code for m in MEASURES for code in m.trigger.items if code.startswith("ASSOC_")}
    assert {c for c in CATALOG.items if c.startswith("ASSOC_")} <= sanctioned  # 警告 … 劝退
