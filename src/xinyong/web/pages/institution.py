"""The authorized institution's pages (授权查询机构): the authorizations persons granted it,
and queries under one of them.

The pages call the same functions as ``POST /api/v1/authorized/…`` and
``POST /api/v1/reports``: the authorization is checked (valid, in scope, this
institution's), a one-time authorization is used up, every read goes into the person's
query log and a refusal into the audit trail, where repeated refusals raise an alert.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter

from xinyong.accounts.services import Caller
from xinyong.authorizations.rules import SCOPE_LABELS, Scope
from xinyong.authorized import authorized_read, authorized_report, granted_rows
from xinyong.errors import XinyongError
from xinyong.identity.masking import Audience
from xinyong.lists.models import LIST_NAMES
from xinyong.reports.content import AUDIENCE_LABELS
from xinyong.web.api.subjects import ArchiveRead, ListEntryRead, ScoreRead
from xinyong.web.deps import SessionDep, undo_failed_work
from xinyong.web.pages.account import LIST_STATUS_NAMES
from xinyong.web.pages.common import (
    InstitutionPage,
    render,
)

router = APIRouter(include_in_schema=False)

QUERY_KINDS = {
    Scope.ARCHIVE.value: "信用档案",
    Scope.SCORE.value: "信用评价（诚信积分）",
    Scope.LISTS.value: "红黑名单",
    Scope.REPORT.value: "信用报告（授权查询版）",
}


# What the API answers is what the page shows: the same models, no field more.
ANSWER_SHAPES: dict[str, TypeAdapter[Any]] = {
    Scope.ARCHIVE.value: TypeAdapter(ArchiveRead),
    Scope.SCORE.value: TypeAdapter(ScoreRead),
    Scope.LISTS.value: TypeAdapter(list[ListEntryRead]),
}


def _home(
    request: Request,
    session: SessionDep,
    caller: Caller,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = granted_rows(session, caller.actor)
    for row in rows:
        row["scope_names"] = [SCOPE_LABELS.get(s, s) for s in row["scope"]]
    return render(
        request,
        "institution/index.html",
        caller,
        status_code=status_code,
        authorizations=rows,
        usable=[r for r in rows if r["status"] == "有效"],
        kinds=QUERY_KINDS,
        form=form or {},
        error=error,
    )


@router.get("/institution", response_class=HTMLResponse)
def institution_home(request: Request, session: SessionDep, access: InstitutionPage) -> Response:
    form = {"authorization_id": request.query_params.get("authorization", "")}
    return _home(request, session, access, form=form)


@router.post("/institution/query", response_class=HTMLResponse)
def institution_query(
    request: Request,
    session: SessionDep,
    access: InstitutionPage,
    authorization_id: Annotated[str, Form(max_length=20)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    id_number: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Runs one authorized query; a refusal comes back with its Chinese reason."""
    form = {"authorization_id": authorization_id, "kind": kind}
    if not authorization_id.isdigit() or len(authorization_id) > 18:
        return _home(request, session, access, form=form, error="请选择授权", status_code=422)
    if kind not in QUERY_KINDS:
        return _home(request, session, access, form=form, error="请选择查询事项", status_code=422)
    auth_id = int(authorization_id)
    result: Any
    try:
        if kind == Scope.REPORT:
            result = authorized_report(session, access.actor, auth_id)
        else:
            result = authorized_read(
                session, access.actor, auth_id, kind, id_number.strip() or None
            )
    except XinyongError as exc:
        undo_failed_work(session, exc)  # a refusal's audit trail is kept
        return _home(
            request, session, access, form=form, error=exc.message, status_code=exc.http_status
        )
    context: dict[str, Any] = {}
    if kind == Scope.REPORT:
        context["report"] = {
            "number": result.report_number,
            "audience": AUDIENCE_LABELS[Audience(result.audience)],
            "subject_name": result.subject_name_masked,
            "subject_number": result.subject_number_masked,
            "code": result.verification_code,
        }
    else:
        shape = ANSWER_SHAPES[kind]
        context["data"] = shape.dump_python(shape.validate_python(result))
    return render(
        request,
        "institution/result.html",
        access,
        kind=kind,
        kind_name=QUERY_KINDS[kind],
        authorization_id=auth_id,
        list_names=LIST_NAMES,
        list_status_names=LIST_STATUS_NAMES,
        **context,
    )
