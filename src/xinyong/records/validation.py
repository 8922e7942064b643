"""Row validation: one submitted row → a record ready to merge, or the reasons it is not.

Pure: takes the catalog, the departments and the identity protector explicitly; touches
no database. Every rejection names the column, a stable code and a Chinese reason; values
in messages are masked because a cell may hold an identity number.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from hashlib import blake2b
from typing import Any

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import FieldSpec, InformationItem, Nature
from xinyong.identity.masking import mask_value
from xinyong.identity.numbers import (
    CONVERTED_NOTE,
    OTHER_PERSON_DOCUMENTS,
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
from xinyong.records.grading import (
    SOURCE_DEPARTMENT,
    Grader,
    department_grade_permitted,
    grading_key,
)
from xinyong.records.parsers import RawRow, excel_number_message
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
    """Why a row is rejected. ``also`` holds the row's other errors: a person fixes them all
    in one go instead of finding them one re-upload at a time."""

    row: int
    column: str | None
    code: str
    message: str
    value: str | None = None  # already masked
    also: tuple[RowError, ...] = ()

    def every(self) -> tuple[RowError, ...]:
        """This error and the row's other errors, each on its own."""
        if not self.also:
            return (self,)
        first = RowError(self.row, self.column, self.code, self.message, self.value)
        return (first, *self.also)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class RowNote:
    """Something about an accepted row the department should know (not a rejection)."""

    row: int
    column: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class AliasRef:
    """Another document of a person (护照, 港澳台 permits…), linked to their archive."""

    id_type: str
    number: str  # clear text: only ever encrypted
    id_index: str


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
    # The behaviour text that names no behaviour of the behaviour classification catalog
    # (accepted, graded by the rules or the default, and noted in the batch result).
    unmatched_behaviour: str | None = None
    domain: str | None = None  # where the content names it (records.grading.record_domain)
    aliases: tuple[AliasRef, ...] = ()
    notes: tuple[RowNote, ...] = ()
    key: tuple[int, str, str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.department_id, self.item_code, self.document_number, self.subject.id_index)


PERSON = SubjectKind.PERSON.value
ORGANISATION = SubjectKind.ORGANISATION.value
# A subject without its name: (kind, id type, number, blind index, birth date, sex, region).
_Identity = tuple[str, str, str, str, dt.date | None, str | None, str | None]
# (grade, grade source, who set the grade, behaviour text naming no catalog behaviour,
# the domain the record's content names)
_Grading = tuple[str | None, str | None, str | None, str | None, str | None]


def _ref(identity: _Identity, name: str) -> SubjectRef:
    kind, id_type, number, index, birth_date, sex, region_code = identity
    return SubjectRef(kind, id_type, number, index, name, birth_date, sex, region_code)


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


