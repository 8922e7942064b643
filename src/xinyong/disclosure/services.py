"""Public disclosure search (公示查询) and the public statistics.

What the public sees is decided by ``records.display.visibility`` with
``Audience.PUBLIC``: only records of open level 社会公开, in use and inside their display
period. The SQL filter below is the set-based form of that rule (``used_clause`` plus the
open level) and every row of a page is checked again with ``visibility`` itself. Names and
identity numbers of persons are masked; organisations' names and credit codes are public
registration data (DOMAIN §3).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, join, or_, select
from sqlalchemy.orm import Session

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.errors import InvalidInput, NotFound
from xinyong.identity.masking import Audience, mask_id_number, mask_name
from xinyong.identity.protection import IdentityProtector
from xinyong.lists.models import EntryStatus, ListEntry, ListKind
from xinyong.records.display import individual_penalty_public, visibility
from xinyong.records.display_sql import individual_penalty_clause, published_clause
from xinyong.records.models import Record
from xinyong.subjects.models import Subject, SubjectKind
from xinyong.subjects.services import reveal_number

PER_PAGE = 20  # never more: the lists are searchable, not downloadable
MAX_BROWSE_PAGES = 10  # without a name, only the latest entries can be paged through
MIN_KEYWORD_CHARS = 2


class Category(enum.StrEnum):
    BLACK = "black"  # 严重失信主体名单
    RED = "red"  # 红名单
    PENALTY = "penalty"  # 行政处罚（双公示）
    LICENCE = "licence"  # 行政许可（双公示）


CATEGORY_NAMES = {
    Category.BLACK: "严重失信主体名单",
    Category.RED: "守信红名单",
    Category.PENALTY: "行政处罚",
    Category.LICENCE: "行政许可",
}

# Facts shown on the portal, per format. 违法事实 is left out for persons: it may describe
# the person beyond what the 双公示 summary needs.
PENALTY_FACTS = (
    ("penalty_category", "处罚类别"),
    ("penalty_content", "处罚内容"),
    ("fine_amount", "罚款金额（万元）"),
    ("penalty_basis", "处罚依据"),
    ("authority", "处罚机关"),
)
LICENCE_FACTS = (
    ("licence_category", "许可类别"),
    ("licence_name", "许可证书名称"),
    ("licence_number", "许可编号"),
    ("licence_content", "许可内容"),
    ("valid_until", "有效期至"),
    ("authority", "许可机关"),
)


@dataclass(frozen=True)
class Disclosure:
    """One line of a public search result, already masked for the public."""

    category: str
    subject_name: str
    subject_kind: str
    id_number: str
    item_name: str
    behaviour: str | None
    document_number: str
    department: str
    decision_date: dt.date
    display_until: dt.date | None
    details: list[tuple[str, str]] = field(default_factory=list)
    subject_token: str = ""  # opaque: the detail pages are not enumerable by id
    record_token: str = ""
    basis: str | None = None


@dataclass(frozen=True)
class SearchPage:
    category: Category
    keyword: str
    items: list[Disclosure]
    total: int
    page: int
    pages: int
    capped: bool  # more entries exist than may be paged through without a name

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _items_of_format(catalog: Catalog, record_format: str) -> list[str]:
    return [i.code for i in catalog.items.values() if i.record_format == record_format]


def normalize_keyword(keyword: str | None) -> str:
    text = (keyword or "").strip()[:100]
    if text and len(text) < MIN_KEYWORD_CHARS:
        raise InvalidInput(f"查询名称至少 {MIN_KEYWORD_CHARS} 个字", code="keyword_too_short")
    return text


def _keyword_clause(keyword: str) -> Any:
    # A person is found by the full name only (no browsing by surname); an organisation by
    # part of its name; any record by its exact document number.
    return or_(
        and_(Subject.kind == SubjectKind.PERSON.value, Subject.name == keyword),
        and_(Subject.kind == SubjectKind.ORGANISATION.value, Subject.name.contains(keyword)),
        Record.document_number == keyword,
    )


def _public_record_clause(on: dt.date, catalog: Catalog) -> Any:
    return and_(
        published_clause(on, get_settings().publish_minor),
        individual_penalty_clause(
            _items_of_format(catalog, "sgs_penalty"),
            publish=get_settings().publish_individual_penalties,
        ),
    )


def publicly_shown(record: Record, subject: Subject, catalog: Catalog, on: dt.date) -> bool:
    """The portal's rule for one record, in Python: ``visibility`` for the public audience
    and the individuals' penalty setting (the SQL above is its set-based form)."""
    vis = visibility(
        state=record.state,
        open_level=record.open_level,
        display_from=record.display_from,
        display_until=record.display_until,
        audience=Audience.PUBLIC,
        on=on,
        grade=record.grade,
        publish_minor=get_settings().publish_minor,
    )
    item = catalog.items.get(record.item_code)
    return vis.shown and individual_penalty_public(
        item.record_format if item else "generic",
        subject.kind,
        publish=get_settings().publish_individual_penalties,
    )


