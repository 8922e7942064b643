"""Queries by an institution, each relying on the person's authorization (授权查询)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.authorizations import services as authz
from xinyong.authorizations.models import Authorization
from xinyong.authorizations.rules import PURPOSE_LABELS, Scope
from xinyong.errors import Forbidden, InvalidInput
from xinyong.identity.masking import Audience, mask_name
from xinyong.identity.protection import protector_for
from xinyong.queries.models import QueryBasis
from xinyong.reads import read_lists, read_score
from xinyong.records.services import read_archive
from xinyong.reports.models import CreditReport
from xinyong.reports.services import issue_report
from xinyong.subjects.models import Subject
from xinyong.subjects.services import blind_index_for, get_subject
from xinyong.web.api.subjects import ArchiveRead, ListEntryRead, ScoreRead
from xinyong.web.deps import BodyId, InstitutionDep, SessionDep

router = APIRouter(tags=["授权查询 authorized"])


class AuthorizedQuery(BaseModel):
    authorization_id: BodyId
    id_number: str | None = Field(
        default=None,
        max_length=32,
        description="可选：信息主体的身份证号，用于核对授权确属本人",
    )


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
    """The authorization the query relies on. A refusal is audited and committed before
    the error goes out: the request's rollback must not erase the trace of a refused
    query (repeated refusals raise an alert)."""
    try:
        subject_id = _subject_checked(session, id_number)
    except InvalidInput as exc:
        record_event(session, actor, "query:authorization:refused", target_type="authorization", target_id=authorization_id, basis="authorization", details={"scope": scope, "reason": exc.code})  # fmt: skip
        session.commit()
        raise
    try:
        return authz.require_authorization(session, actor, subject_id, authorization_id, scope)
    except Forbidden:
        session.commit()
        raise


def _purpose(auth: Authorization) -> str:
    label = PURPOSE_LABELS.get(auth.purpose, auth.purpose)
    return f"{label}：{auth.purpose_text}" if auth.purpose_text else label


QUERY_SCOPES = (Scope.ARCHIVE, Scope.SCORE, Scope.LISTS)


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
    authorization; a refusal is audited and committed like a query's."""
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
    except Forbidden:
        session.commit()
        raise


@router.post("/authorized/archive", response_model=ArchiveRead)
def authorized_archive(body: AuthorizedQuery, session: SessionDep, actor: InstitutionDep) -> Any:
    """The archive as an authorized institution may see it; refused without a valid
    authorization covering the archive."""
    return authorized_read(session, actor, body.authorization_id, Scope.ARCHIVE, body.id_number)


@router.post("/authorized/score", response_model=ScoreRead)
def authorized_score(body: AuthorizedQuery, session: SessionDep, actor: InstitutionDep) -> Any:
    return authorized_read(session, actor, body.authorization_id, Scope.SCORE, body.id_number)


@router.post("/authorized/lists", response_model=list[ListEntryRead])
def authorized_lists(body: AuthorizedQuery, session: SessionDep, actor: InstitutionDep) -> Any:
    return authorized_read(session, actor, body.authorization_id, Scope.LISTS, body.id_number)


class GrantedRead(BaseModel):
    id: int
    subject_name: str
    scope: list[str]
    purpose: str
    valid_from: str
    valid_until: str
    repeated: bool
    uses: int
    status: str


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


@router.get("/authorized/authorizations", response_model=list[GrantedRead])
def granted_to_me(session: SessionDep, actor: InstitutionDep) -> Any:
    """Authorizations persons have granted this institution (names masked)."""
    return granted_rows(session, actor)
