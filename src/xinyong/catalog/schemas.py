"""The catalog's shape: what a catalog file may contain. Pure Pydantic, no database.

A catalog file is YAML with a ``version`` and one or more sections, each a list of
entries: ``grades``, ``info_types``, ``domains``, ``key_groups``, ``items``,
``behaviours``, ``scenarios``, ``departments``. ``xinyong catalog load FILE`` stores each
entry as a new version when it differs from the current one.
"""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Nature(enum.StrEnum):
    NEGATIVE = "negative"  # 失信
    POSITIVE = "positive"  # 守信
    NEUTRAL = "neutral"  # 基础信息, 许可…


class OpenLevel(enum.StrEnum):
    PUBLIC = "public"  # 社会公开
    GOVERNMENT = "government"  # 政务共享
    AUTHORIZED = "authorized"  # 授权查询


OPEN_LEVEL_NAMES = {
    OpenLevel.PUBLIC: "社会公开",
    OpenLevel.GOVERNMENT: "政务共享",
    OpenLevel.AUTHORIZED: "授权查询",
}

FieldType = Literal["text", "date", "decimal", "integer", "enum", "enum_multi"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class Grade(_Entry):
    """A grade of dishonest behaviour (失信等级) with its display period bounds in months."""

    rank: int = Field(ge=0)
    min_months: int = Field(ge=0)
    max_months: int = Field(ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> Grade:
        if self.min_months > self.max_months:
            raise ValueError(f"等级 {self.code} 的最短公示期限大于最长公示期限")
        return self


class InfoType(_Entry):
    """One of the 13 national information types (2024 基础目录) or a local addition."""


class Domain(_Entry):
    """A key domain (重点领域).

    A 双公示 record sits in the general item but belongs to the domain its content names:
    the laws cited in its 处罚依据 first, then words of its 违法行为类型, then its 处罚机关
    (``records.grading.record_domain``), so that the domain's grading rules apply.
    """

    laws: tuple[str, ...] = ()  # law names as cited in 处罚依据, without 《》
    behaviour_keywords: tuple[str, ...] = ()  # words of 违法行为类型
    authorities: tuple[str, ...] = ()  # words of 处罚机关's name


class KeyGroup(_Entry):
    """A key group (重点人群): an occupation or population whose archives are kept."""

    min_age: int | None = None


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str
    type: FieldType = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    aliases: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _choices(self) -> FieldSpec:
        if self.type in ("enum", "enum_multi") and not self.choices:
            raise ValueError(f"字段 {self.name} 为枚举类型但没有列出可选值")
        return self


class PeriodOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_months: int = Field(ge=0)
    max_months: int = Field(ge=0)


class InformationItem(_Entry):
    """An item of the public credit information catalog (公共信用信息目录)."""

    info_type: str
    domain: str
    nature: Nature
    subject_kinds: tuple[Literal["person", "organisation"], ...] = ("person",)
    providing_departments: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    open_level: OpenLevel = OpenLevel.GOVERNMENT
    default_grade: str | None = None
    # Per-grade display period overriding the grade's national bounds (negative items).
    periods: dict[str, PeriodOverride] = Field(default_factory=dict)
    # Months a positive or neutral record stays valid; None: until revoked.
    validity_months: int | None = Field(default=None, ge=1)
    reaches_responsible_persons: bool = False  # 落实到人
    list_kind: Literal["black", "red", "watch"] | None = None
    key_groups: tuple[str, ...] = ()
    frequency: str = "实时"
    deadline_days: int = Field(default=7, ge=0)
    record_format: Literal["generic", "sgs_penalty", "sgs_license"] = "generic"
    # The field whose value names the behaviour (严重违法类型, 舞弊情形…), besides the
    # record's own 行为 column.
    behaviour_field: str | None = None
    # A record must name a behaviour of the behaviour classification catalog (else the row
    # is refused); otherwise free text is accepted and noted in the batch result.
    requires_catalog_behaviour: bool = False
    # Grades a department may state itself: None any, () none (the catalog grades).
    department_grades: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _grade_for_negative(self) -> InformationItem:
        if self.nature is Nature.NEGATIVE and not self.default_grade:
            raise ValueError(f"失信类目录项 {self.code} 必须有默认等级 default_grade")
        if self.nature is not Nature.NEGATIVE and self.default_grade:
            raise ValueError(f"非失信类目录项 {self.code} 不应有失信等级")
        for period in self.periods.values():
            if period.min_months > period.max_months:
                raise ValueError(f"目录项 {self.code} 的最短公示期限大于最长公示期限")
        if self.behaviour_field and self.field(self.behaviour_field) is None:
            raise ValueError(f"目录项 {self.code} 的行为字段 {self.behaviour_field} 不在字段中")
        return self

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None


class Behaviour(_Entry):
    """Behaviour classification (信用行为分类目录): 守信 or 失信, with its degree."""

    nature: Nature
    grade: str | None = None
    items: tuple[str, ...] = ()
    watch_list: bool = False  # 重点关注 behaviours named by the seeds
    # Other texts naming the behaviour in a record (a field's choice such as 醉酒驾驶).
    aliases: tuple[str, ...] = ()


class Scenario(_Entry):
    """Application scenario (公共信用信息应用目录) and whether checking is mandatory."""

    mandatory: bool = False  # 应查必查
    check_method: str = "联合奖惩系统自动比对"
    departments: tuple[str, ...] = ()


class GradeCondition(BaseModel):
    """When a grading rule applies. Every given condition must hold; lists match any."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    info_types: tuple[str, ...] = ()
    penalty_categories: tuple[str, ...] = ()  # any of the record's 处罚类别
    fine_amount_min: float | None = Field(default=None, ge=0)  # 罚款金额（万元） ≥
    fine_amount_max: float | None = Field(default=None, ge=0)  # 罚款金额（万元） <


class GradingRule(_Entry):
    """A rule of the behaviour classification catalog that grades negative records.

    Among the rules that match a record the most serious grade wins. Where rules stand
    in the order of grading: ``records.grading.grade_record``.
    """

    when: GradeCondition
    grade: str


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    min: int  # inclusive
    max: int  # inclusive


class DecayStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    within_months: int = Field(ge=1)
    factor: float = Field(ge=0, le=1)


class ScoringModel(_Entry):
    """An integrity score model (诚信积分模型), kept as versioned configuration."""

    base: int
    min_score: int = 0
    max_score: int = 1000
    grade_points: dict[str, int]  # points of a negative record by grade (≤ 0)
    positive_points: int = 0  # points of a positive record (≥ 0)
    item_points: dict[str, int] = Field(default_factory=dict)  # per item, overrides the above
    decay: tuple[DecayStep, ...] = ()  # by age of the decision; older than the last: 0
    negative_cap: int = Field(default=1000, ge=0)  # at most this many points lost
    positive_cap: int = Field(default=1000, ge=0)  # at most this many points gained
    bands: tuple[Band, ...]

    @model_validator(mode="after")
    def _consistent(self) -> ScoringModel:
        if not self.min_score <= self.base <= self.max_score:
            raise ValueError("基础分必须在最低分与最高分之间")
        for grade, points in self.grade_points.items():
            if points > 0:
                raise ValueError(f"失信等级 {grade} 的分值不能为正数")
        if self.positive_points < 0:
            raise ValueError("守信记录的分值不能为负数")
        months = [step.within_months for step in self.decay]
        if months != sorted(set(months)):
            raise ValueError("衰减区间必须按月数严格递增")
        bands = sorted(self.bands, key=lambda b: b.min)
        if not bands:
            raise ValueError("至少需要一个分档")
        expected = self.min_score
        for band in bands:
            if band.min > band.max:
                raise ValueError(f"分档 {band.name} 的下限大于上限")
            if band.min < expected:
                raise ValueError(f"分档 {band.name} 与前一分档重叠")
            if band.min > expected:
                raise ValueError(
                    f"分档 {band.name} 之前有未覆盖的分数区间（{expected}–{band.min - 1}）"
                )
            expected = band.max + 1
        if expected != self.max_score + 1:
            raise ValueError(f"分档未覆盖到最高分 {self.max_score}")
        return self

    def band_for(self, score: int) -> Band:
        for band in self.bands:
            if band.min <= score <= band.max:
                return band
        raise ValueError(f"score {score} outside the bands")


class Trigger(BaseModel):
    """What puts a measure in force for a subject. Every condition given must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lists: tuple[Literal["black", "red", "watch"], ...] = ()  # on any of these lists
    min_grade: str | None = None  # a negative record in use of at least this grade
    domains: tuple[str, ...] = ()  # …in one of these domains
    items: tuple[str, ...] = ()  # a record in use of one of these items
    clean_years: int | None = Field(default=None, ge=1)  # no negative record for N years
    score_min: int | None = None  # integrity score ≥
    score_max: int | None = None  # integrity score ≤

    @model_validator(mode="after")
    def _something(self) -> Trigger:
        if not (
            self.lists
            or self.min_grade
            or self.items
            or self.clean_years
            or self.score_min is not None
            or self.score_max is not None
        ):
            raise ValueError("触发条件不能为空")
        if self.domains and not (self.min_grade or self.items):
            raise ValueError("领域条件须与等级或目录项条件同用")
        return self


class Measure(_Entry):
    """A joint reward or punishment measure (措施清单, 全国失信惩戒措施基础清单)."""

    kind: Literal["reward", "punishment"]
    effect: Literal["block", "restrict", "scrutiny", "ease", "priority"]
    basis: str = Field(min_length=1)
    departments: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()  # empty: every scenario
    trigger: Trigger
    reaches_responsible_persons: bool = False  # 落实到人

    @model_validator(mode="after")
    def _effect_fits_kind(self) -> Measure:
        punishing = self.effect in ("block", "restrict", "scrutiny")
        if punishing != (self.kind == "punishment"):
            raise ValueError(f"措施 {self.code} 的效果与类别不符")
        return self


class DepartmentSpec(_Entry):
    credit_code: str | None = None
    kind: Literal["government", "association", "judicial", "upper_platform"] = "government"


SECTION_MODELS: dict[str, type[_Entry]] = {
    "grades": Grade,
    "info_types": InfoType,
    "domains": Domain,
    "key_groups": KeyGroup,
    "items": InformationItem,
    "behaviours": Behaviour,
    "scenarios": Scenario,
    "departments": DepartmentSpec,
    "grading_rules": GradingRule,
    "scoring_models": ScoringModel,
    "measures": Measure,
}

# The kind stored in catalog_entries for each section.
SECTION_KINDS: dict[str, str] = {
    "grades": "grade",
    "info_types": "info_type",
    "domains": "domain",
    "key_groups": "key_group",
    "items": "item",
    "behaviours": "behaviour",
    "scenarios": "scenario",
    "departments": "department",
    "grading_rules": "grading_rule",
    "scoring_models": "scoring_model",
    "measures": "measure",
}
