"""The default measures list (措施清单), exercised measure by measure. Pure: no database.

Every measure in ``catalog/data/60_measures.yaml`` gets facts built from its own trigger;
the engine must decide it, name the record or list entry behind it, and give a verdict
that fits its effect. The same facts made harmless, one condition at a time, must not
decide it. The tables are generated from the catalog, so a measure added to the list is
tested without touching this file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.loader import default_catalog_files, parse_catalog_file
from xinyong.catalog.schemas import InformationItem, Measure, Nature
from xinyong.catalog.schemas import Trigger as MeasureTrigger
from xinyong.measures.engine import (
    LIST_TEXT,
    CheckOutcome,
    Decision,
    ListFact,
    RecordFact,
    SubjectFacts,
    decide,
    verdict_of,
)
from xinyong.records.display import add_months

ON = dt.date(2026, 6, 30)
LIST_ID = 501
RECORD_ID = 701
DOCUMENT = "测罚〔2026〕7号"
REASONS = "测试列入理由"
ORG_NAME = "测试有限公司"

VERDICT_RANK = {"clear": 0, "eased": 1, "restricted": 2, "blocked": 3}
EFFECT_VERDICT = {
    "block": "blocked",
    "restrict": "restricted",
    "scrutiny": "restricted",
    "ease": "eased",
    "priority": "eased",
}


def load_default_catalog() -> Catalog:
    catalog = Catalog()
    for path in default_catalog_files():
        for parsed in parse_catalog_file(path):
            catalog.section(parsed.section)[parsed.entry.code] = parsed.entry
    return catalog


CATALOG = load_default_catalog()
GRADES = CATALOG.grades
MEASURES = sorted(CATALOG.measures.values(), key=lambda m: m.code)
ALL_MEASURES = list(CATALOG.measures.values())
SCENARIOS = sorted(CATALOG.scenarios)
ITEMS = sorted(CATALOG.items.values(), key=lambda i: i.code)
POSITIVE_ITEMS = [i for i in ITEMS if i.nature is Nature.POSITIVE]
NEGATIVE_ITEMS = [i for i in ITEMS if i.nature is Nature.NEGATIVE]
GRADES_BY_RANK = sorted(GRADES.values(), key=lambda g: g.rank)
BASE_SCORE = CATALOG.scoring_models["default"].base


# -- building facts from a trigger -----------------------------------------------------------


def record_fact(
    item: InformationItem, grade: str | None, *, record_id: int = RECORD_ID, days_ago: int = 40
) -> RecordFact:
    return RecordFact(
        record_id,
        item.code,
        item.name,
        item.domain,
        item.nature.value,
        grade if item.nature is Nature.NEGATIVE else None,
        ON - dt.timedelta(days=days_ago),
        DOCUMENT,
    )


def _triggering_item(t: MeasureTrigger) -> InformationItem:
    candidates = [CATALOG.items[code] for code in t.items] if t.items else NEGATIVE_ITEMS
    return next(i for i in candidates if not t.domains or i.domain in t.domains)


def triggering_facts(measure: Measure, *, name: str = "张三") -> SubjectFacts:
    """The least a subject needs for ``measure`` to be in force."""
    t = measure.trigger
    records: list[RecordFact] = []
    lists: list[ListFact] = []
    if t.lists:
        lists.append(ListFact(LIST_ID, t.lists[0], REASONS, ON - dt.timedelta(days=30)))
    if t.items or t.min_grade:
        item = _triggering_item(t)
        records.append(record_fact(item, t.min_grade or item.default_grade))
    score = None
    if t.score_min is not None:
        score = t.score_min  # bounds are inclusive
    elif t.score_max is not None:
        score = t.score_max
    negative = [r.decision_date for r in records if r.nature == "negative"]
    if t.clean_years:
        known_since: dt.date | None = add_months(ON, -12 * t.clean_years - 1)
    else:
        known_since = min((r.decision_date for r in records), default=ON - dt.timedelta(days=40))
    return SubjectFacts(
        1,
        name,
        tuple(records),
        tuple(lists),
        score,
        max(negative, default=None),
        known_since,
    )


def _other_item(t: MeasureTrigger, nature: Nature) -> InformationItem:
    return next(i for i in ITEMS if i.code not in t.items and i.nature is nature)


def harmless_variants(measure: Measure) -> dict[str, Callable[[SubjectFacts], SubjectFacts]]:
    """Ways to make the triggering facts fail exactly one of the measure's conditions."""
    t = measure.trigger
    replace = dataclasses.replace
    variants: dict[str, Callable[[SubjectFacts], SubjectFacts]] = {}
    if t.lists:
        variants["no_list"] = lambda f: replace(f, lists=())
        others = [k for k in ("black", "red", "watch") if k not in t.lists]
        if others:
            variants["other_list_kind"] = lambda f: replace(
                f, lists=tuple(ListFact(LIST_ID + n, k, REASONS, ON) for n, k in enumerate(others))
            )
    item = _triggering_item(t) if t.items or t.min_grade else None
    if item is not None:
        variants["no_record"] = lambda f: replace(f, records=(), last_negative=None)
    grade = t.min_grade or (item.default_grade if item else None)
    if t.items and item is not None:
        other = _other_item(t, item.nature)
        variants["other_item"] = lambda f: replace(
            f, records=(record_fact(other, "serious" if other.default_grade else None),)
        )
    if t.min_grade and item is not None:
        below = [g for g in GRADES_BY_RANK if g.rank < GRADES[t.min_grade].rank]
        if below:
            variants["grade_below"] = lambda f: replace(
                f, records=(record_fact(item, below[-1].code),)
            )
        positive = next((i for i in POSITIVE_ITEMS if not t.domains or i.domain in t.domains), None)
        if positive is not None and not t.items:
            variants["positive_record"] = lambda f: replace(
                f, records=(record_fact(positive, None),), last_negative=None
            )
    if t.domains:
        outside = next(
            i
            for i in NEGATIVE_ITEMS
            if i.domain not in t.domains and (not t.items or i.code not in t.items)
        )
        variants["other_domain"] = lambda f: replace(f, records=(record_fact(outside, grade),))
    if t.score_min is not None:
        variants["score_below_min"] = lambda f: replace(f, score=t.score_min - 1)
    if t.score_max is not None:
        variants["score_above_max"] = lambda f: replace(f, score=t.score_max + 1)
    if t.score_min is not None or t.score_max is not None:
        variants["no_score"] = lambda f: replace(f, score=None)
    if t.clean_years:
        variants["negative_within_period"] = lambda f: replace(
            f, last_negative=add_months(ON, -12 * t.clean_years) + dt.timedelta(days=1)
        )
        variants["known_too_briefly"] = lambda f: replace(
            f, known_since=add_months(ON, -12 * t.clean_years) + dt.timedelta(days=1)
        )
        variants["unknown_history"] = lambda f: replace(f, known_since=None)
    return variants


