"""The black-list procedure on the pages: the person reads the notice (告知) and answers
(陈述申辩) with evidence files; the deciding department sees the defence and decides.

The pages call ``lists.services`` and ``lists.procedure``, the services behind
``/api/v1/me/blacklist-procedures`` and ``/api/v1/blacklist-procedures``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xinyong.accounts.services import Caller
from xinyong.errors import InvalidInput, XinyongError
from xinyong.lists import procedure
from xinyong.lists import services as lists
from xinyong.web.deps import FormDep, PathId, SessionDep
from xinyong.web.pages.common import (
    CaseStaffPage,
    PersonPage,
    flash_redirect,
    render,
    workbench_context,
)
from xinyong.web.uploads import evidence_from_form

router = APIRouter(include_in_schema=False)


# -- the person ---------------------------------------------------------------------------


def _defence_page(
    request: Request,
    session: SessionDep,
    caller: Caller,
    entry_id: int,
    *,
    error: str | None = None,
    statement: str = "",
    status_code: int = 200,
) -> Response:
    entry = procedure.own_procedure(session, caller.actor, entry_id)
    return render(
        request,
        "lists/defence.html",
        caller,
        status_code=status_code,
        p=procedure.procedure_as_dict(session, entry),
        error=error,
        statement=statement,
    )


@router.get("/me/blacklist/{entry_id}", response_class=HTMLResponse)
def defence_form(
    entry_id: PathId, request: Request, session: SessionDep, access: PersonPage
) -> Response:
    return _defence_page(request, session, access, entry_id)


@router.post("/me/blacklist/{entry_id}/defence", response_class=HTMLResponse)
def submit_defence(
    entry_id: PathId, request: Request, form: FormDep, session: SessionDep, access: PersonPage
) -> Response:
    procedure.own_procedure(session, access.actor, entry_id)
    statement = str(form.get("statement") or "")
    try:
        lists.submit_defence(
            session, access.actor, entry_id, statement, evidence=evidence_from_form(form)
        )
    except XinyongError as exc:
        session.rollback()
        return _defence_page(
            request,
            session,
            access,
            entry_id,
            error=exc.message,
            statement=statement,
            status_code=exc.http_status,
        )
    # The /me page shows only flash messages (a link cannot make it say anything).
    return flash_redirect(
        request, "/me#lists", f"陈述申辩意见已提交（程序 {entry_id}），认定部门审查后作出决定"
    )


# -- the deciding department --------------------------------------------------------------


def _workbench(
    request: Request,
    session: SessionDep,
    caller: Caller,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    decision_error: tuple[int, str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "lists/workbench.html",
        caller,
        status_code=status_code,
        procedures=procedure.procedures_of_department(session, caller.actor),
        error=error,
        form=form or {"record": request.query_params.get("record", "")},
        decision_error=decision_error,
        message=request.query_params.get("message"),
        **workbench_context(session, caller),
    )


@router.get("/workbench/blacklist", response_class=HTMLResponse)
def workbench_page(request: Request, session: SessionDep, access: CaseStaffPage) -> Response:
    return _workbench(request, session, access)


@router.post("/workbench/blacklist", response_class=HTMLResponse)
def notify(request: Request, data: FormDep, session: SessionDep, access: CaseStaffPage) -> Response:
    """告知: start the procedure on one of the department's 严重 records."""
    form = {k: str(data.get(k) or "").strip() for k in ("record", "reasons", "basis")}
    try:
        if not form["record"].isdigit():
            raise InvalidInput("请填写记录编号（数字）", code="bad_record")
        if not form["reasons"] or not form["basis"]:
            raise InvalidInput("须填写拟列入理由和列入依据", code="field_required")
        entry = lists.notify_blacklisting(
            session, access.actor, int(form["record"]), reasons=form["reasons"], basis=form["basis"]
        )
    except XinyongError as exc:
        session.rollback()
        return _workbench(
            request, session, access, error=exc.message, form=form, status_code=exc.http_status
        )
    return RedirectResponse(
        f"/workbench/blacklist?message=已告知，陈述申辩截止 {entry.defence_until}", status_code=303
    )


@router.post("/workbench/blacklist/{entry_id}/decision", response_class=HTMLResponse)
def decide(
    entry_id: PathId, request: Request, data: FormDep, session: SessionDep, access: CaseStaffPage
) -> Response:
    """列入 or 不予列入, with reasons and how the defence was weighed."""
    form: dict[str, Any] = {
        k: str(data.get(k) or "").strip() for k in ("decision", "reasons", "defence_review")
    }
    try:
        if form["decision"] not in ("list", "withdraw"):
            raise InvalidInput("请选择列入或不予列入", code="bad_decision")
        if not form["reasons"]:
            raise InvalidInput("须填写决定理由", code="field_required")
        lists.decide_blacklisting(
            session,
            access.actor,
            entry_id,
            list_subject=form["decision"] == "list",
            reasons=form["reasons"],
            defence_review=form["defence_review"] or None,
        )
    except XinyongError as exc:
        session.rollback()
        return _workbench(
            request,
            session,
            access,
            decision_error=(entry_id, exc.message, form),
            status_code=exc.http_status,
        )
    return RedirectResponse("/workbench/blacklist?message=已作出决定", status_code=303)
