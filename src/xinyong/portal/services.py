"""Public disclosure search (公示查询) and the portal's articles.

What the public sees is decided by ``records.display.visibility`` with
``Audience.PUBLIC``: only records of open level 社会公开, in use and inside their display
period. The SQL filter below is the set-based form of that rule (``used_clause`` plus the
open level) and every row of a page is checked again with ``visibility`` itself. Names and
identity numbers of persons are masked; organisations' names and credit codes are public
registration data (DOMAIN §3).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.identity.masking import Audience, mask_id_number, mask_name
from xinyong.identity.protection import IdentityProtector
from xinyong.lists.models import EntryStatus, ListEntry, ListKind
from xinyong.portal.models import (
    ARTICLE_KIND_NAMES,
    ARTICLE_STATUS_NAMES,
    Article,
    ArticleKind,
    ArticleStatus,
)
from xinyong.records.display import published_clause, visibility
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


def _public_record_clause(on: dt.date) -> Any:
    return published_clause(on, get_settings().publish_minor)


def _query(category: Category, catalog: Catalog, on: dt.date) -> Select[Record, Subject]:
    if category in (Category.PENALTY, Category.LICENCE):
        fmt = "sgs_penalty" if category is Category.PENALTY else "sgs_license"
        return (
            select(Record, Subject)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.item_code.in_(_items_of_format(catalog, fmt)))
            .where(_public_record_clause(on))
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
        .where(_public_record_clause(on))
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
    departments = {d.id: d.name for d in session.scalars(select(Department))}
    items: list[Disclosure] = []
    for record, subject in rows:
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
        if not vis.shown:  # the SQL filter and the rule disagree: never publish
            continue
        item = catalog.items.get(record.item_code)
        is_org = subject.kind == SubjectKind.ORGANISATION.value
        number = reveal_number(protector, subject)
        items.append(
            Disclosure(
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
            )
        )
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


# -- articles ---------------------------------------------------------------------------


def article_kind(value: str) -> ArticleKind:
    try:
        return ArticleKind(value)
    except ValueError as exc:
        raise InvalidInput("未知的栏目", code="unknown_article_kind") from exc


def published_articles(
    session: Session, kind: ArticleKind | None = None, *, limit: int = 20, offset: int = 0
) -> list[Article]:
    stmt = select(Article).where(Article.status == ArticleStatus.PUBLISHED.value)
    if kind is not None:
        stmt = stmt.where(Article.kind == kind.value)
    stmt = stmt.order_by(Article.published_on.desc(), Article.id.desc()).limit(limit)
    return list(session.scalars(stmt.offset(offset)))


def count_published(session: Session, kind: ArticleKind | None = None) -> int:
    stmt = select(func.count()).select_from(Article)
    stmt = stmt.where(Article.status == ArticleStatus.PUBLISHED.value)
    if kind is not None:
        stmt = stmt.where(Article.kind == kind.value)
    return session.scalar(stmt) or 0


def published_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None or article.status != ArticleStatus.PUBLISHED.value:
        raise NotFound("文章不存在或已撤下", code="article_not_found")
    return article


def all_articles(session: Session) -> list[Article]:
    return list(session.scalars(select(Article).order_by(Article.id.desc())))


def get_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound("文章不存在", code="article_not_found")
    return article


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("仅信用办可以管理门户文章", code="admin_only")


def _clean(title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip().replace("\r\n", "\n")
    if not title or len(title) > 200:
        raise InvalidInput("标题不能为空，且不超过 200 字", code="invalid_title")
    if not body or len(body) > 20_000:
        raise InvalidInput("正文不能为空，且不超过 20000 字", code="invalid_body")
    return title, body


def save_article(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    title: str,
    body: str,
    summary: str | None = None,
    source: str | None = None,
    publish: bool = False,
    article_id: int | None = None,
    on: dt.date | None = None,
) -> Article:
    """Create or edit an article; ``publish`` puts it on the portal at once."""
    _require_admin(actor)
    title, body = _clean(title, body)
    article = get_article(session, article_id) if article_id else None
    if article is None:
        article = Article(created_by=actor.name, status=ArticleStatus.DRAFT.value)
        session.add(article)
    article.kind = article_kind(kind).value
    article.title = title
    article.body = body
    article.summary = (summary or "").strip()[:500] or None
    article.source = (source or "").strip()[:200] or None
    if publish:
        article.status = ArticleStatus.PUBLISHED.value
        article.published_on = article.published_on or on or dt.date.today()
    session.flush()
    return article


def set_article_status(
    session: Session, actor: Actor, article_id: int, status: str, on: dt.date | None = None
) -> Article:
    _require_admin(actor)
    article = get_article(session, article_id)
    try:
        new = ArticleStatus(status)
    except ValueError as exc:
        raise InvalidInput("未知的状态", code="unknown_status") from exc
    article.status = new.value
    if new is ArticleStatus.PUBLISHED and article.published_on is None:
        article.published_on = on or dt.date.today()
    session.flush()
    return article


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.split("\n\n") if p.strip()]


__all__ = [
    "ARTICLE_KIND_NAMES",
    "ARTICLE_STATUS_NAMES",
    "CATEGORY_NAMES",
    "PER_PAGE",
    "Category",
    "Disclosure",
    "SearchPage",
    "count_published",
    "disclosure_counts",
    "paragraphs",
    "published_article",
    "published_articles",
    "save_article",
    "search_disclosures",
    "set_article_status",
]
