"""The FastAPI application: routers, error mapping, static files."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from xinyong import __version__
from xinyong.config import get_settings, refuse_default_secrets
from xinyong.db import is_busy_error
from xinyong.errors import InvalidInput, TooManyRequests, XinyongError
from xinyong.measures import fastpath
from xinyong.submissions.jobs import start_worker
from xinyong.web.api import (
    audit,
    auth,
    authorized,
    catalog,
    checks,
    exchange,
    me,
    reports,
    subjects,
    submissions,
    users,
    workflows,
)
from xinyong.web.api import lists as lists_api
from xinyong.web.errors import (
    BUSY_ERROR,
    BUSY_RETRY_AFTER,
    HEADINGS,
    INTERNAL_ERROR,
    error_body,
    http_error,
    validation_details,
    validation_sentence,
)
from xinyong.web.pages import (
    account,
    cases,
    console,
    home,
    institution,
    interviews,
    remedies,
    workbench,
)
from xinyong.web.pages import audit as audit_pages
from xinyong.web.pages import blacklist as blacklist_pages
from xinyong.web.pages import reports as report_pages
from xinyong.web.pages.common import PageRefused, error_page
from xinyong.web.security import BodySizeLimit, SecurityHeaders

log = logging.getLogger("xinyong.web")
STATIC_DIR = Path(__file__).parent / "static"
JOB_STOP_SECONDS = 60  # at shutdown, how long the job runner may finish its chunk


def _wants_page(request: Request) -> bool:
    """A page URL (anything outside the API): errors are answered with a Chinese HTML
    page in the site's layout; the API keeps its JSON error shape."""
    return not request.url.path.startswith("/api/")


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The submission job runner of this worker process (submissions.jobs): claims are
    # conditional UPDATEs, so several processes share the queue safely.
    worker = start_worker() if get_settings().job_worker else None
    yield
    if worker is not None:
        worker[1].set()  # a running job is queued again after its chunk in flight
        await asyncio.to_thread(worker[0].join, JOB_STOP_SECONDS)
    # The check API's reader pool and journal of this worker (measures.fastpath).
    await fastpath.close_for_this_loop()


def create_app() -> FastAPI:
    refuse_default_secrets(get_settings())
    app = FastAPI(
        title="xinyong 个人公共信用信息平台 API",
        version=__version__,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )

    @app.exception_handler(XinyongError)
    async def domain_error(request: Request, exc: XinyongError) -> Response:
        response: Response
        if _wants_page(request):
            response = error_page(
                request, exc.http_status, HEADINGS.get(exc.http_status), exc.message
            )
        else:
            response = JSONResponse(error_body(exc), status_code=exc.http_status)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(PageRefused)
    async def page_refused(request: Request, exc: PageRefused) -> Response:
        # A page's access dependency (pages.common.require_page): login, or the 403 page.
        return exc.response(request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _wants_page(request):
            sentence = validation_sentence(exc.errors())
            return error_page(request, 422, "请求参数不正确", f"{sentence}。请检查后重试")
        details = validation_details(exc.errors())
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": "请求格式不正确", "details": details}},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_exception(request: Request, exc: StarletteHTTPException) -> Response:
        # Raised by the routing (404, 405) and the body parsing (400) in English.
        code, heading, message = http_error(exc.status_code)
        response: Response
        if _wants_page(request):
            response = error_page(request, exc.status_code, heading, message)
        else:
            response = JSONResponse(
                {"error": {"code": code, "message": message}}, status_code=exc.status_code
            )
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(OverflowError)
    async def number_out_of_range(request: Request, exc: Exception) -> Response:
        # A number larger than any id the database can hold: the request is wrong, not
        # the server. (Inputs are bounded where declared; this guards the rest.)
        return await domain_error(
            request, InvalidInput("数值超出允许范围", code="number_out_of_range")
        )

    @app.exception_handler(DataError)
    async def bad_value(request: Request, exc: DataError) -> Response:
        if "out of range" in str(exc.orig):
            return await number_out_of_range(request, exc)
        return await unexpected(request, exc)

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> Response:
        # Another writer held the lock past the busy bound (SQLite's busy timeout, a
        # lock_timeout on PostgreSQL): the client should come back, the server is fine.
        if not is_busy_error(exc):
            return await unexpected(request, exc)
        log.warning("database busy on %s", request.url.path)
        response: Response
        if _wants_page(request):
            response = error_page(request, 503, HEADINGS[503], BUSY_ERROR["error"]["message"])
        else:
            response = JSONResponse(BUSY_ERROR, status_code=503)
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        if _wants_page(request):
            return error_page(request, 500, "服务器内部错误", "服务器内部错误，请稍后再试")
        return JSONResponse(INTERNAL_ERROR, status_code=500)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "img" / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=604800"},
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(submissions.router, prefix="/api/v1")
    app.include_router(subjects.router, prefix="/api/v1")
    app.include_router(catalog.router, prefix="/api/v1")
    app.include_router(checks.router, prefix="/api/v1")
    app.include_router(workflows.router, prefix="/api/v1")
    app.include_router(auth.router, prefix="/api/v1")
    app.include_router(me.router, prefix="/api/v1")
    app.include_router(authorized.router, prefix="/api/v1")
    app.include_router(users.router, prefix="/api/v1")
    app.include_router(audit.router, prefix="/api/v1")
    app.include_router(exchange.router, prefix="/api/v1")
    app.include_router(reports.router, prefix="/api/v1")
    app.include_router(home.router)
    app.include_router(account.router)
    app.include_router(report_pages.router)
    app.include_router(remedies.router)
    app.include_router(workbench.router)
    app.include_router(cases.router)
    app.include_router(console.router)
    app.include_router(audit_pages.router)
    app.include_router(interviews.router)
    app.include_router(institution.router)
    app.include_router(lists_api.router, prefix="/api/v1")
    app.include_router(blacklist_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Innermost: after the security headers and the body limit, before the routing.
    app.add_middleware(checks.CheckRoute)
    # Room above the largest file for the multipart envelope and form fields.
    app.add_middleware(BodySizeLimit, limit=get_settings().max_upload_bytes + (1 << 20))
    app.add_middleware(SecurityHeaders)
    return app
