"""联合奖惩核查 for departments' business systems: check, batch comparison, feedback."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xinyong.accounts.permissions import Permission, require
from xinyong.accounts.services import (
    KEY_PREFIX,
    authenticate_api_key,
)
from xinyong.actors import Actor
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.services import cached_catalog, current_catalog
from xinyong.config import get_settings
from xinyong.db import get_engine, transaction
from xinyong.errors import InvalidInput, TooManyRequests, XinyongError
from xinyong.identity.protection import IdentityProtector, protector_for
from xinyong.measures import fastpath
from xinyong.measures.batch import compare_file
from xinyong.measures.services import add_feedback, plan_check, run_check
from xinyong.subjects.services import is_other_document
from xinyong.web.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    CheckerDep,
    FeedbackDep,
    PathId,
    SessionDep,
    authenticate_request,
    logged_in,
    request_secret,
    require_csrf,
)
from xinyong.web.errors import INTERNAL_ERROR, error_body
from xinyong.web.ratelimit import limiter

log = logging.getLogger("xinyong.web")

router = APIRouter(tags=["联合奖惩 checks"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CheckCreate(BaseModel):
    id_number: str = Field(min_length=1, max_length=64, description="身份证号或统一社会信用代码")
    id_type: str | None = Field(default=None, description="证件类型；默认按号码识别")
    scenario: str = Field(min_length=1, max_length=64, description="应用场景代码")
    operator: str = Field(min_length=1, max_length=200, description="经办人")
    business_ref: str = Field(min_length=1, max_length=200, description="业务编号")


class TriggerRead(BaseModel):
    kind: str
    ref: int | None
    text: str
    via_organisation: str | None


class DecisionRead(BaseModel):
    measure: str
    name: str
    kind: Literal["reward", "punishment"]
    effect: str
    effect_name: str
    basis: str
    departments: list[str]
    triggers: list[TriggerRead]


class CheckRead(BaseModel):
    check_id: int
    verdict: Literal["blocked", "restricted", "eased", "clear"]
    verdict_name: str
    decisions: list[DecisionRead]


def _require_checker(actor: Actor) -> None:
    require(actor, Permission.RUN_CHECK)


# Business systems call the check endpoint many times a second with the same key: a
# successful authentication is trusted for a few seconds per process, so a revoked or
# expired key is refused at most this long after the change.
AUTH_TTL_SECONDS = 5.0
_AUTH_CACHE_MAX = 1024
_authenticated: dict[str, tuple[Actor, float]] = {}


def _authenticate(secret: str) -> Actor:
    with transaction() as session:
        return authenticate_api_key(session, secret)


def _authenticate_other(
    authorization: str | None, x_api_key: str | None, cookie: str | None, csrf: str | None
) -> Actor:
    """Login tokens and browser sessions: the general path of every route
    (``web.deps.authenticate_request``), uncached; CSRF from the header for cookies (the
    body is JSON)."""
    with transaction() as session:
        caller, by_cookie = authenticate_request(session, authorization, x_api_key, cookie)
        caller = logged_in(caller)
        if by_cookie:
            require_csrf(caller, csrf, CHECK_PATH)
        return caller.actor


def _cached_key_actor(secret: str) -> tuple[str, Actor | None]:
    """The key's digest and the actor it authenticated within the last seconds, if any."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    cached = _authenticated.get(digest)
    if cached is not None and time.monotonic() - cached[1] < AUTH_TTL_SECONDS:
        return digest, cached[0]
    return digest, None


