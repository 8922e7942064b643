"""Queries by an institution, each relying on the person's authorization (授权查询).

The one service behind ``POST /api/v1/authorized/…`` and the institution's pages. A
refusal is audited and its error marked ``keep_work``: the request fails, but the trace
of the refused query stands (repeated refusals raise an alert).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.authorizations import services as authz
from xinyong.authorizations.models import Authorization
from xinyong.authorizations.rules import PURPOSE_LABELS, Scope
from xinyong.errors import Forbidden, InvalidInput, keep_work
from xinyong.identity.masking import Audience, mask_name
from xinyong.identity.protection import protector_for
from xinyong.queries.models import QueryBasis
from xinyong.reads import read_lists, read_score
from xinyong.records.services import read_archive
from xinyong.reports.models import CreditReport
from xinyong.reports.services import issue_report
from xinyong.subjects.models import Subject
from xinyong.subjects.services import blind_index_for, get_subject

QUERY_SCOPES = (Scope.ARCHIVE, Scope.SCORE, Scope.LISTS)


def _subject_checked(session: Session, id_number: str | None) -> int | None:
    """The subject named in the request, if any, so the authorization must match it."""
    if id_number is None:
        return None
    index = blind_index_for(protector_for(), id_number)
    subject_id = session.scalar(select(Subject.id).where(Subject.id_index == index))
    if subject_id is None:
        raise InvalidInput("身份证号与授权不符", code="authorization_other_subject")
    return subject_id


def _authorization(
    session: Session, actor: Actor, authorization_id: int, id_number: str | None, scope: str
) -> Authorization:
    """The authorization the query relies on; a refusal is audited and kept."""
    try:
        subject_id = _subject_checked(session, id_number)
    except InvalidInput as exc:
        record_event(session, actor, "query:authorization:refused", target_type="authorization", target_id=authorization_id, basis="authorization", details={"scope": scope, "reason": exc.code})  # fmt: skip
        keep_work(exc)
        raise
    try:
        return authz.require_authorization(session, actor, subject_id, authorization_id, scope)
    except Forbidden as exc:
        keep_work(exc)
        raise


def _purpose(auth: Authorization) -> str:
    label = PURPOSE_LABELS.get(auth.purpose, auth.purpose)
    return f"{label}：{auth.purpose_text}" if auth.purpose_text else label


def authorized_read(
    session: Session,
    actor: Actor,
    authorization_id: int,
    scope: str,
    id_number: str | None = None,
) -> Any:
    """An institution's query (archive, score or lists) under a person's authorization,
    for the API and the institution's pages alike; logged in the person's query log."""
    if scope not in QUERY_SCOPES:
        raise InvalidInput("查询事项只能是信用档案、信用评价或红黑名单", code="bad_scope")
    auth = _authorization(session, actor, authorization_id, id_number, scope)
    if scope == Scope.ARCHIVE:
        return read_archive(
            session,
            actor,
            protector_for(),
            get_subject(session, auth.subject_id),
            audience=Audience.AUTHORIZED,
            purpose=_purpose(auth),
            basis=QueryBasis.AUTHORIZATION,
            authorization_id=auth.id,
        ).as_dict()
    if scope == Scope.SCORE:
        return read_score(
            session,
            actor,
            auth.subject_id,
            purpose=_purpose(auth),
            basis=QueryBasis.AUTHORIZATION,
            authorization_id=auth.id,
        )
    return read_lists(
        session,
        actor,
        auth.subject_id,
        audience=Audience.AUTHORIZED,
        purpose=_purpose(auth),
        basis=QueryBasis.AUTHORIZATION,
        authorization_id=auth.id,
    )


def authorized_report(session: Session, actor: Actor, authorization_id: int) -> CreditReport:
    """The authorized version of the person's credit report (授权查询版), issued under the
    authorization; a refusal is audited and kept like a query's."""
    auth = session.get(Authorization, authorization_id)
    try:
        if auth is None or auth.institution_id != actor.institution_id:
            # Not this institution's: the check refuses it, and records the refusal.
            authz.require_authorization(session, actor, None, authorization_id, Scope.REPORT)
            raise Forbidden("查询被拒绝", code="authorization_not_found")  # not reached
        return issue_report(
            session,
            actor,
            protector_for(),
            get_subject(session, auth.subject_id),
            audience=Audience.AUTHORIZED,
            authorization_id=auth.id,
        ).report
    except Forbidden as exc:
        keep_work(exc)
        raise


def granted_rows(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Authorizations persons have granted the institution, newest first (names masked)."""
    if actor.institution_id is None:
        raise Forbidden("仅授权查询机构可以访问", code="institution_only")
    today = dt.date.today()
    rows = []
    for auth in authz.authorizations_of_institution(session, actor.institution_id):
        subject = session.get(Subject, auth.subject_id)
        rows.append(
            {
                "id": auth.id,
                "subject_name": mask_name(subject.name if subject else "", Audience.AUTHORIZED),
                "scope": list(auth.scope),
                "purpose": PURPOSE_LABELS.get(auth.purpose, auth.purpose),
                "valid_from": auth.valid_from.isoformat(),
                "valid_until": auth.valid_until.isoformat(),
                "repeated": auth.repeated,
                "uses": auth.uses,
                "status": authz.status_of(auth, today),
            }
        )
    return rows
