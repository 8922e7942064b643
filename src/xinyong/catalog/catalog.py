"""The catalog in force, held in memory: a plain object the pure rule modules read."""

from __future__ import annotations

from dataclasses import dataclass, field

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
        """Cross-reference problems: an item naming a domain, type or grade that is missing."""
        problems: list[tuple[str, str, str]] = []
        for item in self.items.values():
            if item.domain not in self.domains:
                problems.append(
                    ("items", item.code, f"目录项 {item.code} 的领域 {item.domain} 不存在")
                )
            if item.info_type not in self.info_types:
                problems.append(
                    ("items", item.code, f"目录项 {item.code} 的信息类别 {item.info_type} 不存在")
                )
            if item.default_grade and item.default_grade not in self.grades:
                problems.append(
                    (
                        "items",
                        item.code,
                        f"目录项 {item.code} 的默认等级 {item.default_grade} 不存在",
                    )
                )
            for grade in item.periods:
                if grade not in self.grades:
                    problems.append(
                        ("items", item.code, f"目录项 {item.code} 的公示期限等级 {grade} 不存在")
                    )
            for grade in item.department_grades or ():
                if grade not in self.grades:
                    problems.append(
                        ("items", item.code, f"目录项 {item.code} 允许报送的等级 {grade} 不存在")
                    )
            for group in item.key_groups:
                if group not in self.key_groups:
                    problems.append(
                        ("items", item.code, f"目录项 {item.code} 的重点人群 {group} 不存在")
                    )
        for behaviour in self.behaviours.values():
            if behaviour.grade and behaviour.grade not in self.grades:
                problems.append(
                    (
                        "behaviours",
                        behaviour.code,
                        f"行为 {behaviour.code} 的等级 {behaviour.grade} 不存在",
                    )
                )
            for code in behaviour.items:
                if code not in self.items:
                    problems.append(
                        (
                            "behaviours",
                            behaviour.code,
                            f"行为 {behaviour.code} 引用的目录项 {code} 不存在",
                        )
                    )
        for rule in self.grading_rules.values():
            if rule.grade not in self.grades:
                problems.append(
                    ("grading_rules", rule.code, f"定级规则 {rule.code} 的等级 {rule.grade} 不存在")
                )
            for code in rule.when.items:
                if code not in self.items:
                    problems.append(
                        (
                            "grading_rules",
                            rule.code,
                            f"定级规则 {rule.code} 引用的目录项 {code} 不存在",
                        )
                    )
            for domain in rule.when.domains:
                if domain not in self.domains:
                    problems.append(
                        (
                            "grading_rules",
                            rule.code,
                            f"定级规则 {rule.code} 引用的领域 {domain} 不存在",
                        )
                    )
        for measure in self.measures.values():
            trigger = measure.trigger
            if trigger.min_grade and trigger.min_grade not in self.grades:
                problems.append(
                    (
                        "measures",
                        measure.code,
                        f"措施 {measure.code} 的等级 {trigger.min_grade} 不存在",
                    )
                )
            for code in trigger.items:
                if code not in self.items:
                    problems.append(
                        (
                            "measures",
                            measure.code,
                            f"措施 {measure.code} 引用的目录项 {code} 不存在",
                        )
                    )
            for domain in trigger.domains:
                if domain not in self.domains:
                    problems.append(
                        (
                            "measures",
                            measure.code,
                            f"措施 {measure.code} 引用的领域 {domain} 不存在",
                        )
                    )
            for scenario in measure.scenarios:
                if scenario not in self.scenarios:
                    problems.append(
                        (
                            "measures",
                            measure.code,
                            f"措施 {measure.code} 引用的场景 {scenario} 不存在",
                        )
                    )
        for model in self.scoring_models.values():
            for grade in model.grade_points:
                if grade not in self.grades:
                    problems.append(
                        (
                            "scoring_models",
                            model.code,
                            f"积分模型 {model.code} 的等级 {grade} 不存在",
                        )
                    )
            for missing in set(self.grades) - set(model.grade_points):
                problems.append(
                    (
                        "scoring_models",
                        model.code,
                        f"积分模型 {model.code} 缺少等级 {missing} 的分值",
                    )
                )
            for code in model.item_points:
                if code not in self.items:
                    problems.append(
                        (
                            "scoring_models",
                            model.code,
                            f"积分模型 {model.code} 引用的目录项 {code} 不存在",
                        )
                    )
        return problems