def _query(category: Category, catalog: Catalog, on: dt.date) -> Select[Record, Subject]:
    if category in (Category.PENALTY, Category.LICENCE):
        fmt = "sgs_penalty" if category is Category.PENALTY else "sgs_license"
        return (
            select(Record, Subject)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.item_code.in_(_items_of_format(catalog, fmt)))
            .where(_public_record_clause(on, catalog))
        )
    kind = ListKind.BLACK if category is Category.BLACK else ListKind.RED
    return (
        select(Record, Subject)
        .select_from(ListEntry)
        .join(Subject, Subject.id == ListEntry.subject_id)
        .join(Record, Record.id == ListEntry.record_id)
        .where(
            ListEntry.list_kind == kind.value,
            ListEntry.status == EntryStatus.LISTED.value,
            or_(ListEntry.start_date.is_(None), ListEntry.start_date <= on),
            or_(ListEntry.end_date.is_(None), ListEntry.end_date >= on),
        )
        .where(_public_record_clause(on, catalog))
    )


def _details(record: Record, category: Category) -> list[tuple[str, str]]:
    specs: tuple[tuple[str, str], ...] = (
        PENALTY_FACTS if category is Category.PENALTY else LICENCE_FACTS
    )
    if category in (Category.BLACK, Category.RED):
        specs = PENALTY_FACTS if record.item_code == "SGS_PENALTY" else ()
    facts = record.facts or {}
    out: list[tuple[str, str]] = []
    for key, label in specs:
        value = facts.get(key)
        if value in (None, "", []):
            continue
        out.append((label, "、".join(map(str, value)) if isinstance(value, list) else str(value)))
    return out


# -- opaque ids for the detail pages -------------------------------------------------------
# Sequential ids would let anyone walk every public record and person past the ten pages the
# list allows; the pages are keyed by the id sealed with the platform's key (AES-GCM).


def opaque_id(protector: IdentityProtector, kind: str, value: int) -> str:
    sealed = protector.encrypt_bytes(str(value).encode(), f"portal:{kind}")
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def open_opaque_id(protector: IdentityProtector, kind: str, token: str) -> int:
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return int(protector.decrypt_bytes(sealed, f"portal:{kind}"))
    except Exception as exc:
        raise NotFound("公示信息不存在或已停止公示", code="disclosure_not_found") from exc


NUMBER_PATTERN = re.compile(r"^[0-9A-Za-z]{15,18}$")


def looks_like_number(text: str) -> bool:
    """A 统一社会信用代码 or 证件号码 (searched by blind index, never put in a URL)."""
    return bool(NUMBER_PATTERN.match(text.strip())) and sum(c.isdigit() for c in text) >= 8


