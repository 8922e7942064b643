"""Who may act for whom in the workflows.

- A person acts on their own archive only (``actor.subject_id``).
- An institution acts on a person's behalf only with a valid authorization of the right
  scope, checked by the accounts work's ``require_authorization``.
- A department's clerk, reviewer or system acts only on records its department submitted
  (谁认定谁修复).
- The credit office (admin, and the platform's own jobs) acts on every record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from xinyong.actors import Actor, Role
from xinyong.authorizations.services import require_authorization
from xinyong.errors import Forbidden
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query

_Case = TypeVar("_Case")


def require_for_subject(
    session: Session,
    actor: Actor,
    subject_id: int,
    *,
    scope: str,
    authorization_id: int | None = None,
) -> None:
    """The actor may file for this subject (本人, 受托机构 with authorization, 信用办窗口)."""
    if actor.is_admin:
        return
    if actor.role == Role.PERSON:
        if actor.subject_id is None or actor.subject_id != subject_id:
            raise Forbidden("只能对本人的信用记录提出申请", code="not_own_archive")
        return
    if actor.role == Role.INSTITUTION:
        if authorization_id is None:
            raise Forbidden("代为申请须提供信息主体的授权", code="authorization_required")
        require_authorization(session, actor, subject_id, authorization_id, scope=scope)
        return
    raise Forbidden("无权代信息主体提出申请", code="forbidden")


def require_department(actor: Actor, department_id: int) -> None:
    """The actor acts for the department that submitted the record, or is the credit office."""
    if actor.is_admin:
        return
    if actor.is_department and actor.department_id == department_id:
        return
    if actor.is_department:
        raise Forbidden("只能处理本部门报送的记录", code="not_own_department")
    raise Forbidden("无权处理", code="forbidden")


def require_filer(actor: Actor, subject_id: int, filed_by: str, *, noun: str, code: str) -> None:
    """Withdrawing a case: a person only their own, an institution only what it filed (the
    office and the deciding department's side are held by the state machine's roles)."""
    if actor.role == Role.PERSON and actor.subject_id != subject_id:
        raise Forbidden(f"只能撤回本人的{noun}", code="not_own_archive")
    if actor.role == Role.INSTITUTION and actor.name[:200] != filed_by:
        raise Forbidden(f"只能撤回本机构代为提出的{noun}", code=code)


def refuse_auditor(actor: Actor, what: str) -> None:
    """Auditors read the trail, not the content (DOMAIN §2: audit trail, alerts, statistics).

    Who read or handled a case is in the audit log and the query log; the case itself (an
    objection's or repair's statement, a defence, a commitment, a tip-off, an interview, an
    evidence file) is the person's data and an auditor is refused it outright, before any
    look-up, so the refusal says nothing about whether the case exists."""
    if actor.role == Role.AUDITOR:
        raise Forbidden(f"审计人员查看留痕记录，不查看{what}", code="auditor_reads_trail")


def may_read_subject(actor: Actor, subject_id: int, department_id: int | None) -> bool:
    """Reading a workflow's case: the person, the deciding department, the office.

    Auditors never (``refuse_auditor``): they read the trail of the case, not the case."""
    if actor.is_admin:
        return True
    if actor.role == Role.PERSON:
        return actor.subject_id == subject_id
    if actor.is_department:
        return department_id is not None and actor.department_id == department_id
    return False


def log_case_read(
    session: Session, actor: Actor, subject_id: int, *, action: str, what: str, ids: list[int]
) -> None:
    """Reading a workflow case is reading the person's data: logged like any other read."""
    own = actor.role == Role.PERSON and actor.subject_id == subject_id
    if own:
        basis = QueryBasis.SELF
    elif actor.is_admin:
        basis = QueryBasis.ADMINISTRATION
    elif actor.role == Role.INSTITUTION:
        basis = QueryBasis.AUTHORIZATION
    else:
        basis = QueryBasis.LEGAL_DUTY
    log_query(
        session,
        actor,
        subject_id,
        action=action,
        purpose=f"查看{what}" if own else f"办理{what}",
        basis=basis,
        returned={"ids": ids},
        organisation=actor.organisation_name,
    )


def log_case_reads(
    session: Session,
    actor: Actor,
    cases: Iterable[tuple[int, int]],
    *,
    action: str,
    what: str,
) -> None:
    """A list of cases read at once: one log entry per person, naming their case ids.
    ``cases`` holds (subject id, case id) pairs."""
    by_subject: dict[int, list[int]] = {}
    for subject_id, case_id in cases:
        by_subject.setdefault(subject_id, []).append(case_id)
    for subject_id, ids in by_subject.items():
        log_case_read(session, actor, subject_id, action=action, what=what, ids=ids)


def scope_case_list(
    stmt: Select[_Case],
    actor: Actor,
    *,
    subject: InstrumentedAttribute[Any],
    filed_by: InstrumentedAttribute[Any],
    department: InstrumentedAttribute[Any],
    refusal: str,
) -> Select[_Case]:
    """A list of workflow cases (objections, repair applications, commitments), narrowed
    to what the actor may see: a person their own, an institution what it filed, a
    department's staff its department's, the credit office everything; anyone else is
    refused with ``refusal``. Auditors are refused before (``refuse_auditor``)."""
    if actor.role == Role.PERSON:
        return stmt.where(subject == (actor.subject_id or -1))
    if actor.role == Role.INSTITUTION:
        return stmt.where(filed_by == actor.name[:200])
    if actor.is_department:
        return stmt.where(department == (actor.department_id or -1))
    if not actor.is_admin:
        raise Forbidden(refusal, code="forbidden")
    return stmt