def run(facts: SubjectFacts, scenario: str, measures: list[Measure] | None = None) -> CheckOutcome:
    return decide(facts, scenario, ALL_MEASURES if measures is None else measures, GRADES, ON)


def decision_for(outcome: CheckOutcome, code: str) -> Decision | None:
    return next((d for d in outcome.decisions if d.measure.code == code), None)


def scenarios_of(measure: Measure) -> list[str]:
    return list(measure.scenarios) or SCENARIOS


POSITIVE_CASES = [(m, s) for m in MEASURES for s in scenarios_of(m)]
NEGATIVE_CASES = [(m, name) for m in MEASURES for name in harmless_variants(m)]


# -- the list itself -------------------------------------------------------------------------


def test_default_catalog_loads_with_every_reference_resolved() -> None:
    catalog = Catalog()
    for path in default_catalog_files():
        for parsed in parse_catalog_file(path):
            catalog.section(parsed.section)[parsed.entry.code] = parsed.entry
    assert catalog.check_references() == []
    assert 40 <= len(catalog.measures) <= 70


def test_default_list_carries_the_seeds_measures() -> None:
    names = " ".join(m.name for m in MEASURES)
    for phrase in (
        "优先办理", "简化程序", "重点支持", "绿色通道", "容缺受理", "最多跑一次",
        "教育", "就业", "创业", "医疗", "养老", "融资", "公共交通", "租借租赁", "旅游门票",
        "税e融", "加大日常监督检查频次", "限制市场准入", "限制行政许可", "限制投融资",
        "限制政策扶持", "限制考核表彰", "限制高消费", "限制招录（聘）为公务员或事业单位工作人员",
        "人大代表", "政协委员", "政府采购", "招标投标", "限制任职", "公开披露",
        "警告", "通报批评", "公开谴责", "不予接纳", "限制发起", "劝退",
    ):  # fmt: skip
        assert phrase in names, phrase
    triggers = [m.trigger for m in MEASURES]
    assert any(t.clean_years == 3 for t in triggers)
    assert any(t.score_min is not None for t in triggers)
    assert any(t.score_max is not None for t in triggers)
    assert any("watch" in t.lists for t in triggers)
    assert any("red" in t.lists for t in triggers)
    sanctioned = {code for t in triggers for code in t.items}
    assert {i.code for i in ITEMS if i.domain == "INDUSTRY_SELF_REGULATION"} <= sanctioned


