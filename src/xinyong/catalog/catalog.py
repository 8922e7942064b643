"""The catalog in force, held in memory: a plain object the pure rule modules read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xinyong.catalog.schemas import (
    Behaviour,
    DepartmentSpec,
    Domain,
    Grade,
    GradingRule,
    InformationItem,
    InfoType,
    KeyGroup,
    Measure,
    Scenario,
    ScoringModel,
)
from xinyong.errors import InvalidInput


@dataclass
class Catalog:
    grades: dict[str, Grade] = field(default_factory=dict)
    info_types: dict[str, InfoType] = field(default_factory=dict)
    domains: dict[str, Domain] = field(default_factory=dict)
    key_groups: dict[str, KeyGroup] = field(default_factory=dict)
    items: dict[str, InformationItem] = field(default_factory=dict)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    departments: dict[str, DepartmentSpec] = field(default_factory=dict)
    grading_rules: dict[str, GradingRule] = field(default_factory=dict)
    scoring_models: dict[str, ScoringModel] = field(default_factory=dict)
    measures: dict[str, Measure] = field(default_factory=dict)
    item_versions: dict[str, int] = field(default_factory=dict)
    versions: dict[tuple[str, str], int] = field(default_factory=dict)

    def copy(self) -> Catalog:
        """A copy whose sections can be changed without touching this catalog."""
        return Catalog(**{f: dict(getattr(self, f)) for f in self.__dataclass_fields__})

    def section(self, name: str) -> dict[str, object]:
        return getattr(self, name)  # type: ignore[no-any-return]

    def grade_by_name(self, text: str) -> Grade | None:
        text = text.strip()
        for grade in self.grades.values():
            if text in (grade.code, grade.name):
                return grade
        return None

    def item(self, code: str) -> InformationItem:
        try:
            return self.items[code]
        except KeyError:
            raise InvalidInput(f"目录项 {code} 不存在", code="unknown_item") from None

    def item_for_format(self, record_format: str) -> InformationItem | None:
        for item in self.items.values():
            if item.record_format == record_format:
                return item
        return None

    def check_references(self) -> list[tuple[str, str, str]]:
        """Cross-reference problems (section, entry code, message): an entry naming a
        domain, type, grade, item or scenario that is missing, or a score model without
        points for a grade. One row of ``REFERENCES`` per kind of reference."""
        problems: list[tuple[str, str, str]] = []
        for section in dict.fromkeys(ref.section for ref in REFERENCES):
            rows = [ref for ref in REFERENCES if ref.section == section]
            for entry in self.section(section).values():
                code = entry.code  # type: ignore[attr-defined]
                for ref in rows:
                    named = ref.named(entry)
                    target = self.section(ref.target)
                    if ref.complete:  # every code of the target must be named
                        missing = [c for c in target if c not in named]
                    else:
                        missing = [c for c in named if c not in target]
                    problems += [
                        (section, code, ref.message.format(code=code, ref=m)) for m in missing
                    ]
        return problems


@dataclass(frozen=True)
class Reference:
    """A field of a section's entries that names codes of another section.

    ``field`` is an attribute path (``trigger.items``); its value is one code, a tuple of
    codes or a mapping keyed by code. ``optional``: an empty value names nothing.
    ``complete``: the other way round, every code of ``target`` must be named."""

    section: str
    field: str
    target: str
    message: str  # {code}: the entry, {ref}: the code missing
    optional: bool = False
    complete: bool = False

    def named(self, entry: object) -> list[str]:
        value: Any = entry
        for part in self.field.split("."):
            value = getattr(value, part)
        if value is None or (self.optional and not value):
            return []
        if isinstance(value, str):
            return [value]
        return list(value)


REFERENCES: tuple[Reference, ...] = (
    Reference("items", "domain", "domains", "目录项 {code} 的领域 {ref} 不存在"),
    Reference("items", "info_type", "info_types", "目录项 {code} 的信息类别 {ref} 不存在"),
    Reference(
        "items", "default_grade", "grades", "目录项 {code} 的默认等级 {ref} 不存在", optional=True
    ),
    Reference("items", "periods", "grades", "目录项 {code} 的公示期限等级 {ref} 不存在"),
    Reference("items", "department_grades", "grades", "目录项 {code} 允许报送的等级 {ref} 不存在"),
    Reference("items", "key_groups", "key_groups", "目录项 {code} 的重点人群 {ref} 不存在"),
    Reference("behaviours", "grade", "grades", "行为 {code} 的等级 {ref} 不存在", optional=True),
    Reference("behaviours", "items", "items", "行为 {code} 引用的目录项 {ref} 不存在"),
    Reference("grading_rules", "grade", "grades", "定级规则 {code} 的等级 {ref} 不存在"),
    Reference("grading_rules", "when.items", "items", "定级规则 {code} 引用的目录项 {ref} 不存在"),
    Reference(
        "grading_rules", "when.domains", "domains", "定级规则 {code} 引用的领域 {ref} 不存在"
    ),
    Reference(
        "measures", "trigger.min_grade", "grades", "措施 {code} 的等级 {ref} 不存在", optional=True
    ),
    Reference("measures", "trigger.items", "items", "措施 {code} 引用的目录项 {ref} 不存在"),
    Reference("measures", "trigger.domains", "domains", "措施 {code} 引用的领域 {ref} 不存在"),
    Reference("measures", "scenarios", "scenarios", "措施 {code} 引用的场景 {ref} 不存在"),
    Reference("scoring_models", "grade_points", "grades", "积分模型 {code} 的等级 {ref} 不存在"),
    Reference(
        "scoring_models",
        "grade_points",
        "grades",
        "积分模型 {code} 缺少等级 {ref} 的分值",
        complete=True,
    ),
    Reference(
        "scoring_models", "item_points", "items", "积分模型 {code} 引用的目录项 {ref} 不存在"
    ),
)
