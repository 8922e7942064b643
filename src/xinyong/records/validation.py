"""Row validation: one submitted row → a record ready to merge, or the reasons it is not.

Pure: takes the catalog, the departments and the identity protector explicitly; touches
no database. Every rejection names the column, a stable code and a Chinese reason; values
in messages are masked because a cell may hold an identity number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import FieldSpec, GradingRule, InformationItem, Nature
from xinyong.identity.masking import mask_value
from xinyong.identity.numbers import (
    IdNumberError,
    IdType,
    ResidentId,
    normalize_other_id,
    parse_credit_code,
    parse_id_type,
    parse_resident_id,
)
from xinyong.identity.protection import IdentityProtector
from xinyong.records.display import display_window
from xinyong.records.formats import SUBJECT_COLUMNS, ColumnMap, map_columns
from xinyong.records.grading import grade_record, rule_could_match
from xinyong.records.values import parse_date, parse_decimal, parse_int, split_multi
from xinyong.subjects.models import SubjectKind

EARLIEST_DECISION = dt.date(1990, 1, 1)
PERSON_CATEGORIES = frozenset({"自然人", "个人", "person"})
ORGANISATION_CATEGORIES = frozenset(
    {"法人及非法人组织", "法人", "非法人组织", "个体工商户", "organisation"}
)
# Subject columns that the 双公示 formats carry as catalog fields instead.
FIELD_FALLBACKS = {
    "behaviour": "behaviour_type",
    "display_until": "publish_until",
    "department_credit_code": "source_unit_code",
}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None
    code: str
    message: str
    value: str | None = None  # already masked

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class SubjectRef:
    kind: str
    id_type: str
    number: str  # clear text: only ever encrypted, never stored or logged
    id_index: str
    name: str
    birth_date: dt.date | None = None
    sex: str | None = None
    region_code: str | None = None


@dataclass(slots=True)
class ValidRow:
    row: int
    subject: SubjectRef
    department_id: int
    item_code: str
    item_version: int
    document_number: str
    nature: str
    behaviour: str | None
    decision_date: dt.date
    facts: dict[str, Any]
    facts_json: str
    grade: str | None
    grade_source: str | None
    grade_set_by: str | None
    open_level: str
    display_from: dt.date
    display_until: dt.date | None
    content_hash: str
    legal_representative: SubjectRef | None = None
    key: tuple[int, str, str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.department_id, self.item_code, self.document_number, self.subject.id_index)


ERROR_CODES = {
    "date": "invalid_date",
    "decimal": "invalid_number",
    "integer": "invalid_number",
    "enum": "invalid_choice",
    "enum_multi": "invalid_choice",
}


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    """How to read one item's fields from one table, worked out once."""

    extras: tuple[tuple[str, str], ...]
    fields: tuple[tuple[FieldSpec, str | None, tuple[str, ...], str], ...]


class _Reject(Exception):
    def __init__(self, column: str | None, code: str, message: str, value: str | None) -> None:
        super().__init__(message)
        self.error = (column, code, message, value)


@dataclass
class RowContext:
    """What validation needs besides the row."""

    catalog: Catalog
    protector: IdentityProtector
    departments_by_credit_code: Mapping[str, int]
    departments_by_code: Mapping[str, int]
    fixed_department_id: int | None  # --department, or the API key's department
    restrict_to_department: bool  # a department's key may only submit its own rows
    fixed_item: InformationItem | None
    submitted_by: str
    profile: str = "national"
    today: dt.date = field(default_factory=dt.date.today)


