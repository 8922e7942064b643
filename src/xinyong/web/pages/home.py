"""The public portal (信用网站): front page, disclosure search, articles, guides.

Open to everyone without login. The search is paginated (20 per page, at most ten pages
without a name) and rate-limited per client IP, so that the lists can be consulted but
not copied wholesale.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.errors import XinyongError
from xinyong.portal.models import ARTICLE_KIND_NAMES, ArticleKind
from xinyong.portal.ratelimit import TokenBucket
from xinyong.portal.services import (
    CATEGORY_NAMES,
    PER_PAGE,
    Category,
    article_kind,
    count_published,
    disclosure_counts,
    normalize_keyword,
    paragraphs,
    published_article,
    published_articles,
    search_disclosures,
)
from xinyong.records.ingest import protector_for
from xinyong.web.deps import OptionalCallerDep, SessionDep
from xinyong.web.pages.common import EXTRA_NAV, render
from xinyong.web.ratelimit import client_address

router = APIRouter(include_in_schema=False)

EXTRA_NAV.append(("/reports/verify", "报告核验"))


def search_limiter(request: Request) -> TokenBucket:
    """One bucket set per application (per server process), made on first use."""
    capacity = get_settings().portal_searches_per_minute
    limiter: TokenBucket | None = getattr(request.app.state, "search_limiter", None)
    if limiter is None or limiter.capacity != capacity:
        limiter = TokenBucket(capacity)
        request.app.state.search_limiter = limiter
    return limiter


def client_key(request: Request) -> str:
    # X-Forwarded-For counts only from a configured trusted proxy (web/ratelimit.py).
    return client_address(request)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, caller: OptionalCallerDep) -> Response:
    return render(
        request,
        "portal/home.html",
        caller,
        counts=disclosure_counts(session),
        categories=CATEGORY_NAMES,
        columns=[
            (kind, ARTICLE_KIND_NAMES[kind], published_articles(session, kind, limit=5))
            for kind in ArticleKind
        ],
    )


@router.get("/disclosures", response_class=HTMLResponse)
def disclosures(
    request: Request,
    session: SessionDep,
    caller: OptionalCallerDep,
    category: Annotated[str, Query(max_length=16)] = Category.BLACK.value,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    limiter = search_limiter(request)
    key = client_key(request)
    if not limiter.allow(key):
        wait = limiter.retry_after(key)
        response = render(
            request,
            "error.html",
            caller,
            status_code=429,
            heading="查询过于频繁",
            message=f"您的查询过于频繁，请 {wait} 秒后再试。公示信息可按名称查询，不提供批量下载。",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        chosen = Category(category)
    except ValueError:
        chosen = Category.BLACK
    error = None
    result = None
    try:
        keyword = normalize_keyword(q)
        result = search_disclosures(
            session, protector_for(), category=chosen, keyword=keyword, page=page
        )
    except XinyongError as exc:
        error = exc.message
    return render(
        request,
        "portal/disclosures.html",
        caller,
        categories=CATEGORY_NAMES,
        category=chosen,
        q=q.strip(),
        result=result,
        error=error,
        per_page=PER_PAGE,
    )


@router.get("/articles/{kind}", response_class=HTMLResponse)
def articles(
    kind: str,
    request: Request,
    session: SessionDep,
    caller: OptionalCallerDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    chosen = article_kind(kind)
    total = count_published(session, chosen)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page, pages)
    return render(
        request,
        "portal/articles.html",
        caller,
        kind=chosen,
        kind_name=ARTICLE_KIND_NAMES[chosen],
        articles=published_articles(session, chosen, limit=PER_PAGE, offset=(page - 1) * PER_PAGE),
        page=page,
        pages=pages,
    )


@router.get("/article/{article_id}", response_class=HTMLResponse)
def article(
    article_id: int, request: Request, session: SessionDep, caller: OptionalCallerDep
) -> Response:
    found = published_article(session, article_id)
    kind = ArticleKind(found.kind)
    return render(
        request,
        "portal/article.html",
        caller,
        article=found,
        kind=kind,
        kind_name=ARTICLE_KIND_NAMES[kind],
        paragraphs=paragraphs(found.body),
    )


@router.get("/guides", response_class=HTMLResponse)
def guides(request: Request, session: SessionDep, caller: OptionalCallerDep) -> Response:
    catalog = current_catalog(session)
    grades = sorted(catalog.grades.values(), key=lambda g: g.rank)
    return render(
        request,
        "portal/guides.html",
        caller,
        grades=grades,
        profile=get_settings().profile,
    )
