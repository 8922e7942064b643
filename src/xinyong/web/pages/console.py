"""The credit office console (信用办控制台): dashboards, department assessment, articles,
catalog, measures and scenarios, accounts.

Only the credit office (``Role.ADMIN``) reaches these pages; each handler checks the
permission the action needs, the same one the API and the CLI check.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from xinyong.accounts import services as accounts
from xinyong.accounts.models import User
from xinyong.accounts.services import Caller
from xinyong.actors import ROLE_LABELS, Role
from xinyong.articles.models import ARTICLE_KIND_NAMES, ARTICLE_STATUS_NAMES, ArticleKind
from xinyong.articles.services import all_articles, get_article, save_article, set_article_status
from xinyong.catalog.models import Department
from xinyong.catalog.schemas import OPEN_LEVEL_NAMES
from xinyong.catalog.services import LoadResult, current_catalog, load_file
from xinyong.deadlines import load_schedule
from xinyong.errors import XinyongError
from xinyong.identity.masking import Audience
from xinyong.statistics.assessment import (
    MEASURES,
    PERIOD_KINDS,
    assess_departments,
    parse_period,
    period_choices,
)
from xinyong.statistics.figures import MandatoryCheckLine, dashboard, mandatory_checks
from xinyong.web.api.users import user_as_dict
from xinyong.web.deps import FormDep, SessionDep
from xinyong.web.pages.common import (
    SHANGHAI,
    AccountsAdminPage,
    AdminPage,
    CatalogAdminPage,
    FullArchivePage,
    flash_redirect,
    render,
)
from xinyong.workdays.services import year_views

router = APIRouter(include_in_schema=False)

CHART_TITLES = {
    "by_month": "信用记录按决定月份（近 24 个月）",
    "by_domain": "信用记录按领域",
    "by_department": "信用记录按报送部门",
    "by_nature": "信用记录按性质",
    "list_sizes": "名单规模（在列主体数）",
    "list_flows": "名单流量（近 12 个月列入与移出）",
    "checks": "联合奖惩核查结论",
    "measures_applied": "已实施的奖惩措施（前 10 项）",
    "answers": "异议与信用修复办理时效",
}
CHART_TYPES = {
    "by_month": "line",
    "by_domain": "bar",
    "by_department": "hbar",
    "by_nature": "pie",
    "list_sizes": "bar",
    "list_flows": "line",
    "checks": "pie",
    "measures_applied": "hbar",
    "answers": "stack",
}


@router.get("/console", response_class=HTMLResponse)
def console(
    request: Request,
    session: SessionDep,
    access: AdminPage,
    period: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    board = dashboard(session)
    month = request.query_params.get("month", "")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        month = dt.datetime.now(SHANGHAI).strftime("%Y-%m")
    mandatory = mandatory_checks(session, month)
    chosen = parse_period(period)
    charts = dict(board.charts)
    # The current month is partial: charts mark it instead of drawing a drop.
    for key in ("by_month", "list_flows"):
        if key in charts:
            charts[key] = {**charts[key], "partial": dt.date.today().strftime("%Y-%m")}
    return render(
        request,
        "console/index.html",
        access,
        totals=board.totals,
        charts=charts,
        chart_titles=CHART_TITLES,
        chart_types=CHART_TYPES,
        result=assess_departments(session, chosen),
        assessment=None,
        measures=MEASURES,
        period_kinds=PERIOD_KINDS,
        period_choices=period_choices(),
        mandatory=mandatory,
        mandatory_month=month,
        mandatory_flagged=_flagged(mandatory),
    )


def _flagged(lines: list[MandatoryCheckLine]) -> list[str]:
    """ "市财政局（政府采购、…）": each department with the mandatory scenarios it left unchecked."""
    missing: dict[str, list[str]] = {}
    for line in lines:
        if line.flagged:
            missing.setdefault(line.department, []).append(line.scenario_name)
    return [f"{dept}（{'、'.join(names)}）" for dept, names in sorted(missing.items())]


# -- articles -----------------------------------------------------------------------------


@router.get("/console/articles", response_class=HTMLResponse)
def articles(request: Request, session: SessionDep, access: CatalogAdminPage) -> Response:
    return render(
        request,
        "console/articles.html",
        access,
        articles=all_articles(session),
        kind_names=ARTICLE_KIND_NAMES,
        status_names=ARTICLE_STATUS_NAMES,
    )


def _article_form(
    request: Request, caller: Caller, form: dict[str, Any], error: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "console/article_form.html",
        caller,
        status_code=422 if error else 200,
        form=form,
        error=error,
        kind_names=ARTICLE_KIND_NAMES,
    )


@router.get("/console/articles/new", response_class=HTMLResponse)
def article_new(request: Request, access: CatalogAdminPage) -> Response:
    return _article_form(request, access, {"kind": ArticleKind.WARNING_CASE.value})


@router.get("/console/articles/{article_id}", response_class=HTMLResponse)
def article_edit(
    article_id: int, request: Request, session: SessionDep, access: CatalogAdminPage
) -> Response:
    a = get_article(session, article_id)
    form = {
        "id": a.id,
        "kind": a.kind,
        "title": a.title,
        "summary": a.summary or "",
        "source": a.source or "",
        "body": a.body,
        "status": a.status,
    }
    return _article_form(request, access, form)


@router.post("/console/articles", response_class=HTMLResponse)
def article_save(
    request: Request,
    session: SessionDep,
    access: CatalogAdminPage,
    kind: Annotated[str, Form(max_length=32)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    summary: Annotated[str, Form(max_length=600)] = "",
    source: Annotated[str, Form(max_length=300)] = "",
    body: Annotated[str, Form(max_length=30_000)] = "",
    article_id: Annotated[int | None, Form()] = None,
    publish: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        saved = save_article(
            session,
            access.actor,
            kind=kind,
            title=title,
            body=body,
            summary=summary,
            source=source,
            publish=publish == "on",
            article_id=article_id,
        )
    except XinyongError as exc:
        session.rollback()
        form = {"id": article_id, "kind": kind, "title": title, "summary": summary}
        form |= {"source": source, "body": body}
        return _article_form(request, access, form, exc.message)
    state = "已发布" if saved.status == "published" else "已保存草稿"
    return flash_redirect(request, "/console/articles", f"{state}：{saved.title}")


@router.post("/console/articles/{article_id}/status")
def article_status(
    article_id: int,
    request: Request,
    session: SessionDep,
    access: CatalogAdminPage,
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        set_article_status(session, access.actor, article_id, status)
    except XinyongError as exc:
        session.rollback()
        return flash_redirect(request, "/console/articles", exc.message)
    return flash_redirect(request, "/console/articles", "状态已更新")


# -- catalog, measures, scenarios -----------------------------------------------------------


@router.get("/console/catalog", response_class=HTMLResponse)
def catalog_page(request: Request, session: SessionDep, access: CatalogAdminPage) -> Response:
    catalog = current_catalog(session)
    section = request.query_params.get("section", "items")
    if section not in ("items", "measures", "scenarios"):
        section = "items"
    return render(
        request,
        "console/catalog.html",
        access,
        section=section,
        catalog=catalog,
        items=sorted(catalog.items.values(), key=lambda i: i.code),
        measures=sorted(catalog.measures.values(), key=lambda m: m.code),
        scenarios=sorted(catalog.scenarios.values(), key=lambda s: s.code),
        open_level_names=OPEN_LEVEL_NAMES,
        error=None,
    )


@router.post("/console/catalog", response_class=HTMLResponse)
def catalog_load(
    request: Request, form: FormDep, session: SessionDep, access: CatalogAdminPage
) -> Response:
    """Load a catalog YAML file (目录、措施清单、应用场景): changed entries become new versions."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return flash_redirect(request, "/console/catalog", "请选择目录文件（YAML）")
    data = upload.file.read(5 * 1024 * 1024 + 1)
    if len(data) > 5 * 1024 * 1024:
        return flash_redirect(request, "/console/catalog", "目录文件不能超过 5 MB")
    with tempfile.TemporaryDirectory(prefix="xinyong-catalog-") as tmp:
        path = Path(tmp) / Path(upload.filename).name
        path.write_bytes(data)
        try:
            result = load_file(session, path)
        except XinyongError as exc:
            session.rollback()
            return flash_redirect(request, "/console/catalog", f"载入失败：{exc.message}")
    return flash_redirect(request, "/console/catalog", f"载入完成：{_load_summary(result)}")