def test_every_measure_is_well_formed() -> None:
    for m in MEASURES:
        assert m.code.isascii() and m.code.upper() == m.code, m.code
        assert m.code.startswith("P_" if m.kind == "punishment" else "R_"), m.code
        assert any(mark in m.basis for mark in ("《", "〔")), m.code  # names a document
        assert m.departments, m.code
        assert not (m.kind == "reward" and m.reaches_responsible_persons), m.code
        for code in m.trigger.items:
            item = CATALOG.items[code]
            # punishments only on negative records, rewards only on positive ones
            assert (item.nature is Nature.NEGATIVE) == (m.kind == "punishment"), (m.code, code)
        if m.kind == "reward":
            assert "black" not in m.trigger.lists and "watch" not in m.trigger.lists
            assert m.trigger.min_grade is None and m.trigger.score_max is None
        else:
            assert "red" not in m.trigger.lists and m.trigger.clean_years is None
            assert m.trigger.score_min is None


def test_high_consumption_is_blocked_for_judgment_debtors_and_their_responsible_persons() -> None:
    measure = CATALOG.measures["P_RESTRICT_HIGH_CONSUMPTION"]
    assert measure.scenarios == ("HIGH_CONSUMPTION",)
    assert "DISHONEST_JUDGMENT_DEBTOR" in measure.trigger.items
    assert measure.effect == "block" and measure.reaches_responsible_persons


# -- every measure: triggered, and not triggered ---------------------------------------------


@pytest.mark.parametrize(
    ("measure", "scenario"), POSITIVE_CASES, ids=[f"{m.code}-{s}" for m, s in POSITIVE_CASES]
)
def test_measure_is_decided_with_its_reasons(measure: Measure, scenario: str) -> None:
    facts = triggering_facts(measure)
    outcome = run(facts, scenario)
    decision = decision_for(outcome, measure.code)
    assert decision is not None, f"{measure.code} not decided in {scenario}"
    t = measure.trigger
    expected_kinds = set()
    if t.lists:
        expected_kinds.add("list")
        hit = next(tr for tr in decision.triggers if tr.kind == "list")
        assert hit.ref == LIST_ID
        assert REASONS in hit.text and LIST_TEXT[t.lists[0]] in hit.text
    if t.items or t.min_grade:
        expected_kinds.add("record")
        record = facts.records[0]
        hit = next(tr for tr in decision.triggers if tr.kind == "record")
        assert hit.ref == RECORD_ID
        assert record.item_name in hit.text and DOCUMENT in hit.text
        if record.grade is not None:
            assert GRADES[record.grade].name in hit.text
    if t.score_min is not None or t.score_max is not None:
        expected_kinds.add("score")
        hit = next(tr for tr in decision.triggers if tr.kind == "score")
        assert hit.ref is None and str(facts.score) in hit.text
    if t.clean_years:
        expected_kinds.add("clean")
        hit = next(tr for tr in decision.triggers if tr.kind == "clean")
        assert f"{t.clean_years} 年" in hit.text
    assert {tr.kind for tr in decision.triggers} == expected_kinds
    assert all(tr.via_organisation is None for tr in decision.triggers)
    # The verdict follows from every decision, and is at least what this measure demands.
    assert outcome.verdict == verdict_of(outcome.decisions)
    assert VERDICT_RANK[outcome.verdict] >= VERDICT_RANK[EFFECT_VERDICT[measure.effect]]
    alone = run(facts, scenario, [measure])
    assert alone.verdict == EFFECT_VERDICT[measure.effect]
    assert [d.measure.code for d in alone.decisions] == [measure.code]


@pytest.mark.parametrize(
    ("measure", "variant"), NEGATIVE_CASES, ids=[f"{m.code}-{v}" for m, v in NEGATIVE_CASES]
)
def test_measure_is_not_decided_without_its_trigger(measure: Measure, variant: str) -> None:
    facts = harmless_variants(measure)[variant](triggering_facts(measure))
    for scenario in scenarios_of(measure):
        outcome = run(facts, scenario)
        assert decision_for(outcome, measure.code) is None, (variant, scenario)


