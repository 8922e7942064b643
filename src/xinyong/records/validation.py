"""Row validation: one submitted row → a record ready to merge, or the reasons it is not.

Pure: takes the catalog, the departments and the identity protector explicitly; touches
no database. Every rejection names the column, a stable code and a Chinese reason; values
in messages are masked because a cell may hold an identity number.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
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
from xinyong.records.parsers import RawRow
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
    # The behaviour text that names no behaviour of the behaviour classification catalog
    # (accepted, graded by the rules or the default, and noted in the batch result).
    unmatched_behaviour: str | None = None
    domain: str | None = None  # where the content names it (records.grading.record_domain)
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
            raise _Reject(column, exc.code, exc.message, mask_value(number)) from None
        index = self.ctx.protector.blind_index(id_type.value, clean)
        return (PERSON, id_type.value, clean, index, None, None, None)

    def _subject(self, values: Mapping[str, str]) -> SubjectRef:
        name = self._subject_value(values, "subject_name")
        self._check_name(name)
        return _ref(
            self._subject_identity(
                self._subject_value(values, "subject_category"),
                self._subject_value(values, "credit_code"),
                self._subject_value(values, "id_number"),
                self._subject_value(values, "id_type"),
            ),
            name,
        )

    def _check_name(self, name: str) -> None:
        if not name:
            raise _Reject(self._header("subject_name"), "required", "主体名称为必填项", None)
        if len(name) > 200:
            raise _Reject(self._header("subject_name"), "too_long", "主体名称超过 200 字", None)

    def _subject_identity(
        self, category: str, credit: str, number: str, id_type_text: str
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
            facts[spec.name] = self._field_value(spec, text, field_header, error_code)
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

        grading = self._grade(item, self._subject_value(values, "grade"), facts, behaviour)
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
        )

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
    ) -> ValidRow:
        """The record of a row that passed every check: display window, facts, hash."""
        ctx = self.ctx
        grade_code, grade_source, grade_set_by, unmatched_behaviour, domain = grading
        window_key = (item.code, grade_code, decision_date, requested_until)
        window = self._windows.get(window_key)
        if window is None:
            grade_obj = ctx.catalog.grades.get(grade_code) if grade_code else None
            window = display_window(
                item, grade_obj, decision_date, profile=ctx.profile, requested_until=requested_until
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

        names = column(values, "subject_name")
        slow.update(i for i, name in enumerate(names) if not name or len(name) > 200)
        identity = _each_distinct(
            list(
                zip(
                    column(values, "subject_category"),
                    column(values, "credit_code"),
                    column(values, "id_number"),
                    column(values, "id_type"),
                    strict=True,
                )
            ),
            lambda key: self._subject_identity(*key),
        )
        refused(identity)
        kinds = item.subject_kinds
        slow.update(i for i, ident in enumerate(identity) if ident and ident[0] not in kinds)

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
