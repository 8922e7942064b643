"""Grading of negative records (失信分级). Pure.

The grade comes, in order, from: the department's own grading when it sends one (kept with
who set it); else the most serious grade among the behaviour classification catalog's
grading rules that match the record (item, domain, information type, 处罚类别, 罚款金额);
else the item's default grade.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from xinyong.catalog.schemas import Grade, GradingRule, InformationItem


@dataclass(frozen=True, slots=True)
class GradeDecision:
    grade: str
    source: str  # "department", "rule", "catalog"
    rule: str | None = None


def _amount(facts: Mapping[str, Any]) -> Decimal | None:
    value = facts.get("fine_amount")
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def rule_could_match(rule: GradingRule, item: InformationItem) -> bool:
    """The part of a rule that depends on the item only (cached per item by callers)."""
    when = rule.when
    if when.items and item.code not in when.items:
        return False
    if when.domains and item.domain not in when.domains:
        return False
    return not (when.info_types and item.info_type not in when.info_types)


def grading_key(facts: Mapping[str, Any]) -> tuple[Any, ...]:
    """The facts :func:`rule_matches` reads, hashable: records that agree on them and on
    the item and department grade get the same grade, so callers may cache by this key."""
    key: list[Any] = []
    for name in GRADED_FACTS:
        value = facts.get(name)
        key.append((type(value), tuple(value) if isinstance(value, list) else value))
    return tuple(key)


# Every fact a grading rule may look at; grading_key depends on this being complete.
GRADED_FACTS = ("penalty_category", "fine_amount")


def rule_matches(rule: GradingRule, item: InformationItem, facts: Mapping[str, Any]) -> bool:
    when = rule.when
    if not rule_could_match(rule, item):
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


def grade_record(
    item: InformationItem,
    facts: Mapping[str, Any],
    rules: Iterable[GradingRule],
    grades: Mapping[str, Grade],
    department_grade: str | None = None,
) -> GradeDecision:
    if department_grade is not None:
        return GradeDecision(department_grade, "department")
    best: tuple[int, GradingRule] | None = None
    for rule in rules:
        if rule_matches(rule, item, facts):
            rank = grades[rule.grade].rank
            if best is None or rank > best[0]:
                best = (rank, rule)
    if best is not None:
        return GradeDecision(best[1].grade, "rule", best[1].code)
    assert item.default_grade is not None
    return GradeDecision(item.default_grade, "catalog")
