"""Grading of negative records (失信分级). Pure.

One function decides a record's grade, :func:`grade_record`, in this order:

1. the grade the department states itself (部门认定), where the item lets departments
   state one (``InformationItem.department_grades``);
2. the behaviour classification catalog (信用行为分类目录): the grade of the catalog
   behaviour the record names, in its 行为 column or in the item's behaviour field
   (严重违法类型, 舞弊情形…), the most serious when it names several;
3. the grading rules (定级规则): the most serious grade among the rules that match the
   record's item, domain, information type, 处罚类别 and 罚款金额 — the domain of a 双公示
   record being the one its content names (:func:`record_domain`);
4. the item's default grade.

Every record keeps which of them decided (``grade_source``: ``department``,
``behaviour:<code>``, ``rule:<code>``, ``catalog``), shown with :func:`grade_source_label`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import Behaviour, Domain, Grade, GradingRule, InformationItem, Nature

SOURCE_DEPARTMENT = "department"
SOURCE_BEHAVIOUR = "behaviour"
SOURCE_RULE = "rule"
SOURCE_DEFAULT = "catalog"

# The one label table of grade sources (people read these; code stores the keys).
GRADE_SOURCE_NAMES = {
    SOURCE_DEPARTMENT: "部门认定",
    SOURCE_BEHAVIOUR: "信用行为分类目录",
    SOURCE_RULE: "定级规则",
    SOURCE_DEFAULT: "目录项默认等级",
}

# Facts of a 双公示 record that name its domain, in the order they are trusted.
DOMAIN_FACTS = ("penalty_basis", "behaviour_type", "authority")


@dataclass(frozen=True, slots=True)
class GradeDecision:
    grade: str
    source: str  # SOURCE_DEPARTMENT, SOURCE_BEHAVIOUR, SOURCE_RULE, SOURCE_DEFAULT
    rule: str | None = None  # the code of the rule or behaviour that decided
    domain: str | None = None  # the record's domain where it was derived (record_domain)

    @property
    def grade_source(self) -> str:
        """The stored form: ``department``, ``behaviour:<code>``, ``rule:<code>``, ``catalog``."""
        return self.source if self.rule is None else f"{self.source}:{self.rule}"


def grade_source_label(source: str | None, catalog: Catalog | None = None) -> str:
    """``rule:SGS_LARGE_FINE`` → 定级规则：行政处罚·大额罚款 (the names from the catalog)."""
    if not source:
        return ""
    kind, _, code = source.partition(":")
    label = GRADE_SOURCE_NAMES.get(kind, kind)
    if not code:
        return label
    name = code
    if catalog is not None:
        entry = (catalog.grading_rules if kind == SOURCE_RULE else catalog.behaviours).get(code)
        name = entry.name if entry is not None else code
    return f"{label}：{name}"


def _amount(facts: Mapping[str, Any]) -> Decimal | None:
    value = facts.get("fine_amount")
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def rule_could_match(rule: GradingRule, item: InformationItem) -> bool:
    """The part of a rule that depends on the item only (cached per item by callers).

    The domain is not part of it: a 双公示 record's domain comes from its content."""
    when = rule.when
    if when.items and item.code not in when.items:
        return False
    if when.domains and item.record_format == "generic" and item.domain not in when.domains:
        return False
    return not (when.info_types and item.info_type not in when.info_types)


# Every fact a grading rule or the domain may look at; grading_key depends on this.
GRADED_FACTS = ("penalty_category", "fine_amount", *DOMAIN_FACTS)


def grading_key(
    facts: Mapping[str, Any], item: InformationItem | None = None, behaviour: str | None = None
) -> tuple[Any, ...]:
    """The inputs :func:`grade_record` reads besides the item and the department's grade,
    hashable: records that agree on them get the same grade, so callers may cache by it."""
    key: list[Any] = [behaviour]
    names: tuple[str, ...] = GRADED_FACTS
    if item is not None and item.behaviour_field:
        names = (*names, item.behaviour_field)
    for name in names:
        value = facts.get(name)
        key.append((type(value), tuple(value) if isinstance(value, list) else value))
    return tuple(key)


