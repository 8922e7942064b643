"""The public portal (信用网站): front page, disclosure search, articles, guides.

Open to everyone without login. The search is paginated (20 per page, at most ten pages
without a name) and rate-limited per client IP, so that the lists can be consulted but
not copied wholesale.
"""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.articles.models import ARTICLE_KIND_NAMES, ArticleKind
from xinyong.articles.services import (
    article_kind,
    count_published,
    paragraphs,
    published_article,
    published_articles,
)
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.disclosure.services import (
    CATEGORY_NAMES,
    PER_PAGE,
    Category,
    disclosure_counts,
    looks_like_number,
    normalize_keyword,
    opaque_id,
    public_record,
    public_statistics,
    public_subject,
    public_subject_by_id,
    search_disclosures,
)
from xinyong.errors import InvalidInput, NotFound, XinyongError
from xinyong.identity.protection import protector_for
from xinyong.subjects.services import find_subject
from xinyong.web.deps import OptionalCallerDep, SessionDep
from xinyong.web.pages.common import EXTRA_NAV, render
from xinyong.web.ratelimit import client_address, limiter

router = APIRouter(include_in_schema=False)

EXTRA_NAV.append(("/reports/verify", "报告核验"))


def client_key(request: Request) -> str:
    # X-Forwarded-For counts only from a configured trusted proxy (web/ratelimit.py).
    return client_address(request)


def national_links() -> list[tuple[str, str]]:
    """The national systems the portal links to (setting ``national_links``)."""
    links = []
    for pair in get_settings().national_links.split(";"):
        name, _, url = pair.partition("=")
        if name.strip() and url.strip().startswith(("https://", "http://")):
            links.append((name.strip(), url.strip()))
    return links


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, caller: OptionalCallerDep) -> Response:
    stats = public_statistics(session)
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
        national_links=national_links(),
        stats=stats,
        chart_data={"stats": stats},
    )


def _too_many(request: Request, caller: OptionalCallerDep) -> Response | None:
    wait = limiter.wait("search", client_key(request))
    if not wait:
        return None
    response = render(
        request,
        "error.html",
        caller,
        status_code=429,
        status=429,
        heading="查询过于频繁",
        message=f"您的查询过于频繁，请 {wait} 秒后再试。公示信息可按名称查询，不提供批量下载。",
    )
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/disclosures/search", response_class=HTMLResponse)
def search_by_form(
    request: Request,
    session: SessionDep,
    caller: OptionalCallerDep,
    q: Annotated[str, Form(max_length=100)] = "",
    category: Annotated[str, Form(max_length=16)] = Category.BLACK.value,
) -> Response:
    """The search box posts here: a 统一社会信用代码 or 证件号码 is looked up by its blind
    index and answered with the subject's page (keyed by an opaque id), so that the number
    never appears in an address, a log line or the browser history; a name or document
    number goes on to the ordinary result list."""
    try:
        chosen = Category(category)
    except ValueError:
        chosen = Category.BLACK
    text = q.strip()
    if not looks_like_number(text):
        return RedirectResponse(
            f"/disclosures?category={chosen.value}&q={quote(text)}", status_code=303
        )
    refused = _too_many(request, caller)
    if refused is not None:
        return refused
    protector = protector_for()
    error = None
    try:
        subject = find_subject(session, protector, text)
    except XinyongError as exc:
        subject, error = None, exc.message
    if subject is not None:
        try:
            public_subject_by_id(session, protector, subject.id)
        except XinyongError:
            subject = None
        else:
            token = opaque_id(protector, "subject", subject.id)
            return RedirectResponse(f"/disclosures/subject/{token}", status_code=303)
    return render(
        request,
        "portal/disclosures.html",
        caller,
        categories=CATEGORY_NAMES,
        category=chosen,
        q="",
        result=None,
        error=error,
        not_found=error is None,
        per_page=PER_PAGE,
    )


@router.get("/disclosures/subject/{token}", response_class=HTMLResponse)
def subject_page(
    token: Annotated[str, Path(max_length=200)],
    request: Request,
    session: SessionDep,
    caller: OptionalCallerDep,
) -> Response:
    refused = _too_many(request, caller)
    if refused is not None:
        return refused
    found = public_subject(session, protector_for(), token)
    return render(request, "portal/subject.html", caller, subject=found)


@router.get("/disclosures/record/{token}", response_class=HTMLResponse)
def record_page(
    token: Annotated[str, Path(max_length=200)],
    request: Request,
    session: SessionDep,
    caller: OptionalCallerDep,
) -> Response:
    refused = _too_many(request, caller)
    if refused is not None:
        return refused
    found = public_record(session, protector_for(), token)
    return render(request, "portal/record.html", caller, d=found, categories=CATEGORY_NAMES)


@router.get("/disclosures", response_class=HTMLResponse)
def disclosures(
    request: Request,
    session: SessionDep,
    caller: OptionalCallerDep,
    category: Annotated[str, Query(max_length=16)] = Category.BLACK.value,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    refused = _too_many(request, caller)
    if refused is not None:
        return refused
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
    try:
        chosen = article_kind(kind)
    except InvalidInput:
        raise NotFound("栏目不存在", code="unknown_article_kind") from None
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