def test_every_measure_has_a_negative_case() -> None:
    assert {m.code for m, _ in NEGATIVE_CASES} == {m.code for m in MEASURES}


@pytest.mark.parametrize("measure", [m for m in MEASURES if m.scenarios], ids=lambda m: m.code)
def test_measure_stays_out_of_other_scenarios(measure: Measure) -> None:
    facts = triggering_facts(measure)
    others = [s for s in SCENARIOS if s not in measure.scenarios]
    assert others
    for scenario in others:
        assert run(facts, scenario, [measure]).decisions == (), scenario
        assert decision_for(run(facts, scenario), measure.code) is None, scenario


# -- 落实到人 ------------------------------------------------------------------------------------


def through_organisation(measure: Measure) -> SubjectFacts:
    org = dataclasses.replace(triggering_facts(measure, name=ORG_NAME), subject_id=90)
    return SubjectFacts(2, "李四", organisations=(org,))


PUNISHMENTS = [m for m in MEASURES if m.kind == "punishment"]


@pytest.mark.parametrize(
    "measure", [m for m in PUNISHMENTS if m.reaches_responsible_persons], ids=lambda m: m.code
)
def test_marked_punishment_reaches_the_legal_representative(measure: Measure) -> None:
    person = through_organisation(measure)
    for scenario in scenarios_of(measure):
        outcome = run(person, scenario)
        decision = decision_for(outcome, measure.code)
        assert decision is not None, scenario
        assert decision.triggers
        assert all(tr.via_organisation == ORG_NAME for tr in decision.triggers)
        assert VERDICT_RANK[outcome.verdict] >= VERDICT_RANK[EFFECT_VERDICT[measure.effect]]


@pytest.mark.parametrize(
    "measure", [m for m in PUNISHMENTS if not m.reaches_responsible_persons], ids=lambda m: m.code
)
def test_unmarked_punishment_stays_with_the_organisation(measure: Measure) -> None:
    person = through_organisation(measure)
    for scenario in scenarios_of(measure):
        assert decision_for(run(person, scenario), measure.code) is None, scenario


@pytest.mark.parametrize(
    "measure", [m for m in MEASURES if m.kind == "reward"], ids=lambda m: m.code
)
def test_rewards_never_pass_through_an_organisation(measure: Measure) -> None:
    person = through_organisation(measure)
    for scenario in scenarios_of(measure):
        assert decision_for(run(person, scenario), measure.code) is None, scenario


def test_own_and_organisation_triggers_are_told_apart() -> None:
    measure = CATALOG.measures["P_RESTRICT_SOE_EXECUTIVE"]
    person = through_organisation(measure)
    person = dataclasses.replace(
        person, lists=(ListFact(LIST_ID + 9, "black", "本人列入", ON - dt.timedelta(days=3)),)
    )
    decision = decision_for(run(person, "SOE_EXECUTIVE"), measure.code)
    assert decision is not None
    assert {(tr.ref, tr.via_organisation) for tr in decision.triggers} == {
        (LIST_ID + 9, None),
        (LIST_ID, ORG_NAME),
    }


# -- verdict precedence ----------------------------------------------------------------------


def _fake(code: str, effect: str) -> Measure:
    return Measure(
        code=code,
        name=code,
        kind="punishment" if effect in ("block", "restrict", "scrutiny") else "reward",
        effect=effect,  # type: ignore[arg-type]
        basis="测试依据",
        trigger=MeasureTrigger(lists=("black",)),
    )


@pytest.mark.parametrize(
    "effects",
    [
        c
        for n in range(5)
        for c in itertools.combinations(["block", "restrict", "scrutiny", "ease", "priority"], n)
    ],
    ids=lambda c: "+".join(c) or "none",
)
def test_verdict_precedence(effects: tuple[str, ...]) -> None:
    facts = SubjectFacts(1, "张三", lists=(ListFact(LIST_ID, "black", REASONS, ON),))
    measures = [_fake(f"T_{e.upper()}", e) for e in effects]
    outcome = run(facts, "ADMIN_LICENSING", measures)
    assert len(outcome.decisions) == len(effects)
    if "block" in effects:
        expected = "blocked"
    elif {"restrict", "scrutiny"} & set(effects):
        expected = "restricted"
    elif effects:
        expected = "eased"
    else:
        expected = "clear"
    assert outcome.verdict == expected