async def checker_actor(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Actor:
    """The caller, as ``web.deps.get_actor`` resolves it; API keys (business systems
    calling many times a second) with the short per-process cache."""
    secret = request_secret(authorization, x_api_key)
    if not secret or not secret.startswith(KEY_PREFIX):
        actor = await run_in_threadpool(
            _authenticate_other,
            authorization,
            x_api_key,
            request.cookies.get(SESSION_COOKIE),
            request.headers.get(CSRF_HEADER),
        )
        return require(actor, Permission.RUN_CHECK)
    digest, cached = _cached_key_actor(secret)
    if cached is not None:
        return require(cached, Permission.RUN_CHECK)
    actor = await run_in_threadpool(_authenticate, secret)
    if len(_authenticated) >= _AUTH_CACHE_MAX:
        _authenticated.clear()
    _authenticated[digest] = (actor, time.monotonic())
    return require(actor, Permission.RUN_CHECK)


_protectors: dict[int, IdentityProtector] = {}


def _protector() -> IdentityProtector:
    """The process's protector for the settings in force (keys are read once, not per check)."""
    settings = get_settings()
    protector = _protectors.get(id(settings))
    if protector is None:
        _protectors.clear()
        protector = _protectors[id(settings)] = protector_for(settings)
    return protector


def _check(body: CheckCreate, actor: Actor) -> dict[str, Any]:
    """The whole check in one unit of work: read, decide, record, commit.

    Committed before the answer leaves: the read is logged in its own transaction."""
    _require_checker(actor)
    with transaction(writes=True) as session:  # it reads, then records the check
        result = run_check(
            session,
            actor,
            _protector(),
            id_number=body.id_number,
            id_type=body.id_type,
            scenario=body.scenario,
            operator=body.operator,
            business_ref=body.business_ref,
        )
    return result.as_dict()


def _catalog() -> Catalog:
    with transaction() as session:
        return current_catalog(session)


def _fast_path_on() -> bool:
    return get_settings().check_fast_path and get_engine().dialect.name == "postgresql"


async def _fast_check(body: CheckCreate, actor: Actor, catalog: Catalog) -> dict[str, Any]:
    """The check on the event loop (``measures.fastpath``): PostgreSQL, catalog cached."""
    limiter.hit("check", actor.name)
    _require_checker(actor)
    plan = plan_check(
        catalog,
        _protector(),
        id_number=body.id_number,
        id_type=body.id_type,
        scenario=body.scenario,
        operator=body.operator,
        business_ref=body.business_ref,
    )
    result = await fastpath.for_this_loop(get_settings().effective_database_url).check(
        actor, plan, catalog
    )
    return result.as_dict()


@router.post("/checks", response_model=CheckRead)
async def create_check(body: CheckCreate, actor: Annotated[Actor, Depends(checker_actor)]) -> Any:
    """Which joint rewards and punishments apply to the subject in the scenario, and why.

    A person not in the archive is answered as having no records. Rate-limited per API key
    or account (429 with Retry-After)."""
    if not _fast_path_on() or is_other_document(body.id_type):
        # (A check by passport or permit resolves the person's archive first: not the
        # one-statement fast path.)
        limiter.hit("check", actor.name)
        # One hop to a worker thread for all the blocking work (not one per dependency).
        answer = await run_in_threadpool(_check, body, actor)
        # Already shaped as CheckRead (as_dict); skip re-validating it.
        return JSONResponse(answer)
    catalog = cached_catalog(get_engine())
    if catalog is None:  # checked at most every few seconds
        catalog = await run_in_threadpool(_catalog)
    return JSONResponse(await _fast_check(body, actor, catalog))


CHECK_PATH = "/api/v1/checks"


def _is_json(content_type: str | None) -> bool:
    """Whether the framework would read the body as JSON (no type, or a JSON one)."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


class CheckRoute:
    """``POST /api/v1/checks`` answered before the framework's routing, for the common
    case only: the fast path on, an API key authenticated within the last seconds, the
    catalog cached and a body that ``CheckCreate`` accepts. Anything else — no or an
    unknown key, a bad body, SQLite — goes on to ``create_check`` with the body as
    received, which authenticates, validates and answers errors as every route does.

    Business systems call this endpoint many times a second; the framework's dependency
    resolution, request and response models cost about as much CPU as the check itself
    (docs/benchmarks.md)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != CHECK_PATH
            or scope["method"] != "POST"
            or not _fast_path_on()
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        answered = await self._answer(scope, body, send)
        if not answered:
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send)

    async def _answer(self, scope: Scope, body: bytes, send: Send) -> bool:
        """Answer the request if it is the common case; False to hand it on."""
        key = authorization = content_type = None
        for name, value in scope["headers"]:  # the first of each, as the route reads them
            if name == b"x-api-key" and key is None:
                key = value.decode("latin-1")
            elif name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
        if authorization is not None and authorization[:7].lower() == "bearer ":
            secret = key or authorization[7:].strip()
        else:
            secret = key
        if not secret or not secret.startswith(KEY_PREFIX) or not _is_json(content_type):
            return False
        actor = _cached_key_actor(secret)[1]
        catalog = cached_catalog(get_engine())
        if actor is None or catalog is None:
            return False
        try:
            request = CheckCreate.model_validate_json(body)
        except ValidationError:
            return False
        status = 200
        headers: list[tuple[bytes, bytes]] = []
        try:
            answer: Any = await _fast_check(request, actor, catalog)
        except XinyongError as exc:
            status, answer = exc.http_status, error_body(exc)
            if isinstance(exc, TooManyRequests):
                headers.append((b"retry-after", str(exc.retry_after).encode()))
        except Exception:
            log.exception("unhandled error on %s", CHECK_PATH)
            status, answer = 500, INTERNAL_ERROR
        payload = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return True