def _load_summary(result: LoadResult) -> str:
    return f"新增 {result.added} 项，更新 {result.updated} 项，未变化 {result.unchanged} 项"


# -- holiday schedules (节假日安排) ----------------------------------------------------------


@router.get("/console/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, session: SessionDep, access: CatalogAdminPage) -> Response:
    """Where each year's working days come from; upload the State Council's schedule."""
    return render(
        request,
        "console/calendar.html",
        access,
        years=year_views(session),
    )


@router.post("/console/calendar", response_class=HTMLResponse)
def calendar_load(
    request: Request, form: FormDep, session: SessionDep, access: CatalogAdminPage
) -> Response:
    """Load a schedule file (YAML or CSV); the open deadlines through its years are recomputed."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return flash_redirect(request, "/console/calendar", "请选择节假日安排文件（YAML 或 CSV）")
    data = upload.file.read(1024 * 1024 + 1)
    if len(data) > 1024 * 1024:
        return flash_redirect(request, "/console/calendar", "节假日安排文件不能超过 1 MB")
    try:
        result = load_schedule(session, access.actor, data, Path(upload.filename).name)
    except XinyongError as exc:
        session.rollback()
        return flash_redirect(request, "/console/calendar", f"载入失败：{exc.message}")
    return flash_redirect(request, "/console/calendar", result.summary)


# -- accounts -----------------------------------------------------------------------------

CREATABLE_ROLES = (Role.ADMIN, Role.CLERK, Role.REVIEWER, Role.INSTITUTION, Role.AUDITOR)


@router.get("/console/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, session: SessionDep, access: AccountsAdminPage) -> Response:
    return _accounts(request, session, access)


def _accounts(
    request: Request,
    session: SessionDep,
    caller: Caller,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    users = [user_as_dict(session, u) for u in session.scalars(select(User).order_by(User.id))]
    return render(
        request,
        "console/accounts.html",
        caller,
        status_code=422 if error else 200,
        users=users,
        roles={r.value: ROLE_LABELS[r] for r in CREATABLE_ROLES},
        departments=list(session.scalars(select(Department).order_by(Department.code))),
        error=error,
        form=form or {},
    )


@router.post("/console/accounts", response_class=HTMLResponse)
def account_create(
    request: Request,
    session: SessionDep,
    access: AccountsAdminPage,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    department: Annotated[str, Form(max_length=64)] = "",
    institution: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    if role not in {r.value for r in CREATABLE_ROLES}:
        return _accounts(request, session, access, "请选择角色")
    try:
        accounts.create_user(
            session,
            username=username.strip(),
            password=password,
            role=role,
            display_name=display_name.strip() or None,
            department_code=department or None,
            institution_name=institution.strip() or None,
        )
    except XinyongError as exc:
        session.rollback()
        form = {"username": username, "display_name": display_name, "role": role}
        form |= {"department": department, "institution": institution}
        return _accounts(request, session, access, exc.message, form)
    return flash_redirect(request, "/console/accounts", f"已创建账号 {username.strip()}")


@router.post("/console/accounts/{username}/active")
def account_active(
    username: str,
    request: Request,
    session: SessionDep,
    access: AccountsAdminPage,
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if access.actor.user_id is not None and active != "yes":
        me = session.get(User, access.actor.user_id)
        if me is not None and me.username == username:
            return flash_redirect(request, "/console/accounts", "不能停用自己的账号")
    try:
        accounts.set_active(session, username, active == "yes")
    except XinyongError as exc:
        session.rollback()
        return flash_redirect(request, "/console/accounts", exc.message)
    state = "已启用" if active == "yes" else "已停用"
    return flash_redirect(request, "/console/accounts", f"{state} {username}")


# -- 档案管理: the office's full archive ------------------------------------------------------


@router.get("/console/archive", response_class=HTMLResponse)
def archive_form(request: Request, access: FullArchivePage) -> Response:
    return render(request, "console/archive.html", access, archive=None, error=None, form={})


@router.post("/console/archive", response_class=HTMLResponse)
def archive_view(
    request: Request,
    session: SessionDep,
    access: FullArchivePage,
    id_number: Annotated[str, Form(max_length=64)] = "",
    purpose: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """档案管理: a subject's whole archive, every state labelled, with its history and
    provenance; the identity number travels in the form, never in the URL, and the read
    is logged with the stated purpose (``records.services.read_archive``)."""
    from xinyong.identity.protection import protector_for
    from xinyong.queries.models import QueryBasis
    from xinyong.records.services import read_archive
    from xinyong.subjects.services import find_subject

    form = {"purpose": purpose.strip()}

    def refuse(message: str) -> Response:
        return render(
            request,
            "console/archive.html",
            access,
            status_code=422,
            archive=None,
            error=message,
            form=form,
        )

    if len(purpose.strip()) < 2:
        return refuse("请说明查询目的（将记入查询记录）")
    protector = protector_for()
    try:
        subject = find_subject(session, protector, id_number.strip())
    except XinyongError as exc:
        return refuse(exc.message)
    if subject is None:
        return refuse("档案中没有该主体")
    archive = read_archive(
        session,
        access.actor,
        protector,
        subject,
        audience=Audience.GOVERNMENT,
        purpose=purpose.strip(),
        basis=QueryBasis.ADMINISTRATION,
        full=True,
    )
    return render(
        request,
        "console/archive.html",
        access,
        archive=archive.as_dict(),
        error=None,
        form=form,
    )