def _disclosure(
    record: Record,
    subject: Subject,
    category: Category,
    catalog: Catalog,
    protector: IdentityProtector,
    departments: dict[int, str],
) -> Disclosure:
    item = catalog.items.get(record.item_code)
    is_org = subject.kind == SubjectKind.ORGANISATION.value
    number = reveal_number(protector, subject)
    facts = record.facts or {}
    return Disclosure(
        category=category.value,
        subject_name=subject.name if is_org else mask_name(subject.name, Audience.PUBLIC),
        subject_kind="组织" if is_org else "自然人",
        id_number=number if is_org else mask_id_number(number, Audience.PUBLIC),
        item_name=item.name if item else record.item_code,
        behaviour=record.behaviour,
        document_number=record.document_number,
        department=departments.get(record.department_id, ""),
        decision_date=record.decision_date,
        display_until=record.display_until,
        details=_details(record, category),
        subject_token=opaque_id(protector, "subject", subject.id),
        record_token=opaque_id(protector, "record", record.id),
        basis=str(facts.get("penalty_basis") or facts.get("basis") or "") or None,
    )


def _category_of(record: Record, catalog: Catalog) -> Category:
    item = catalog.items.get(record.item_code)
    fmt = item.record_format if item else "generic"
    if fmt == "sgs_license":
        return Category.LICENCE
    if item is not None and item.list_kind == "red":
        return Category.RED
    if fmt == "sgs_penalty":
        return Category.PENALTY
    return Category.BLACK


def _departments(session: Session) -> dict[int, str]:
    return {d.id: d.name for d in session.scalars(select(Department))}


def public_record(
    session: Session, protector: IdentityProtector, token: str, on: dt.date | None = None
) -> Disclosure:
    """One disclosure's page: only while the public rule shows it."""
    on = on or dt.date.today()
    catalog = current_catalog(session)
    record = session.get(Record, open_opaque_id(protector, "record", token))
    subject = session.get(Subject, record.subject_id) if record else None
    if record is None or subject is None or not publicly_shown(record, subject, catalog, on):
        raise NotFound("公示信息不存在或已停止公示", code="disclosure_not_found")
    return _disclosure(
        record, subject, _category_of(record, catalog), catalog, protector, _departments(session)
    )


@dataclass(frozen=True)
class PublicSubject:
    name: str
    kind: str
    id_number: str
    lists: list[str]
    disclosures: list[Disclosure]


def public_subject(
    session: Session, protector: IdentityProtector, token: str, on: dt.date | None = None
) -> PublicSubject:
    """The public version of a subject's archive: what the portal shows of it, masked."""
    on = on or dt.date.today()
    return public_subject_by_id(session, protector, open_opaque_id(protector, "subject", token), on)


def public_subject_by_id(
    session: Session, protector: IdentityProtector, subject_id: int, on: dt.date | None = None
) -> PublicSubject:
    on = on or dt.date.today()
    catalog = current_catalog(session)
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound("公示信息不存在或已停止公示", code="disclosure_not_found")
    departments = _departments(session)
    records = session.scalars(
        select(Record)
        .where(Record.subject_id == subject.id)
        .order_by(Record.decision_date.desc(), Record.id.desc())
    )
    shown = [
        _disclosure(r, subject, _category_of(r, catalog), catalog, protector, departments)
        for r in records
        if publicly_shown(r, subject, catalog, on)
    ]
    # A membership is named as the list disclosures show it (``_query``): in force and
    # resting on a record the public may see (not disputed, shared-only, 轻微…).
    names = {Category.BLACK: "严重失信主体名单", Category.RED: "守信红名单"}
    lists = sorted(
        name
        for category, name in names.items()
        if session.scalar(
            _query(category, catalog, on)
            .with_only_columns(ListEntry.id)
            .where(ListEntry.subject_id == subject.id)
            .limit(1)
        )
        is not None
    )
    if not shown and not lists:
        raise NotFound("公示信息不存在或已停止公示", code="disclosure_not_found")
    is_org = subject.kind == SubjectKind.ORGANISATION.value
    number = reveal_number(protector, subject)
    return PublicSubject(
        name=subject.name if is_org else mask_name(subject.name, Audience.PUBLIC),
        kind="组织" if is_org else "自然人",
        id_number=number if is_org else mask_id_number(number, Audience.PUBLIC),
        lists=lists,
        disclosures=shown,
    )


