"""Queries by an institution, each relying on the person's authorization (授权查询)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from xinyong.authorizations import services as authz
from xinyong.authorizations.models import Authorization
from xinyong.authorizations.rules import PURPOSE_LABELS, Scope
from xinyong.errors import InvalidInput
from xinyong.identity.masking import Audience, mask_name
from xinyong.queries.models import QueryBasis
from xinyong.queries.reads import read_lists, read_score
from xinyong.records.ingest import protector_for
from xinyong.records.services import read_archive
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


def _subject_checked(session: SessionDep, body: AuthorizedQuery) -> int | None:
    """The subject named in the request, if any, so the authorization must match it."""
    if body.id_number is None:
        return None
    index = blind_index_for(protector_for(), body.id_number)
    subject_id = session.scalar(select(Subject.id).where(Subject.id_index == index))
    if subject_id is None:
        raise InvalidInput("身份证号与授权不符", code="authorization_other_subject")
    return subject_id


def _purpose(auth: Authorization) -> str:
    label = PURPOSE_LABELS.get(auth.purpose, auth.purpose)
    return f"{label}：{auth.purpose_text}" if auth.purpose_text else label


@router.post("/authorized/archive", response_model=ArchiveRead)
def authorized_archive(body: AuthorizedQuery, session: SessionDep, actor: InstitutionDep) -> Any:
    """The archive as an authorized institution may see it; refused without a valid
    authorization covering the archive."""
    auth = authz.require_authorization(
        session, actor, _subject_checked(session, body), body.authorization_id, Scope.ARCHIVE
    )
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


@router.post("/authorized/score", response_model=ScoreRead)
def authorized_score(body: AuthorizedQuery, session: SessionDep, actor: InstitutionDep) -> Any:
    auth = authz.require_authorization(
        session, actor, _subject_checked(session, body), body.authorization_id, Scope.SCORE
    )
    return read_score(
        session,
        actor,
        auth.subject_id,
        purpose=_purpose(auth),
        basis=QueryBasis.AUTHORIZATION,
        authorization_id=auth.id,
    )


@router.post("/authorized/lists", response_model=list[ListEntryRead])
def authorized_lists(body: AuthorizedQuery, session: SessionDep, actor: InstitutionDep) -> Any:
    auth = authz.require_authorization(
        session, actor, _subject_checked(session, body), body.authorization_id, Scope.LISTS
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


@router.get("/authorized/authorizations", response_model=list[GrantedRead])
def granted_to_me(session: SessionDep, actor: InstitutionDep) -> Any:
    """Authorizations persons have granted this institution (names masked)."""
    import datetime as dt

    assert actor.institution_id is not None
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
                "status": authz.status_of(auth, dt.date.today()),
            }
        )
    return rows