def test_punishment_outweighs_reward_in_the_default_list() -> None:
    honoured_and_listed = SubjectFacts(
        1,
        "张三",
        lists=(
            ListFact(LIST_ID, "red", "诚信道德模范", ON - dt.timedelta(days=400)),
            ListFact(LIST_ID + 1, "black", REASONS, ON - dt.timedelta(days=10)),
        ),
        score=BASE_SCORE,
        known_since=ON - dt.timedelta(days=2000),
    )
    licensing = run(honoured_and_listed, "ADMIN_LICENSING")
    kinds = {d.measure.kind for d in licensing.decisions}
    assert kinds == {"reward", "punishment"}
    assert licensing.verdict == "restricted"
    assert run(honoured_and_listed, "GOV_PROCUREMENT").verdict == "blocked"
    red_only = dataclasses.replace(honoured_and_listed, lists=honoured_and_listed.lists[:1])
    assert run(red_only, "ADMIN_LICENSING").verdict == "eased"
    assert run(red_only, "HIGH_CONSUMPTION").verdict == "clear"


def test_nothing_known_means_nothing_decided() -> None:
    empty = SubjectFacts(1, "张三")
    for scenario in SCENARIOS:
        assert run(empty, scenario) == CheckOutcome("clear", ())


# -- properties ------------------------------------------------------------------------------

GRADE_CODES = [g.code for g in GRADES_BY_RANK]


@st.composite
def records_st(draw: st.DrawFn, first_id: int) -> tuple[RecordFact, ...]:
    drawn = draw(
        st.lists(
            st.tuples(st.sampled_from(ITEMS), st.sampled_from(GRADE_CODES), st.integers(0, 2500)),
            max_size=5,
        )
    )
    return tuple(
        record_fact(item, grade, record_id=first_id + n, days_ago=days)
        for n, (item, grade, days) in enumerate(drawn)
    )


@st.composite
def subject_st(draw: st.DrawFn, subject_id: int = 1, with_orgs: bool = True) -> SubjectFacts:
    records = draw(records_st(subject_id * 100))
    kinds = draw(st.lists(st.sampled_from(["black", "red", "watch"]), max_size=3))
    lists = tuple(
        ListFact(subject_id * 100 + n, k, f"理由{n}", ON - dt.timedelta(days=n))
        for n, k in enumerate(kinds)
    )
    negative = [r.decision_date for r in records if r.nature == "negative"]
    orgs: tuple[SubjectFacts, ...] = ()
    if with_orgs:
        orgs = tuple(draw(st.lists(subject_st(subject_id=10, with_orgs=False), max_size=2)))
    return SubjectFacts(
        subject_id,
        f"主体{subject_id}",
        records,
        lists,
        draw(st.none() | st.integers(0, 1000)),
        max(negative, default=None),
        draw(st.none() | st.dates(ON - dt.timedelta(days=4000), ON)),
        orgs,
    )


def punishments(outcome: CheckOutcome) -> set[str]:
    return {d.measure.code for d in outcome.decisions if d.measure.kind == "punishment"}


@settings(max_examples=300, deadline=None)
@given(
    facts=subject_st(),
    scenario=st.sampled_from(SCENARIOS),
    good=st.sampled_from(POSITIVE_ITEMS),
    days=st.integers(0, 2500),
)
def test_a_positive_record_never_adds_a_punishment(
    facts: SubjectFacts, scenario: str, good: InformationItem, days: int
) -> None:
    before = punishments(run(facts, scenario))
    better = dataclasses.replace(
        facts, records=(*facts.records, record_fact(good, None, record_id=9999, days_ago=days))
    )
    after = run(better, scenario)
    assert punishments(after) <= before
    assert VERDICT_RANK[after.verdict] <= max(VERDICT_RANK[run(facts, scenario).verdict], 1)


@settings(max_examples=300, deadline=None)
@given(
    facts=subject_st(),
    scenario=st.sampled_from(SCENARIOS),
    score=st.sampled_from([None, BASE_SCORE]),
)
def test_without_records_and_lists_nothing_is_punished(
    facts: SubjectFacts, scenario: str, score: int | None
) -> None:
    def strip(f: SubjectFacts) -> SubjectFacts:
        return dataclasses.replace(
            f,
            records=(),
            lists=(),
            score=score,
            last_negative=None,
            organisations=tuple(strip(o) for o in f.organisations),
        )

    outcome = run(strip(facts), scenario)
    assert punishments(outcome) == set()
    assert outcome.verdict in ("clear", "eased")