@router.post(
    "/checks/batches",
    response_class=FileResponse,
    responses={
        200: {"content": {XLSX: {}}, "description": "比对结果 XLSX；汇总见 X-Batch-Summary"}
    },
)
async def create_batch(request: Request, session: SessionDep, actor: CheckerDep) -> Any:
    """批量比对: upload a CSV/XLSX of people (`file`, `scenario`, `operator` form fields);
    get back the same rows with verdict and measures, and a summary sheet."""
    form = await request.form()
    upload = form.get("file")
    scenario = form.get("scenario")
    operator = form.get("operator")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("请以 file 字段上传文件", code="missing_file")
    if not isinstance(scenario, str) or not scenario:
        raise InvalidInput("须指定应用场景 scenario", code="unknown_scenario")
    if not isinstance(operator, str) or not operator.strip():
        raise InvalidInput("须填写经办人 operator", code="missing_operator")
    limit = get_settings().max_upload_bytes
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-batch-"))
    source = tmp / "input"
    size = 0
    with source.open("wb") as fh:
        while block := await upload.read(1 << 20):
            size += len(block)
            if size > limit:
                shutil.rmtree(tmp, ignore_errors=True)
                raise InvalidInput(f"文件超过 {limit // (1 << 20)} MB 上限", code="too_large")
            fh.write(block)
    out = tmp / "result.xlsx"
    try:
        summary = await run_in_threadpool(
            compare_file,
            source,
            out,
            scenario=scenario,
            operator=operator.strip(),
            actor=actor,
            session=session,
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type=XLSX,
        filename="比对结果.xlsx",
        headers={"X-Batch-Summary": json.dumps(summary)},
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


class FeedbackCreate(BaseModel):
    measure: str = Field(min_length=1, max_length=64)
    applied: bool
    outcome: str = Field(min_length=1, max_length=200, description="处理结果，如 不予许可")
    note: str | None = Field(default=None, max_length=2000)


class FeedbackRead(BaseModel):
    id: int
    check_id: int
    measure_code: str
    applied: bool
    outcome: str


@router.post("/checks/{check_id}/feedback", response_model=FeedbackRead)
def create_feedback(
    check_id: PathId, body: FeedbackCreate, session: SessionDep, actor: FeedbackDep
) -> Any:
    """反馈: what the department did with the check's measures."""
    return add_feedback(
        session,
        actor,
        check_id,
        measure=body.measure,
        applied=body.applied,
        outcome=body.outcome,
        note=body.note,
    )