class RowValidator:
    """Validates rows of one table; built once per table with its column map."""

    def __init__(self, ctx: RowContext, columns: ColumnMap) -> None:
        self.ctx = ctx
        self.columns = columns
        self._subject_headers = {
            name: header for header, (kind, name) in columns.columns.items() if kind == "subject"
        }
        self._rules = tuple(ctx.catalog.grading_rules.values())
        self._item_rules: dict[str, tuple[GradingRule, ...]] = {}
        self._plans: dict[str, _FieldPlan] = {}
        # Rows repeat people and dates: the same work is done once per table.
        self._resident_ids: dict[str, ResidentId] = {}
        self._windows: dict[tuple[Any, ...], tuple[dt.date, dt.date | None]] = {}
        # canonical subject column → the headers that may carry it, in order of preference
        self._sources: dict[str, tuple[str, ...]] = {}
        for canonical in SUBJECT_COLUMNS:
            found = [self._subject_headers[canonical]] if canonical in self._subject_headers else []
            fallback = FIELD_FALLBACKS.get(canonical)
            fallback_header = columns.header_for(fallback) if fallback else None
            if fallback_header:
                found.append(fallback_header)
            if found:
                self._sources[canonical] = tuple(found)
        self._headers = list(columns.columns) + list(columns.unknown)
        self._per_item: dict[str, ColumnMap] = {}
        self.field_headers: set[str] = set()

    def columns_for(self, item: InformationItem) -> ColumnMap:
        """Column map for a row's item: fixed for the table, or per item in mixed files."""
        if self.ctx.fixed_item is not None:
            return self.columns
        found = self._per_item.get(item.code)
        if found is None:
            found = map_columns(self._headers, item)
            self._per_item[item.code] = found
            self.field_headers.update(
                h for h, (kind, _) in found.columns.items() if kind == "field"
            )
        return found

    # -- helpers -------------------------------------------------------------------------

    def _header(self, canonical: str) -> str:
        return self.columns.header_for(canonical) or canonical

    def _subject_value(self, values: Mapping[str, str], canonical: str) -> str:
        # Parsers strip cells already; values posted as JSON are stripped here.
        for header in self._sources.get(canonical, ()):
            text = values.get(header)
            if text:
                return text.strip()
        return ""

    def _item(self, values: Mapping[str, str]) -> InformationItem:
        if self.ctx.fixed_item is not None:
            return self.ctx.fixed_item
        code = self._subject_value(values, "item_code")
        if not code:
            raise _Reject(self._header("item_code"), "missing_item", "未指定目录项", None)
        item = self.ctx.catalog.items.get(code)
        if item is None:
            raise _Reject(
                self._header("item_code"), "unknown_item", f"目录项 {code} 不存在", code[:64]
            )
        return item

    def _department(self, values: Mapping[str, str]) -> int:
        credit = self._subject_value(values, "department_credit_code").upper()
        code = self._subject_value(values, "department_code")
        named: int | None = None
        column = None
        if credit:
            column = self._header("department_credit_code")
            named = self.ctx.departments_by_credit_code.get(credit)
            if named is None:
                raise _Reject(
                    column,
                    "unknown_department",
                    "数据来源单位统一社会信用代码对应的部门未登记",
                    credit,
                )
        elif code:
            column = self._header("department_code")
            named = self.ctx.departments_by_code.get(code)
            if named is None:
                raise _Reject(column, "unknown_department", f"部门 {code} 未登记", code[:64])
        fixed = self.ctx.fixed_department_id
        if fixed is not None:
            if named is not None and named != fixed and self.ctx.restrict_to_department:
                raise _Reject(
                    column, "department_mismatch", "数据来源单位与报送部门不一致", credit or code
                )
            return fixed
        if named is None:
            raise _Reject(
                self._header("department_credit_code"),
                "missing_department",
                "未指定报送部门：请使用 --department 或在文件中提供数据来源单位统一社会信用代码",
                None,
            )
        return named

    def _person(self, id_type_text: str, number: str, name: str, column: str) -> SubjectRef:
        id_type = parse_id_type(id_type_text)
        if id_type is None:
            raise _Reject(column, "unknown_id_type", f"未知的证件类型“{id_type_text[:20]}”", None)
        if not number:
            raise _Reject(column, "required", "证件号码为必填项", None)
        try:
            if id_type is IdType.RESIDENT_ID:
                rid = self._resident_ids.get(number)
                if rid is None:
                    rid = parse_resident_id(number, today=self.ctx.today)
                    if len(self._resident_ids) > 20_000:
                        self._resident_ids.clear()
                    self._resident_ids[number] = rid
                index = self.ctx.protector.blind_index(id_type.value, rid.number)
                return SubjectRef(
                    SubjectKind.PERSON.value,
                    id_type.value,
                    rid.number,
                    index,
                    name,
                    rid.birth_date,
                    rid.sex,
                    rid.region_code,
                )
            if id_type is IdType.CREDIT_CODE:
                raise IdNumberError("id_type_mismatch", "自然人的证件类型不能是统一社会信用代码")
            clean = normalize_other_id(number)
        except IdNumberError as exc:
            raise _Reject(column, exc.code, exc.message, mask_value(number)) from None
        index = self.ctx.protector.blind_index(id_type.value, clean)
        return SubjectRef(SubjectKind.PERSON.value, id_type.value, clean, index, name)

    def _subject(self, values: Mapping[str, str]) -> SubjectRef:
        name = self._subject_value(values, "subject_name")
        if not name:
            raise _Reject(self._header("subject_name"), "required", "主体名称为必填项", None)
        if len(name) > 200:
            raise _Reject(self._header("subject_name"), "too_long", "主体名称超过 200 字", None)
        category = self._subject_value(values, "subject_category")
        credit = self._subject_value(values, "credit_code")
        number = self._subject_value(values, "id_number")
        if category and category not in PERSON_CATEGORIES | ORGANISATION_CATEGORIES:
            raise _Reject(
                self._header("subject_category"),
                "unknown_category",
                "行政相对人类别应为 自然人、法人及非法人组织 或 个体工商户",
                category[:20],
            )
        is_org = category in ORGANISATION_CATEGORIES or (not category and bool(credit))
        if category == "个体工商户" and not credit:
            is_org = False  # an unregistered sole trader is answered for by the operator
        if not is_org:
            return self._person(
                self._subject_value(values, "id_type"), number, name, self._header("id_number")
            )
        if not credit:
            raise _Reject(
                self._header("credit_code"),
                "required",
                "法人及非法人组织须填写统一社会信用代码",
                None,
            )
        try:
            code = parse_credit_code(credit)
        except IdNumberError as exc:
            raise _Reject(self._header("credit_code"), exc.code, exc.message, credit[:18]) from None
        index = self.ctx.protector.blind_index(IdType.CREDIT_CODE.value, code)
        return SubjectRef(
            SubjectKind.ORGANISATION.value, IdType.CREDIT_CODE.value, code, index, name
        )

    def _legal_rep(self, values: Mapping[str, str]) -> SubjectRef | None:
        number = self._subject_value(values, "legal_rep_id_number")
        name = self._subject_value(values, "legal_rep_name")
        if not number:
            return None
        if not name:
            raise _Reject(
                self._header("legal_rep_name"),
                "required",
                "填写了法定代表人证件号码时须填写姓名",
                None,
            )
        return self._person(
            self._subject_value(values, "legal_rep_id_type"),
            number,
            name,
            self._header("legal_rep_id_number"),
        )

    def _date(self, values: Mapping[str, str], canonical: str, *, required: bool) -> dt.date | None:
        text = self._subject_value(values, canonical)
        if not text:
            if required:
                raise _Reject(self._header(canonical), "required", "日期为必填项", None)
            return None
        try:
            return _date(text)
        except ValueError as exc:
            raise _Reject(self._header(canonical), "invalid_date", str(exc), text[:40]) from None

    def _plan(self, item: InformationItem) -> _FieldPlan:
        plan = self._plans.get(item.code)
        if plan is None:
            columns = self.columns_for(item)
            extras = tuple(
                (header, name)
                for header, (kind, name) in columns.columns.items()
                if kind == "extra"
            )
            fields = tuple(
                (
                    spec,
                    columns.header_for(spec.name),
                    (spec.label, spec.name, *spec.aliases),
                    ERROR_CODES.get(spec.type, "invalid_value"),
                )
                for spec in item.fields
            )
            plan = _FieldPlan(extras, fields)
            self._plans[item.code] = plan
        return plan

    def _fields(self, item: InformationItem, values: Mapping[str, str]) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        plan = self._plan(item)
        for header, name in plan.extras:
            text = values.get(header)
            if text:
                facts[name] = text.strip()
        for spec, field_header, keys, error_code in plan.fields:
            if field_header is not None:
                text = values.get(field_header) or ""
            else:  # JSON rows may carry keys the first row did not have
                text = next((values[k] for k in keys if values.get(k)), "")
            text = text.strip()
            if not text:
                if spec.required:
                    raise _Reject(
                        field_header or spec.label, "required", f"{spec.label}为必填项", None
                    )
                continue
            kind = spec.type
            try:
                if kind == "text":
                    if spec.max_length and len(text) > spec.max_length:
                        raise ValueError(f"{spec.label}超过 {spec.max_length} 字")
                    facts[spec.name] = text
                elif kind == "date":
                    facts[spec.name] = _date(text).isoformat()
                elif kind == "decimal":
                    facts[spec.name] = str(parse_decimal(text))
                elif kind == "integer":
                    facts[spec.name] = parse_int(text)
                elif kind == "enum":
                    if text not in spec.choices:
                        raise ValueError(
                            f"{spec.label}的值不在允许范围内：{'、'.join(spec.choices)}"
                        )
                    facts[spec.name] = text
                else:  # enum_multi
                    parts = split_multi(text)
                    if not parts or any(p not in spec.choices for p in parts):
                        raise ValueError(
                            f"{spec.label}的值不在允许范围内：{'；'.join(spec.choices)}"
                        )
                    facts[spec.name] = parts
            except ValueError as exc:
                raise _Reject(
                    field_header or spec.label,
                    error_code,
                    str(exc),
                    mask_value(text) if len(text) >= 15 else text[:40],
                ) from None
        return facts

    # -- the rule ------------------------------------------------------------------------

    def validate(self, row: int, values: Mapping[str, str]) -> ValidRow | RowError:
        try:
            return self._validate(row, values)
        except _Reject as rej:
            column, code, message, value = rej.error
            return RowError(row, column, code, message, value)

    def _validate(self, row: int, values: Mapping[str, str]) -> ValidRow:
        ctx = self.ctx
        item = self._item(values)
        department_id = self._department(values)
        subject = self._subject(values)
        if subject.kind not in item.subject_kinds:
            kinds = "、".join("自然人" if k == "person" else "组织" for k in item.subject_kinds)
            raise _Reject(
                self._header("subject_category"),
                "subject_kind",
                f"目录项 {item.name} 只接受{kinds}",
                None,
            )
        legal_rep = (
            self._legal_rep(values) if subject.kind == SubjectKind.ORGANISATION.value else None
        )
        document_number = self._subject_value(values, "document_number")
        if not document_number:
            raise _Reject(self._header("document_number"), "required", "决定文书号为必填项", None)
        if len(document_number) > 200:
            raise _Reject(
                self._header("document_number"), "too_long", "决定文书号超过 200 字", None
            )
        decision_date = self._date(values, "decision_date", required=True)
        assert decision_date is not None
        if decision_date < EARLIEST_DECISION:
            # A bare year such as "2024" reads as an Excel serial (1905-07-16): refuse it.
            raise _Reject(
                self._header("decision_date"),
                "implausible_date",
                f"决定日期早于 {EARLIEST_DECISION.year} 年，请检查日期格式",
                decision_date.isoformat(),
            )
        if decision_date > ctx.today:
            raise _Reject(
                self._header("decision_date"),
                "future_date",
                "决定日期晚于今天",
                decision_date.isoformat(),
            )
        requested_until = self._date(values, "display_until", required=False)
        if requested_until is not None and requested_until < decision_date:
            raise _Reject(
                self._header("display_until"),
                "invalid_period",
                "公示截止期早于决定日期",
                requested_until.isoformat(),
            )
        facts = self._fields(item, values)
        behaviour = self._subject_value(values, "behaviour")[:500] or None

        grade_code: str | None = None
        grade_source: str | None = None
        grade_set_by: str | None = None
        if item.nature is Nature.NEGATIVE:
            given = self._subject_value(values, "grade")
            department_grade = None
            if given:
                found = ctx.catalog.grade_by_name(given)
                if found is None:
                    names = "、".join(g.name for g in ctx.catalog.grades.values())
                    raise _Reject(
                        self._header("grade"), "unknown_grade", f"失信等级应为：{names}", given[:20]
                    )
                department_grade = found.code
            rules = self._item_rules.get(item.code)
            if rules is None:
                rules = tuple(r for r in self._rules if rule_could_match(r, item))
                self._item_rules[item.code] = rules
            decision = grade_record(item, facts, rules, ctx.catalog.grades, department_grade)
            grade_code = decision.grade
            grade_source = decision.source if decision.rule is None else f"rule:{decision.rule}"
            grade_set_by = ctx.submitted_by if decision.source == "department" else None
        grade_obj = ctx.catalog.grades.get(grade_code) if grade_code else None
        window_key = (item.code, grade_code, decision_date, requested_until)
        window = self._windows.get(window_key)
        if window is None:
            window = display_window(
                item, grade_obj, decision_date, profile=ctx.profile, requested_until=requested_until
            )
            if len(self._windows) > 200_000:
                self._windows.clear()
            self._windows[window_key] = window
        display_from, display_until = window
        facts_json = json.dumps(facts, ensure_ascii=False, sort_keys=True, default=_json_default)
        version = ctx.catalog.item_versions.get(item.code, 1)
        digest = hashlib.blake2b(digest_size=16)
        digest.update(
            "\x1f".join(
                (
                    subject.name,
                    behaviour or "",
                    decision_date.isoformat(),
                    facts_json,
                    grade_code or "",
                    display_until.isoformat() if display_until else "",
                    item.open_level.value,
                    str(version),
                )
            ).encode()
        )
        return ValidRow(
            row=row,
            subject=subject,
            department_id=department_id,
            item_code=item.code,
            item_version=version,
            document_number=document_number,
            nature=item.nature.value,
            behaviour=behaviour,
            decision_date=decision_date,
            facts=facts,
            facts_json=facts_json,
            grade=grade_code,
            grade_source=grade_source,
            grade_set_by=grade_set_by,
            open_level=item.open_level.value,
            display_from=display_from,
            display_until=display_until,
            content_hash=digest.hexdigest(),
            legal_representative=legal_rep,
        )


@lru_cache(maxsize=16384)
def _date(text: str) -> dt.date:
    return parse_date(text)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal | dt.date):
        return str(value)
    raise TypeError(type(value).__name__)
