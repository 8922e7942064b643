"""The person's own data: archive, score, lists, who looked at them, and authorizations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Institution
from xinyong.actors import ROLE_LABELS
from xinyong.authorizations import services as authz
from xinyong.authorizations.models import Authorization
from xinyong.authorizations.rules import PURPOSE_LABELS, SCOPE_LABELS
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import query_log_view
from xinyong.reads import read_lists, read_score
from xinyong.records.services import read_archive
from xinyong.subjects.services import get_subject
from xinyong.web.api.subjects import ArchiveRead, ListEntryRead, ScoreRead
from xinyong.web.deps import ActorDep, BodyId, PathId, PersonDep, SessionDep

router = APIRouter(tags=["本人 me"])

SELF_PURPOSE = "本人查询"


class MeRead(BaseModel):
    username: str | None
    name: str
    role: str
    role_name: str
    department: str | None
    organisation: str | None
    subject_id: int | None


@router.get("/me", response_model=MeRead)
def me(actor: ActorDep) -> Any:
    """Who is logged in."""
    return {
        "username": actor.name.removeprefix("user:") if actor.user_id else None,
        "name": actor.name,
        "role": actor.role,
        "role_name": ROLE_LABELS.get(actor.role, actor.role),
        "department": actor.department_code,
        "organisation": actor.organisation,
        "subject_id": actor.subject_id,
    }


@router.get("/me/archive", response_model=ArchiveRead)
def my_archive(session: SessionDep, actor: PersonDep) -> Any:
    """The person's own archive: every record with its state and display end."""
    assert actor.subject_id is not None
    return read_archive(
        session,
        actor,
        protector_for(),
        get_subject(session, actor.subject_id),
        audience=Audience.SELF,
        purpose=SELF_PURPOSE,
        basis=QueryBasis.SELF,
    ).as_dict()


@router.get("/me/score", response_model=ScoreRead)
def my_score(session: SessionDep, actor: PersonDep) -> Any:
    assert actor.subject_id is not None
    return read_score(session, actor, actor.subject_id, purpose=SELF_PURPOSE, basis=QueryBasis.SELF)


@router.get("/me/lists", response_model=list[ListEntryRead])
def my_lists(session: SessionDep, actor: PersonDep) -> Any:
    assert actor.subject_id is not None
    return read_lists(
        session,
        actor,
        actor.subject_id,
        audience=Audience.SELF,
        purpose=SELF_PURPOSE,
        basis=QueryBasis.SELF,
    )


class QueryLogRead(BaseModel):
    kind: str = Field(
        description="query 他人查询；own 本人查看（已折叠为一行）；refused 被拒绝的查询"
    )
    id: int | None
    queried_at: str = Field(description="北京时间（UTC+8），ISO 8601")
    time: str = Field(description="北京时间，如 2026年12月07日 09:30:00（北京时间）")
    who: str = Field(description="查询方：单位名称，或“本人”")
    organisation: str | None
    channel_name: str
    action_name: str
    purpose: str
    basis: str
    basis_name: str
    authorization_id: int | None
    reference: str | None = Field(description="部门查询的业务编号")
    count: int


@router.get("/me/queries", response_model=list[QueryLogRead])
def my_queries(
    session: SessionDep,
    actor: PersonDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Who read the person's data, when (Beijing time), why and on what basis, newest
    first; the person's own views folded into one line; refused attempts listed."""
    assert actor.subject_id is not None
    return query_log_view(session, actor.subject_id, limit=limit, offset=offset)


class AuthorizationCreate(BaseModel):
    institution_id: BodyId
    scope: list[str] = Field(min_length=1, description="archive, lists, score, report")
    purpose: str = Field(description="hiring, credit, lease, appointment, honours, other")
    purpose_text: str | None = Field(default=None, max_length=200)
    valid_from: dt.date | None = None
    valid_until: dt.date
    repeated: bool = False


class AuthorizationRead(BaseModel):
    id: int
    institution_id: BodyId
    institution: str
    scope: list[str]
    scope_names: list[str]
    purpose: str
    purpose_name: str
    purpose_text: str | None
    valid_from: str
    valid_until: str
    repeated: bool
    uses: int
    status: str
    granted_at: str
    revoked_at: str | None


def authorization_as_dict(session: Session, auth: Authorization) -> dict[str, Any]:
    inst = session.get(Institution, auth.institution_id)
    return {
        "id": auth.id,
        "institution_id": auth.institution_id,
        "institution": inst.name if inst else "",
        "scope": list(auth.scope),
        "scope_names": [SCOPE_LABELS.get(s, s) for s in auth.scope],
        "purpose": auth.purpose,
        "purpose_name": PURPOSE_LABELS.get(auth.purpose, auth.purpose),
        "purpose_text": auth.purpose_text,
        "valid_from": auth.valid_from.isoformat(),
        "valid_until": auth.valid_until.isoformat(),
        "repeated": auth.repeated,
        "uses": auth.uses,
        "status": authz.status_of(auth, dt.date.today()),
        "granted_at": auth.granted_at.isoformat(),
        "revoked_at": auth.revoked_at.isoformat() if auth.revoked_at else None,
    }


@router.get("/me/authorizations", response_model=list[AuthorizationRead])
def my_authorizations(session: SessionDep, actor: PersonDep) -> Any:
    assert actor.subject_id is not None
    return [
        authorization_as_dict(session, a)
        for a in authz.authorizations_of_subject(session, actor.subject_id)
    ]


@router.post("/me/authorizations", response_model=AuthorizationRead, status_code=201)
def grant_authorization(body: AuthorizationCreate, session: SessionDep, actor: PersonDep) -> Any:
    """授权: let an institution query the chosen parts of the archive for a purpose."""
    auth = authz.grant(
        session,
        actor,
        institution_id=body.institution_id,
        scope=body.scope,
        purpose=body.purpose,
        purpose_text=body.purpose_text,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        repeated=body.repeated,
    )
    return authorization_as_dict(session, auth)


@router.post("/me/authorizations/{authorization_id}/revoke", response_model=AuthorizationRead)
def revoke_authorization(authorization_id: PathId, session: SessionDep, actor: PersonDep) -> Any:
    """撤回授权: effective at once."""
    return authorization_as_dict(session, authz.revoke(session, actor, authorization_id))


class InstitutionRead(BaseModel):
    id: int
    name: str


@router.get("/institutions", response_model=list[InstitutionRead])
def institutions(session: SessionDep, actor: ActorDep) -> Any:
    """Institutions a person can authorize."""
    return [
        {"id": i.id, "name": i.name}
        for i in session.scalars(select(Institution).order_by(Institution.name))
    ]