def rule_matches(
    rule: GradingRule,
    item: InformationItem,
    facts: Mapping[str, Any],
    domain: str | None = None,
) -> bool:
    when = rule.when
    if not rule_could_match(rule, item):
        return False
    if when.domains and (domain or item.domain) not in when.domains:
        return False
    if when.penalty_categories:
        categories = facts.get("penalty_category") or []
        if isinstance(categories, str):
            categories = [categories]
        if not set(categories) & set(when.penalty_categories):
            return False
    if when.fine_amount_min is not None or when.fine_amount_max is not None:
        amount = _amount(facts)
        if amount is None:
            return False
        if when.fine_amount_min is not None and amount < Decimal(str(when.fine_amount_min)):
            return False
        if when.fine_amount_max is not None and amount >= Decimal(str(when.fine_amount_max)):
            return False
    return True


def record_domain(
    item: InformationItem, facts: Mapping[str, Any], domains: Iterable[Domain]
) -> str:
    """The domain whose rules apply to a record.

    A generic item's records are in the item's domain. A 双公示 record is in the domain its
    content names: the law its 处罚依据 cites first (《食品安全法》 → 食品药品), else a word
    of its 违法行为类型, else its 处罚机关 (应急管理局 → 安全生产); else the item's domain.
    """
    if item.record_format == "generic":
        return item.domain
    candidates = tuple(domains)
    for fact, attribute in zip(
        DOMAIN_FACTS, ("laws", "behaviour_keywords", "authorities"), strict=True
    ):
        text = facts.get(fact)
        if not isinstance(text, str) or not text:
            continue
        best: tuple[int, str] | None = None
        for domain in candidates:
            for word in getattr(domain, attribute):
                at = text.find(word)
                if at >= 0 and (best is None or at < best[0]):
                    best = (at, domain.code)
        if best is not None:
            return best[1]
    return item.domain


def department_grade_permitted(item: InformationItem, grade: str) -> bool:
    """Whether the item lets a department state this grade itself."""
    return item.department_grades is None or grade in item.department_grades


@dataclass(frozen=True, slots=True)
class BehaviourMatch:
    behaviour: Behaviour | None  # the catalog behaviour the record names (most serious)
    unmatched: str | None = None  # a text the record gives that names no catalog behaviour


def item_behaviours(item: InformationItem, behaviours: Iterable[Behaviour]) -> dict[str, Behaviour]:
    """Text (code, name or alias) → the catalog behaviour of this item it names."""
    found: dict[str, Behaviour] = {}
    for behaviour in behaviours:
        if item.code not in behaviour.items or behaviour.nature is not Nature.NEGATIVE:
            continue
        for text in (behaviour.code, behaviour.name, *behaviour.aliases):
            found.setdefault(text, behaviour)
    return found


def match_behaviour(
    texts: Iterable[str | None],
    lookup: Mapping[str, Behaviour],
    grades: Mapping[str, Grade],
) -> BehaviourMatch:
    """The catalog behaviour named by the texts (the most serious), or the text that names none."""

    def rank(behaviour: Behaviour) -> int:
        grade = grades.get(behaviour.grade) if behaviour.grade else None
        return grade.rank if grade is not None else -1

    best: Behaviour | None = None
    unmatched: str | None = None
    for text in texts:
        if not text:
            continue
        found = lookup.get(text.strip())
        if found is None:
            unmatched = unmatched or text.strip()
            continue
        if best is None or rank(found) > rank(best):
            best = found
    return BehaviourMatch(best, None if best is not None else unmatched)


