"""Articles the credit office publishes on the portal (诚信典型, 失信案例警示, 信用知识, 政策法规)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, UtcDateTime, created_at, pk, utcnow


class ArticleKind(enum.StrEnum):
    HONOUR_CASE = "honour_case"  # 诚信典型
    WARNING_CASE = "warning_case"  # 失信案例警示
    KNOWLEDGE = "knowledge"  # 信用知识
    POLICY = "policy"  # 政策法规
    NEWS = "news"  # 信用动态


ARTICLE_KIND_NAMES = {
    ArticleKind.HONOUR_CASE: "诚信典型",
    ArticleKind.WARNING_CASE: "失信案例警示",
    ArticleKind.KNOWLEDGE: "信用知识",
    ArticleKind.POLICY: "政策法规",
    ArticleKind.NEWS: "信用动态",
}


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


ARTICLE_STATUS_NAMES = {
    ArticleStatus.DRAFT: "草稿",
    ArticleStatus.PUBLISHED: "已发布",
    ArticleStatus.WITHDRAWN: "已撤下",
}


class Article(Base):
    """A portal article. The body is plain text: paragraphs separated by blank lines."""

    __tablename__ = "portal_articles"
    __table_args__ = (Index("ix_portal_articles_kind_status", "kind", "status"),)

    id: Mapped[pk]
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))  # 来源, e.g. 市市场监督管理局
    status: Mapped[str] = mapped_column(String(16), default=ArticleStatus.DRAFT.value)
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