def search_disclosures(
    session: Session,
    protector: IdentityProtector,
    *,
    category: Category,
    keyword: str = "",
    page: int = 1,
    on: dt.date | None = None,
) -> SearchPage:
    on = on or dt.date.today()
    catalog = current_catalog(session)
    stmt = _query(category, catalog, on)
    if keyword:
        stmt = stmt.where(_keyword_clause(keyword))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    capped = False
    if not keyword and pages > MAX_BROWSE_PAGES:
        pages, capped = MAX_BROWSE_PAGES, True
    page = min(max(1, page), pages)
    rows = session.execute(
        stmt.order_by(Record.decision_date.desc(), Record.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    departments = _departments(session)
    items: list[Disclosure] = []
    for record, subject in rows:
        if not publicly_shown(record, subject, catalog, on):
            continue  # the SQL filter and the rule disagree: never publish
        items.append(_disclosure(record, subject, category, catalog, protector, departments))
    return SearchPage(category, keyword, items, total, page, pages, capped)


def disclosure_counts(session: Session, on: dt.date | None = None) -> dict[str, int]:
    """How many entries each category shows the public today (the portal's front page)."""
    on = on or dt.date.today()
    catalog = current_catalog(session)
    return {
        c.value: session.scalar(select(func.count()).select_from(_query(c, catalog, on).subquery()))
        or 0
        for c in Category
    }


def public_statistics(
    session: Session, months: int = 12, on: dt.date | None = None
) -> dict[str, Any]:
    """Public statistics by month: records collected, list entries, repairs approved.

    Only what the portal shows the public today is counted, by the month of its decision
    or listing — the same rule as the disclosures (``_public_record_clause``, ``_query``):
    no 政务共享 or 授权查询 record, no 轻微 one unless published, no individual's penalty
    unless the setting publishes them, no watch-list entry. The current month is partial
    and marked so (a chart must not draw it as a drop)."""
    from xinyong.repair.models import RepairApplication

    on = on or dt.date.today()
    catalog = current_catalog(session)
    first = dt.date(on.year, on.month, 1)
    labels = []
    y, m = first.year, first.month
    for _ in range(months):
        labels.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    labels.reverse()
    start = dt.date(int(labels[0][:4]), int(labels[0][5:]), 1)

    def per_month(column: Any, *where: Any, source: Any = None) -> list[int]:
        counts: dict[str, int] = dict.fromkeys(labels, 0)
        stmt = select(column, func.count())
        if source is not None:
            stmt = stmt.select_from(source)
        for day, n in session.execute(stmt.where(column >= start, *where).group_by(column)):
            if day is None:
                continue
            key = f"{day.year:04d}-{day.month:02d}"
            if key in counts:
                counts[key] += n
        return [counts[k] for k in labels]

    return {
        "labels": labels,
        "partial": labels[-1],
        "series": {
            "信用记录": per_month(
                Record.decision_date,
                _public_record_clause(on, catalog),
                source=join(Record, Subject, Subject.id == Record.subject_id),
            ),
            "名单列入": per_month(
                ListEntry.start_date,
                or_(
                    *(
                        ListEntry.id.in_(_query(c, catalog, on).with_only_columns(ListEntry.id))
                        for c in (Category.BLACK, Category.RED)
                    )
                ),
            ),
            "信用修复": per_month(
                RepairApplication.decided_on, RepairApplication.state == "approved"
            ),
        },
    }


__all__ = [
    "CATEGORY_NAMES",
    "PER_PAGE",
    "Category",
    "Disclosure",
    "SearchPage",
    "disclosure_counts",
    "search_disclosures",
]