def grade_record(
    item: InformationItem,
    facts: Mapping[str, Any],
    rules: Iterable[GradingRule],
    grades: Mapping[str, Grade],
    department_grade: str | None = None,
    *,
    behaviour: Behaviour | None = None,
    domain: str | None = None,
) -> GradeDecision:
    """The grade of a negative record and what decided it (see the module docstring).

    ``department_grade`` must already be one the item permits
    (:func:`department_grade_permitted`); ``behaviour`` is the catalog behaviour the record
    names (:func:`match_behaviour`); ``domain`` the record's domain (:func:`record_domain`).
    """
    if department_grade is not None:
        return GradeDecision(department_grade, SOURCE_DEPARTMENT, domain=domain)
    if behaviour is not None and behaviour.grade and behaviour.grade in grades:
        return GradeDecision(behaviour.grade, SOURCE_BEHAVIOUR, behaviour.code, domain)
    best: tuple[int, GradingRule] | None = None
    for rule in rules:
        if rule_matches(rule, item, facts, domain):
            rank = grades[rule.grade].rank
            if best is None or rank > best[0]:
                best = (rank, rule)
    if best is not None:
        return GradeDecision(best[1].grade, SOURCE_RULE, best[1].code, domain)
    assert item.default_grade is not None
    return GradeDecision(item.default_grade, SOURCE_DEFAULT, domain=domain)


class Grader:
    """:func:`grade_record` for the records of one catalog, with what it needs per item
    (its rules, its behaviours) worked out once and every distinct input decided once."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._rules: dict[str, tuple[GradingRule, ...]] = {}
        self._behaviours: dict[str, dict[str, Behaviour]] = {}
        # Free texts (处罚依据, 违法行为类型…) vary row by row; what they decide does not:
        # each is read once, and the decision is memoised on what was read from them.
        self._domains: dict[tuple[Any, ...], str] = {}
        self._matches: dict[tuple[Any, ...], BehaviourMatch] = {}
        self._decisions: dict[tuple[Any, ...], GradeDecision] = {}

    def decide(
        self,
        item: InformationItem,
        facts: Mapping[str, Any],
        behaviour_text: str | None,
        department_grade: str | None = None,
    ) -> tuple[GradeDecision, BehaviourMatch]:
        catalog = self.catalog
        field_text = facts.get(item.behaviour_field) if item.behaviour_field else None
        texts = (behaviour_text, field_text if isinstance(field_text, str) else None)
        match_key = (item.code, *texts)
        match = self._matches.get(match_key)
        if match is None:
            lookup = self._behaviours.get(item.code)
            if lookup is None:
                lookup = item_behaviours(item, catalog.behaviours.values())
                self._behaviours[item.code] = lookup
            match = match_behaviour(texts, lookup, catalog.grades)
            self._matches[_bounded(self._matches, match_key)] = match
        domain: str | None = None  # the item's
        if item.record_format != "generic":
            domain_key = tuple(facts.get(name) for name in DOMAIN_FACTS)
            found_domain = self._domains.get(domain_key)
            if found_domain is None:
                found_domain = record_domain(item, facts, catalog.domains.values())
                self._domains[_bounded(self._domains, domain_key)] = found_domain
            domain = found_domain
        key = (
            item.code,
            department_grade,
            match.behaviour.code if match.behaviour else None,
            domain,
            grading_key({n: facts.get(n) for n in ("penalty_category", "fine_amount")}),
        )
        decision = self._decisions.get(key)
        if decision is None:
            rules = self._rules.get(item.code)
            if rules is None:
                rules = tuple(
                    r for r in catalog.grading_rules.values() if rule_could_match(r, item)
                )
                self._rules[item.code] = rules
            decision = grade_record(
                item,
                facts,
                rules,
                catalog.grades,
                department_grade,
                behaviour=match.behaviour,
                domain=domain,
            )
            self._decisions[_bounded(self._decisions, key)] = decision
        return decision, match


def _bounded(memo: dict[Any, Any], key: Any, limit: int = 100_000) -> Any:
    """``key``, after emptying ``memo`` if it is full (memory stays flat on any file)."""
    if len(memo) >= limit:
        memo.clear()
    return key