ALIAS_ID_TYPES = OTHER_PERSON_DOCUMENTS  # kept as aliases of the person's archive
SOLE_TRADER = "个体工商户"
# What an identity number typed into Excel as a number becomes: 15 significant digits and
# zeros (110101199003070000), or the scientific notation a CSV saved by Excel shows.
_EXCEL_NUMBER = re.compile(r"\d{15}000|\d(\.\d+)?E\+?\d+", re.IGNORECASE)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Full years of age on ``day`` (a person born on 29 February turns a year older on
    1 March in common years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def item_min_age(catalog: Catalog, item: InformationItem) -> int | None:
    """The minimum age of the persons an item is about: its key groups' (students 18+)."""
    ages = [
        group.min_age
        for code in item.key_groups
        if (group := catalog.key_groups.get(code)) is not None and group.min_age
    ]
    return max(ages) if ages else None


def department_provides(item: InformationItem, name: str, code: str) -> bool:
    """Whether a department may submit an item: the item's providing departments include it.

    A provider named as a class (各行政执法部门, 各行业协会商会…) includes every department; 高等学校
    includes universities and colleges. A department is recognised by its code or by its
    name, with or without the city's name before 市… (示范市公安局 is the catalog's 市公安局).
    A department the catalog names nowhere (registered under a local name) is no exception:
    it submits only the items a class of providers admits it to (DOMAIN §4).
    """
    providers = item.providing_departments
    if not providers or any(p.startswith("各") for p in providers):
        return True
    return any(_names_department(provider, name, code) for provider in providers)


def _names_department(provider: str, name: str, code: str) -> bool:
    if provider in (name, code):
        return True
    if provider == "高等学校":
        return name.endswith(("大学", "学院", "高等专科学校"))
    return provider.startswith("市") and name.endswith(provider)


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
    # id → (name, code) of every registered department: who may submit which item.
    department_names: Mapping[int, tuple[str, str]] = field(default_factory=dict)


class RowValidator:
    """Validates rows of one table; built once per table with its column map."""

    def __init__(self, ctx: RowContext, columns: ColumnMap) -> None:
        self.ctx = ctx
        self.columns = columns
        self._subject_headers = {
            name: header for header, (kind, name) in columns.columns.items() if kind == "subject"
        }
        self._grader = Grader(ctx.catalog)
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
        if "id_number" not in self._sources and "resident_id_number" in self._sources:
            # A 身份证号 column alone is the row's identity number.
            self._sources["id_number"] = self._sources.pop("resident_id_number")
        self._headers = list(columns.columns) + list(columns.unknown)
        self._per_item: dict[str, ColumnMap] = {}
        self.field_headers: set[str] = set()
        self._provides: dict[tuple[str, int], bool] = {}
        self._min_ages: dict[str, int | None] = {}
        self.name_header = self._header("subject_name")

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
        """The column's header in the table, or its Chinese name when the table has none."""
        found = self.columns.header_for(canonical) or next(
            iter(self._sources.get(canonical, ())), None
        )
        return found or SUBJECT_COLUMNS[canonical][0]

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
        return self._department_of(
            self._subject_value(values, "department_credit_code").upper(),
            self._subject_value(values, "department_code"),
        )

    def _department_of(self, credit: str, code: str) -> int:
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
        return _ref(self._person_identity(id_type_text, number, column), name)

    def _person_identity(self, id_type_text: str, number: str, column: str) -> _Identity:
        id_type = parse_id_type(id_type_text)
        if id_type is None:
            raise _Reject(column, "unknown_id_type", f"未知的证件类型“{id_type_text[:20]}”", None)
        if not number:
            raise _Reject(column, "required", "证件号码为必填项", None)
        if id_type is IdType.SOCIAL_SECURITY:
            # The social security card number is the resident identity number (DOMAIN §17):
            # one person, one archive.
            id_type = IdType.RESIDENT_ID
        try:
            if id_type is IdType.RESIDENT_ID:
                rid = self._resident_ids.get(number)
                if rid is None:
                    rid = parse_resident_id(number, today=self.ctx.today)
                    if len(self._resident_ids) > 20_000:
                        self._resident_ids.clear()
                    self._resident_ids[number] = rid
                index = self.ctx.protector.blind_index(id_type.value, rid.number)
                return (
                    PERSON,
                    id_type.value,
                    rid.number,
                    index,
                    rid.birth_date,
                    rid.sex,
                    rid.region_code,
                )
            if id_type is IdType.CREDIT_CODE:
                raise IdNumberError("id_type_mismatch", "自然人的证件类型不能是统一社会信用代码")
            clean = normalize_other_id(number)
        except IdNumberError as exc:
            if id_type is IdType.RESIDENT_ID and _EXCEL_NUMBER.fullmatch(number):
                raise _Reject(
                    column, "excel_number", excel_number_message(column), mask_value(number)
                ) from None
            raise _Reject(column, exc.code, exc.message, mask_value(number)) from None
        index = self.ctx.protector.blind_index(id_type.value, clean)
        return (PERSON, id_type.value, clean, index, None, None, None)

    def _subject(self, values: Mapping[str, str]) -> SubjectRef:
        name = self._subject_value(values, "subject_name")
        self._check_name(name)
        category = self._subject_value(values, "subject_category")
        credit = self._subject_value(values, "credit_code")
        if category == SOLE_TRADER and not credit:
            return self._operator(values)
        return _ref(
            self._subject_identity(
                category,
                credit,
                self._subject_value(values, "id_number"),
                self._subject_value(values, "id_type"),
                self._subject_value(values, "resident_id_number"),
            ),
            name,
        )

    def _operator(self, values: Mapping[str, str]) -> SubjectRef:
        """The person answering for a 个体工商户 without a credit code: its operator, named in
        法定代表人 (DOMAIN §16). The shop's name (行政相对人名称) is not the person's name."""
        operator = self._subject_value(values, "legal_rep_name")
        if not operator:
            raise _Reject(
                self._header("legal_rep_name"),
                "required",
                "个体工商户未填写统一社会信用代码时按经营者个人归档，须在“"
                f"{self._header('legal_rep_name')}”列填写经营者姓名",
                None,
            )
        if len(operator) > 200:
            raise _Reject(self._header("legal_rep_name"), "too_long", "经营者姓名超过 200 字", None)
        number = self._subject_value(values, "id_number")
        if number:
            return self._person(
                self._subject_value(values, "id_type"), number, operator, self._header("id_number")
            )
        return self._person(
            self._subject_value(values, "legal_rep_id_type"),
            self._subject_value(values, "legal_rep_id_number"),
            operator,
            self._header("legal_rep_id_number"),
        )

    def _aliases(self, values: Mapping[str, str], subject: SubjectRef) -> tuple[AliasRef, ...]:
        """The other document a row names beside the person's resident identity number."""
        if subject.id_type != IdType.RESIDENT_ID.value:
            return ()
        id_type = parse_id_type(self._subject_value(values, "id_type"))
        number = self._subject_value(values, "id_number")
        if id_type not in ALIAS_ID_TYPES or not number:
            return ()
        assert id_type is not None
        try:
            clean = normalize_other_id(number)
        except IdNumberError as exc:
            raise _Reject(
                self._header("id_number"), exc.code, exc.message, mask_value(number)
            ) from None
        index = self.ctx.protector.blind_index(id_type.value, clean)
        return (AliasRef(id_type.value, clean, index),)

    def _notes(self, row: int, values: Mapping[str, str]) -> tuple[RowNote, ...]:
        """15-digit identity numbers read as 18 digits: said, not silently changed."""
        notes = []
        for canonical in ("id_number", "resident_id_number", "legal_rep_id_number"):
            text = self._subject_value(values, canonical)
            if len(text) == 15 and text.isdigit():
                header = self._header(canonical)
                notes.append(
                    RowNote(row, header, "id_converted", f"{header}{CONVERTED_NOTE}为 18 位")
                )
        return tuple(notes)

    def _check_name(self, name: str) -> None:
        if not name:
            raise _Reject(self._header("subject_name"), "required", "主体名称为必填项", None)
        if len(name) > 200:
            raise _Reject(self._header("subject_name"), "too_long", "主体名称超过 200 字", None)

    def _subject_identity(
        self, category: str, credit: str, number: str, id_type_text: str, resident: str = ""
    ) -> _Identity:
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
            if resident and (not number or parse_id_type(id_type_text) in ALIAS_ID_TYPES):
                # A passport or permit beside the resident identity number: the person is
                # the resident's archive, the other document an alias of it.
                return self._person_identity(
                    IdType.RESIDENT_ID.value, resident, self._header("resident_id_number")
                )
            return self._person_identity(id_type_text, number, self._header("id_number"))
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
        return (ORGANISATION, IdType.CREDIT_CODE.value, code, index, None, None, None)

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

    def _fields(
        self,
        item: InformationItem,
        values: Mapping[str, str],
        errors: list[tuple[Any, ...]] | None = None,
    ) -> dict[str, Any]:
        """The row's facts; with ``errors``, every refused field is added there instead of the
        first one raised."""
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
            try:
                if not text:
                    if spec.required:
                        raise _Reject(
                            field_header or spec.label, "required", f"{spec.label}为必填项", None
                        )
                    continue
                facts[spec.name] = self._field_value(spec, text, field_header, error_code)
            except _Reject as rej:
                if errors is None:
                    raise
                errors.append(rej.error)
        return facts

    def _field_text(
        self, spec: FieldSpec, field_header: str | None, error_code: str, text: str
    ) -> Any:
        return self._field_value(spec, text, field_header, error_code)

    def _field_value(
        self, spec: FieldSpec, text: str, field_header: str | None, error_code: str
    ) -> Any:
        """The stored value of one non-empty field cell, or why it is refused."""
        kind = spec.type
        try:
            if kind == "text":
                if spec.max_length and len(text) > spec.max_length:
                    raise ValueError(f"{spec.label}超过 {spec.max_length} 字")
                return text
            if kind == "date":
                return _date(text).isoformat()
            if kind == "decimal":
                return str(parse_decimal(text))
            if kind == "integer":
                return parse_int(text)
            if kind == "enum":
                if text not in spec.choices:
                    raise ValueError(f"{spec.label}的值不在允许范围内：{'、'.join(spec.choices)}")
                return text
            # enum_multi
            parts = split_multi(text)
            if not parts or any(p not in spec.choices for p in parts):
                raise ValueError(f"{spec.label}的值不在允许范围内：{'；'.join(spec.choices)}")
            return parts
        except ValueError as exc:
            raise _Reject(
                field_header or spec.label,
                error_code,
                str(exc),
                mask_value(text) if len(text) >= 15 else text[:40],
            ) from None

    # -- the rule ------------------------------------------------------------------------

    def validate(self, row: int, values: Mapping[str, str]) -> ValidRow | RowError:
        try:
            return self._validate(row, values)
        except _Reject as rej:
            errors = self._every_error(values) or [rej.error]
            if rej.error not in errors:
                errors.insert(0, rej.error)
            first, *others = (RowError(row, *e) for e in errors)
            return RowError(
                row, first.column, first.code, first.message, first.value, tuple(others)
            )

    def _validate(self, row: int, values: Mapping[str, str]) -> ValidRow:
        item = self._item(values)
        department_id = self._department(values)
        self._check_provider(item, department_id)
        subject = self._subject(values)
        self._check_kind(item, subject)
        legal_rep = (
            self._legal_rep(values) if subject.kind == SubjectKind.ORGANISATION.value else None
        )
        document_number = self._document(values)
        decision_date = self._decision_date(values)
        requested_until = self._display_until(values, decision_date)
        self._check_age(item, subject, decision_date)
        facts = self._fields(item, values)
        self._check_validity(item, facts)
        self._sole_trader_facts(values, subject, facts)
        behaviour = self._subject_value(values, "behaviour")[:500] or None
        grading = self._grade(item, self._subject_value(values, "grade"), facts, behaviour)
        aliases = self._aliases(values, subject)
        return self._finish(
            row,
            item,
            department_id,
            subject,
            legal_rep,
            document_number,
            decision_date,
            requested_until,
            facts,
            behaviour,
            grading,
            aliases=aliases,
            notes=self._notes(row, values),
        )

    def _every_error(self, values: Mapping[str, str]) -> list[tuple[Any, ...]]:
        """Every error of a rejected row, in the order :meth:`_validate` meets them; a check
        that needs what an earlier one refused is skipped."""
        errors: list[tuple[Any, ...]] = []

        def attempt(check: Callable[..., Any], *args: Any) -> Any:
            try:
                return check(*args)
            except _Reject as rej:
                errors.append(rej.error)
                return None

        item = attempt(self._item, values)
        department_id = attempt(self._department, values)
        if item is not None and department_id is not None:
            attempt(self._check_provider, item, department_id)
        subject = attempt(self._subject, values)
        if item is not None and subject is not None:
            attempt(self._check_kind, item, subject)
        if subject is not None and subject.kind == SubjectKind.ORGANISATION.value:
            attempt(self._legal_rep, values)
        attempt(self._document, values)
        decision_date = attempt(self._decision_date, values)
        attempt(self._display_until, values, decision_date)
        if item is not None and subject is not None and decision_date is not None:
            attempt(self._check_age, item, subject, decision_date)
        if item is not None:
            before = len(errors)
            facts = self._fields(item, values, errors)
            if len(errors) == before:
                attempt(self._check_validity, item, facts)
            attempt(
                self._grade,
                item,
                self._subject_value(values, "grade"),
                facts,
                self._subject_value(values, "behaviour")[:500] or None,
            )
        if subject is not None:
            attempt(self._aliases, values, subject)
        return errors

    def _check_kind(self, item: InformationItem, subject: SubjectRef) -> None:
        if subject.kind not in item.subject_kinds:
            kinds = "、".join("自然人" if k == "person" else "组织" for k in item.subject_kinds)
            raise _Reject(
                self._header("subject_category"),
                "subject_kind",
                f"目录项 {item.name} 只接受{kinds}",
                None,
            )

    def _check_provider(self, item: InformationItem, department_id: int) -> None:
        """A department submits only the items the catalog has it provide."""
        key = (item.code, department_id)
        allowed = self._provides.get(key)
        if allowed is None:
            named = self.ctx.department_names.get(department_id)
            allowed = named is None or department_provides(item, named[0], named[1])
            self._provides[key] = allowed
        if not allowed:
            named = self.ctx.department_names[department_id]
            column = (
                self._header("item_code")
                if self.ctx.fixed_item is None
                else self._header("department_credit_code")
            )
            raise _Reject(
                column,
                "not_provider",
                f"{named[0]}不是目录项“{item.name}”的提供单位"
                f"（目录规定由{'、'.join(item.providing_departments)}报送），不能报送该项",
                item.code,
            )

    def _provider_ok(self, item: InformationItem, department_id: int | None) -> bool:
        if department_id is not None:
            self._check_provider(item, department_id)
        return True

    def _check_age(self, item: InformationItem, subject: SubjectRef, decided: dt.date) -> None:
        """A student item's minimum age (18) applies on the decision date (DOMAIN §17)."""
        if item.code not in self._min_ages:
            self._min_ages[item.code] = item_min_age(self.ctx.catalog, item)
        min_age = self._min_ages[item.code]
        if (
            min_age
            and subject.birth_date is not None
            and age_on(subject.birth_date, decided) < min_age
        ):
            raise _Reject(
                self._header("id_number"),
                "under_age",
                f"目录项“{item.name}”只归集年满 {min_age} 周岁者的信息，"
                f"当事人在决定日期 {decided.isoformat()} 未满 {min_age} 周岁",
                mask_value(subject.number),
            )

    def _check_validity(self, item: InformationItem, facts: Mapping[str, Any]) -> None:
        start, end = facts.get("valid_from"), facts.get("valid_until")
        if start and end and end < start:  # ISO dates compare as text
            spec = item.field("valid_until")
            header = self.columns_for(item).header_for("valid_until")
            raise _Reject(
                header or (spec.label if spec else "有效期至"),
                "invalid_period",
                "有效期至早于有效期自",
                str(end),
            )

    def _sole_trader_facts(
        self, values: Mapping[str, str], subject: SubjectRef, facts: dict[str, Any]
    ) -> None:
        """The shop's name of a 个体工商户 filed under its operator, kept with the record."""
        if (
            subject.kind == PERSON
            and self._subject_value(values, "subject_category") == SOLE_TRADER
        ):
            facts["sole_trader_name"] = self._subject_value(values, "subject_name")

    def _document(self, values: Mapping[str, str]) -> str:
        document_number = self._subject_value(values, "document_number")
        if not document_number:
            raise _Reject(self._header("document_number"), "required", "决定文书号为必填项", None)
        if len(document_number) > 200:
            raise _Reject(
                self._header("document_number"), "too_long", "决定文书号超过 200 字", None
            )
        return document_number

    def _decision_date(self, values: Mapping[str, str]) -> dt.date:
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
        if decision_date > self.ctx.today:
            raise _Reject(
                self._header("decision_date"),
                "future_date",
                "决定日期晚于今天",
                decision_date.isoformat(),
            )
        return decision_date

    def _display_until(
        self, values: Mapping[str, str], decision_date: dt.date | None
    ) -> dt.date | None:
        requested_until = self._date(values, "display_until", required=False)
        if (
            requested_until is not None
            and decision_date is not None
            and requested_until < decision_date
        ):
            raise _Reject(
                self._header("display_until"),
                "invalid_period",
                "公示截止期早于决定日期",
                requested_until.isoformat(),
            )
        return requested_until

    def _grade(
        self, item: InformationItem, given: str, facts: dict[str, Any], behaviour: str | None
    ) -> _Grading:
        """(grade, grade source, who set it, unmatched behaviour) of a record; only negative
        records have one. The order of grading is ``records.grading.grade_record``'s."""
        if item.nature is not Nature.NEGATIVE:
            return (None, None, None, None, None)
        ctx = self.ctx
        department_grade = None
        if given:
            found = ctx.catalog.grade_by_name(given)
            if found is None:
                names = "、".join(g.name for g in ctx.catalog.grades.values())
                raise _Reject(
                    self._header("grade"), "unknown_grade", f"失信等级应为：{names}", given[:20]
                )
            if not department_grade_permitted(item, found.code):
                allowed = "、".join(
                    ctx.catalog.grades[g].name
                    for g in item.department_grades or ()
                    if g in ctx.catalog.grades
                )
                raise _Reject(
                    self._header("grade"),
                    "grade_not_permitted",
                    f"目录项 {item.name} 只接受报送等级：{allowed}"
                    if allowed
                    else f"目录项 {item.name} 的等级由信用行为分类目录确定，不接受报送的等级",
                    given[:20],
                )
            department_grade = found.code
        decision, match = self._grader.decide(item, facts, behaviour, department_grade)
        if match.behaviour is None and item.requires_catalog_behaviour:
            column = (
                self._header("behaviour")
                if behaviour or not item.behaviour_field
                else (self.columns_for(item).header_for(item.behaviour_field) or "行为")
            )
            known = sorted(
                {b.name for b in ctx.catalog.behaviours.values() if item.code in b.items}
            )
            raise _Reject(
                column,
                "unknown_behaviour",
                f"目录项 {item.name} 须填写信用行为分类目录中的行为"
                + (f"（可填：{'、'.join(known)}）" if known else ""),
                _masked(match.unmatched),
            )
        return (
            decision.grade,
            decision.grade_source,
            ctx.submitted_by if decision.source == SOURCE_DEPARTMENT else None,
            match.unmatched,
            decision.domain,
        )

    def _finish(
        self,
        row: int,
        item: InformationItem,
        department_id: int,
        subject: SubjectRef,
        legal_rep: SubjectRef | None,
        document_number: str,
        decision_date: dt.date,
        requested_until: dt.date | None,
        facts: dict[str, Any],
        behaviour: str | None,
        grading: _Grading,
        *,
        aliases: tuple[AliasRef, ...] = (),
        notes: tuple[RowNote, ...] = (),
    ) -> ValidRow:
        """The record of a row that passed every check: display window, facts, hash."""
        ctx = self.ctx
        grade_code, grade_source, grade_set_by, unmatched_behaviour, domain = grading
        # A licence (or any record with a validity, 有效期自/至) is shown for its validity.
        valid_from = facts.get("valid_from")
        if requested_until is None and facts.get("valid_until"):
            requested_until = _date(facts["valid_until"])
        window_key = (item.code, grade_code, decision_date, requested_until, valid_from)
        window = self._windows.get(window_key)
        if window is None:
            grade_obj = ctx.catalog.grades.get(grade_code) if grade_code else None
            window = display_window(
                item,
                grade_obj,
                decision_date,
                profile=ctx.profile,
                requested_until=requested_until,
                valid_from=_date(valid_from) if valid_from else None,
            )
            if len(self._windows) > 200_000:
                self._windows.clear()
            self._windows[window_key] = window
        display_from, display_until = window
        facts_json = _facts_json(facts)
        version = ctx.catalog.item_versions.get(item.code, 1)
        open_level = item.open_level.value
        digest = blake2b(
            "\x1f".join(
                (
                    subject.name,
                    behaviour or "",
                    decision_date.isoformat(),
                    facts_json,
                    grade_code or "",
                    display_until.isoformat() if display_until else "",
                    open_level,
                    str(version),
                )
            ).encode(),
            digest_size=16,
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
            open_level=open_level,
            display_from=display_from,
            display_until=display_until,
            content_hash=digest.hexdigest(),
            legal_representative=legal_rep,
            unmatched_behaviour=unmatched_behaviour,
            domain=domain,
            aliases=aliases,
            notes=notes,
        )

    # -- many rows at once ---------------------------------------------------------------

    def validate_rows(self, rows: Sequence[RawRow]) -> list[ValidRow | RowError]:
        """:meth:`validate` for many rows: the same outcome for every row, in order.

        With a fixed item (the 双公示 formats, ``--item``) the rows are checked column by
        column and every distinct value once: departments, identity numbers (check digit,
        birth date, region, blind index), dates, enums, amounts, grades. A row that fails
        any of these checks, or is unusual in a way the column pass does not handle, goes
        through :meth:`validate`, so each rejection keeps its exact column, code and message.
        """
        outcomes: list[ValidRow | RowError | None] = [None] * len(rows)
        pending: list[int] = []
        for i, raw in enumerate(rows):
            if raw.problem is not None:
                problem = raw.problem
                outcomes[i] = RowError(raw.number, problem.column, problem.code, problem.message)
            else:
                pending.append(i)
        fast = self._fast_rows([rows[i] for i in pending]) if self._fast_possible() else None
        for n, i in enumerate(pending):
            found = fast[n] if fast is not None else None
            outcomes[i] = (
                found if found is not None else self.validate(rows[i].number, rows[i].values)
            )
        return outcomes  # type: ignore[return-value]  # every slot was filled above

    def _fast_possible(self) -> bool:
        item = self.ctx.fixed_item
        if item is None:
            return False
        plan = self._plan(item)
        names = [name for _, name in plan.extras] + [spec.name for spec, *_ in plan.fields]
        # Facts are built column-wise below; a name twice would need the row order of writes.
        return len(names) == len(set(names))

    def _column(self, values: Sequence[Mapping[str, str]], canonical: str) -> list[str]:
        """``_subject_value`` of every row."""
        sources = self._sources.get(canonical, ())
        if not sources:
            return [""] * len(values)
        if len(sources) == 1:
            (header,) = sources
            return [(v.get(header) or "").strip() for v in values]
        if len(sources) == 2:
            first, second = sources
            return [(v.get(first) or v.get(second) or "").strip() for v in values]
        return [self._subject_value(v, canonical) for v in values]

    def _fast_rows(self, rows: list[RawRow]) -> list[ValidRow | None]:
        """The valid record of each row the column pass can vouch for; ``None`` for the rest."""
        ctx = self.ctx
        item = ctx.fixed_item
        assert item is not None
        plan = self._plan(item)
        values = [r.values for r in rows]
        column = self._column
        slow: set[int] = set()

        def refused(col: list[Any]) -> None:
            slow.update(i for i, x in enumerate(col) if x is None)

        department = _each_distinct(
            list(
                zip(
                    [c.upper() for c in column(values, "department_credit_code")],
                    column(values, "department_code"),
                    strict=True,
                )
            ),
            lambda key: self._department_of(*key),
        )
        refused(department)

        if self.ctx.department_names:
            provides = _each_distinct(
                department,
                functools.partial(self._provider_ok, item),
            )
            slow.update(
                i for i, d in enumerate(department) if d is not None and provides[i] is None
            )

        names = column(values, "subject_name")
        slow.update(i for i, name in enumerate(names) if not name or len(name) > 200)
        categories = column(values, "subject_category")
        credits = column(values, "credit_code")
        id_numbers = column(values, "id_number")
        id_types = column(values, "id_type")
        residents = column(values, "resident_id_number")
        identity = _each_distinct(
            list(zip(categories, credits, id_numbers, id_types, residents, strict=True)),
            lambda key: self._subject_identity(*key),
        )
        refused(identity)
        kinds = item.subject_kinds
        slow.update(i for i, ident in enumerate(identity) if ident and ident[0] not in kinds)
        # Rare rows the per-row rule handles: a 个体工商户 filed under its operator, a person's
        # other document beside the resident identity number (an alias to link).
        slow.update(i for i, c in enumerate(categories) if c == SOLE_TRADER and not credits[i])
        if "resident_id_number" in self._sources:
            slow.update(i for i, r in enumerate(residents) if r and id_numbers[i])

        legal_rep: list[SubjectRef | None] = [None] * len(rows)
        if ORGANISATION in kinds:
            rep_numbers = column(values, "legal_rep_id_number")
            rep_names = column(values, "legal_rep_name")
            rep_types = column(values, "legal_rep_id_type")
            rep_column = self._header("legal_rep_id_number")
            wanted = [
                i
                for i, ident in enumerate(identity)
                if ident and ident[0] == ORGANISATION and rep_numbers[i]
            ]
            slow.update(i for i in wanted if not rep_names[i])
            reps = _each_distinct(
                [(rep_types[i], rep_numbers[i], rep_column) for i in wanted],
                lambda key: self._person_identity(*key),
            )
            for i, rep in zip(wanted, reps, strict=True):
                if rep is None:
                    slow.add(i)
                elif rep_names[i]:
                    legal_rep[i] = _ref(rep, rep_names[i])

        documents = column(values, "document_number")
        slow.update(i for i, doc in enumerate(documents) if not doc or len(doc) > 200)

        decided = _each_distinct(column(values, "decision_date"), _plain_date, ValueError)
        today = ctx.today
        slow.update(
            i for i, d in enumerate(decided) if d is None or not EARLIEST_DECISION <= d <= today
        )
        min_age = item_min_age(ctx.catalog, item)
        if min_age:
            for i, ident in enumerate(identity):
                birth, decision = (ident[4] if ident else None), decided[i]
                if birth is not None and decision is not None and age_on(birth, decision) < min_age:
                    slow.add(i)
        # 15-digit identity numbers: accepted as 18 digits, with a note on the row.
        converted: set[int] = set()
        numbers = [id_numbers, residents]
        if "legal_rep_id_number" in self._sources:
            numbers.append(column(values, "legal_rep_id_number"))
        for texts in numbers:
            converted.update(i for i, t in enumerate(texts) if len(t) == 15 and t.isdigit())
        until_texts = column(values, "display_until")
        until = _each_distinct(until_texts, _plain_date, ValueError)
        slow.update(i for i, t in enumerate(until_texts) if t and until[i] is None)

        fact_names: list[str] = []
        fact_columns: list[list[Any]] = []
        for header, name in plan.extras:
            fact_names.append(name)
            fact_columns.append(
                [(t.strip() if t else None) for t in (v.get(header) for v in values)]
            )
        for spec, field_header, keys, error_code in plan.fields:
            if field_header is not None:
                texts = [(v.get(field_header) or "").strip() for v in values]
            else:
                texts = [next((v[k] for k in keys if v.get(k)), "").strip() for v in values]
            if spec.required:
                slow.update(i for i, t in enumerate(texts) if not t)
            if spec.type == "text":
                limit = spec.max_length
                if limit:
                    slow.update(i for i, t in enumerate(texts) if len(t) > limit)
                parsed: list[Any] = [t or None for t in texts]
            else:
                parsed = _each_distinct(
                    texts, functools.partial(self._field_text, spec, field_header, error_code)
                )
                slow.update(
                    i for i, (t, x) in enumerate(zip(texts, parsed, strict=True)) if t and x is None
                )
                parsed = [x if t else None for t, x in zip(texts, parsed, strict=True)]
            fact_names.append(spec.name)
            fact_columns.append(parsed)

        behaviours = [b[:500] or None for b in column(values, "behaviour")]
        given_grades = column(values, "grade")
        gradings: dict[tuple[Any, ...], _Grading | None] = {}
        found: list[ValidRow | None] = [None] * len(rows)
        for i, cells in enumerate(zip(*fact_columns, strict=True)):
            if i in slow:
                continue
            facts = {n: x for n, x in zip(fact_names, cells, strict=True) if x is not None}
            key = (given_grades[i], grading_key(facts, item, behaviours[i]))
            grading = gradings.get(key, _UNSET)
            if grading is _UNSET:
                try:
                    grading = self._grade(item, given_grades[i], facts, behaviours[i])
                except _Reject:
                    grading = None
                gradings[key] = grading
            if grading is None:
                continue
            decision_date = decided[i]
            assert decision_date is not None
            requested_until = until[i]
            if requested_until is not None and requested_until < decision_date:
                continue
            try:
                self._check_validity(item, facts)
            except _Reject:
                continue
            ident = identity[i]
            assert ident is not None
            department_id = department[i]
            assert department_id is not None
            found[i] = self._finish(
                rows[i].number,
                item,
                department_id,
                _ref(ident, names[i]),
                legal_rep[i],
                documents[i],
                decision_date,
                requested_until,
                facts,
                behaviours[i],
                grading,
                notes=self._notes(rows[i].number, values[i]) if i in converted else (),
            )
        return found


@lru_cache(maxsize=16384)
def _date(text: str) -> dt.date:
    return parse_date(text)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal | dt.date):
        return str(value)
    raise TypeError(type(value).__name__)


# json.dumps(facts, ensure_ascii=False, sort_keys=True, default=_json_default) without
# building an encoder per row; the content hash depends on this exact text.
_facts_json: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, default=_json_default
).encode


_UNSET: Any = object()


def _each_distinct(
    keys: list[Any],
    compute: Callable[[Any], Any],
    refusal: type[Exception] = _Reject,
) -> list[Any]:
    """``compute(key)`` for each key, computed once per distinct key; ``None`` if refused."""
    memo: dict[Any, Any] = {}
    for key in set(keys):
        try:
            memo[key] = compute(key)
        except refusal:
            memo[key] = None
    return [memo[key] for key in keys]


def _masked(text: str | None) -> str | None:
    """A cell's text for a message: masked if it might hold an identity number."""
    if not text:
        return None
    return mask_value(text) if len(text) >= 15 else text[:40]


def _plain_date(text: str) -> dt.date | None:
    return _date(text) if text else None
