"""Record formats: which columns of a submitted table mean what. Pure.

Three formats share one pipeline: the national 双公示 administrative penalty format, its
licence sibling (both recognised from their Chinese headers, DOMAIN §16), and the generic
format whose columns are the catalog item's field labels or names plus the common subject
columns below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xinyong.catalog.schemas import InformationItem

_PAREN = str.maketrans({"（": "(", "）": ")", "　": "", " ": "", "\t": ""})


def normalize_header(text: str) -> str:
    """Headers as departments really write them: full-width brackets, stray spaces."""
    return text.translate(_PAREN).strip().lstrip("\ufeff")


# Canonical names of the columns every format may carry, and the headers that mean them.
SUBJECT_COLUMNS: dict[str, tuple[str, ...]] = {
    "item_code": ("目录项", "目录项代码", "信息项代码", "item", "item_code"),
    "subject_name": ("行政相对人名称", "主体名称", "姓名", "名称", "name", "subject_name"),
    "subject_category": ("行政相对人类别", "主体类别", "subject_category"),
    "credit_code": (
        "行政相对人代码_1(统一社会信用代码)",
        "行政相对人代码_1",
        "统一社会信用代码",
        "credit_code",
    ),
    "legal_rep_name": ("法定代表人", "法定代表人姓名", "legal_rep_name"),
    "legal_rep_id_type": ("法定代表人证件类型", "legal_rep_id_type"),
    "legal_rep_id_number": ("法定代表人证件号码", "法定代表人身份证号", "legal_rep_id_number"),
    "id_type": ("证件类型", "id_type"),
    "id_number": ("证件号码", "id_number"),
    # Beside 证件号码 (e.g. a passport) a row may carry the resident identity number, which
    # then names the person; alone, it is the row's identity number.
    "resident_id_number": (
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "居民身份证号",
        "行政相对人代码_5(居民身份证号)",
        "resident_id_number",
    ),
    "document_number": (
        "行政处罚决定书文号",
        "行政许可决定文书号",
        "决定文书号",
        "文书号",
        "文号",
        "认定文书号",
        "document_number",
    ),
    "decision_date": (
        "处罚决定日期",
        "许可决定日期",
        "决定日期",
        "认定日期",
        "decision_date",
    ),
    "behaviour": ("违法行为类型", "行为", "失信行为", "behaviour"),
    "grade": ("失信等级", "严重程度", "等级", "grade"),
    "display_until": ("公示截止期", "公示截止日期", "展示截止日期", "display_until"),
    "department_credit_code": (
        "数据来源单位统一社会信用代码",
        "部门统一社会信用代码",
        "department_credit_code",
    ),
    "department_code": ("部门代码", "报送部门代码", "department"),
}

# The other organisation codes of the 双公示 format, kept as facts. The earlier generation
# (DOMAIN §17) numbers them differently; its headers name the code, so both are read.
EXTRA_CODE_COLUMNS = {
    "行政相对人代码_2(组织机构代码)": "organisation_code",
    "行政相对人代码_3(工商登记码)": "registration_number",
    "行政相对人代码_3(工商注册号)": "registration_number",
    "行政相对人代码_2(工商注册号)": "registration_number",
    "行政相对人代码_2": "registration_number",
    "行政相对人代码_3(组织机构代码)": "organisation_code",
    "行政相对人代码_3": "organisation_code",
    "行政相对人代码_4(税务登记号)": "tax_registration_number",
    "行政相对人代码_4": "tax_registration_number",
    "行政相对人代码_5(事业单位证书号)": "institution_certificate",
    "行政相对人代码_5": "institution_certificate",
    "行政相对人代码_6(社会组织登记证号)": "social_organisation_certificate",
    "行政相对人代码_6": "social_organisation_certificate",
}

SGS_PENALTY_MARKERS = frozenset({"行政处罚决定书文号", "处罚类别", "处罚决定日期"})
SGS_LICENSE_MARKERS = frozenset({"行政许可决定文书号", "许可内容", "许可决定日期"})

# Columns of the 双公示 formats that are not catalog fields and are dropped on purpose.
IGNORED_COLUMNS = frozenset({"行政许可决定文书名称", "当前状态", "地方编码", "数据更新时间戳"})

# The earlier 双公示 penalty generation (DOMAIN §17): headers renamed to today's, and the two
# category columns joined into one multi-valued 处罚类别.
LEGACY_RENAMES = {"处罚事由": "违法事实", "处罚结果": "处罚内容", "案件名称": "违法行为类型"}
LEGACY_JOINED = ("处罚类别1", "处罚类别2")
LEGACY_JOINED_INTO = "处罚类别"


@dataclass(frozen=True)
class LegacyHeaders:
    """How to read a table of the earlier 双公示 generation as one of today's."""

    headers: list[str]
    renames: dict[str, str]
    joined: tuple[str, ...]
    behaviour_from: str | None  # no 违法行为类型 nor 案件名称: the 处罚事由 says it

    def values(self, values: dict[str, str]) -> dict[str, str]:
        out = {self.renames.get(k, k): v for k, v in values.items() if k not in self.joined}
        if self.joined:
            parts = [values[h].strip() for h in self.joined if (values.get(h) or "").strip()]
            out[LEGACY_JOINED_INTO] = "；".join(parts)
        if self.behaviour_from is not None:
            out["违法行为类型"] = values.get(self.behaviour_from) or ""
        return out


