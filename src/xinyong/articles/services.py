"""The articles the credit office publishes on the portal: drafts, publication, withdrawal;
the published ones by column (栏目)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.articles.models import (
    ARTICLE_KIND_NAMES,
    ARTICLE_STATUS_NAMES,
    Article,
    ArticleKind,
    ArticleStatus,
)
from xinyong.errors import Forbidden, InvalidInput, NotFound


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
    "count_published",
    "paragraphs",
    "published_article",
    "published_articles",
    "save_article",
    "set_article_status",
]