def legacy_headers(headers: list[str]) -> LegacyHeaders | None:
    """The adapter for a table of the earlier 双公示 generation; ``None`` for any other."""
    names = {normalize_header(h): h for h in headers}
    joined = tuple(names[n] for n in LEGACY_JOINED if n in names)
    if not joined or LEGACY_JOINED_INTO in names or "行政处罚决定书文号" not in names:
        return None
    renames = {
        names[old]: new for old, new in LEGACY_RENAMES.items() if old in names and new not in names
    }
    behaviour_from = None
    if (
        "违法行为类型" not in names
        and "违法行为类型" not in renames.values()
        and "处罚事由" in names
    ):
        behaviour_from = names["处罚事由"]
    out: list[str] = []
    for header in headers:
        if header in joined:
            if LEGACY_JOINED_INTO not in out:
                out.append(LEGACY_JOINED_INTO)
            continue
        out.append(renames.get(header, header))
    if behaviour_from is not None:
        out.append("违法行为类型")
    return LegacyHeaders(out, renames, joined, behaviour_from)


_SUBJECT_LOOKUP = {
    normalize_header(alias): canonical
    for canonical, aliases in SUBJECT_COLUMNS.items()
    for alias in aliases
}
_EXTRA_LOOKUP = {normalize_header(k): v for k, v in EXTRA_CODE_COLUMNS.items()}


# The one label table of record formats (what people read in summaries).
FORMAT_NAMES = {
    "generic": "通用格式",
    "sgs_penalty": "双公示行政处罚",
    "sgs_license": "双公示行政许可",
}


def detect_format(headers: list[str]) -> str:
    names = {normalize_header(h) for h in headers}
    if names >= SGS_PENALTY_MARKERS:
        return "sgs_penalty"
    if names >= SGS_LICENSE_MARKERS:
        return "sgs_license"
    return "generic"


@dataclass(frozen=True)
class ColumnMap:
    """Header → (kind, canonical name), kind one of subject, field, extra."""

    columns: dict[str, tuple[str, str]]
    unknown: tuple[str, ...]
    _by_name: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for header, (_, name) in self.columns.items():
            self._by_name.setdefault(name, header)

    def header_for(self, canonical: str) -> str | None:
        return self._by_name.get(canonical)


_CODE_SUFFIX = re.compile(r"\(.*\)$")


def map_columns(headers: list[str], item: InformationItem | None) -> ColumnMap:
    """Map a table's headers to canonical names; list the headers nobody knows."""
    field_lookup: dict[str, str] = {}
    if item is not None:
        for spec in item.fields:
            for alias in (spec.label, spec.name, *spec.aliases):
                field_lookup[normalize_header(alias)] = spec.name
    columns: dict[str, tuple[str, str]] = {}
    unknown: list[str] = []
    for header in headers:
        key = normalize_header(header)
        if key in field_lookup:
            columns[header] = ("field", field_lookup[key])
        elif key in _SUBJECT_LOOKUP:
            columns[header] = ("subject", _SUBJECT_LOOKUP[key])
        elif key in _EXTRA_LOOKUP:
            columns[header] = ("extra", _EXTRA_LOOKUP[key])
        elif _CODE_SUFFIX.sub("", key) in _EXTRA_LOOKUP:
            columns[header] = ("extra", _EXTRA_LOOKUP[_CODE_SUFFIX.sub("", key)])
        elif _CODE_SUFFIX.sub("", key) in _SUBJECT_LOOKUP:
            columns[header] = ("subject", _SUBJECT_LOOKUP[_CODE_SUFFIX.sub("", key)])
        elif key in IGNORED_COLUMNS:
            continue
        else:
            unknown.append(header)
    # The behaviour column of the 双公示 format is both the record's behaviour and a field.
    return ColumnMap(columns, tuple(unknown))
