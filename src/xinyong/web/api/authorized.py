"""Queries by an institution, each relying on the person's authorization (授权查询).

The logic is ``authorized``, shared with the institution's pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from xinyong.authorizations.rules import Scope
from xinyong.authorized import authorized_read, granted_rows
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


@router.get("/authorized/authorizations", response_model=list[GrantedRead])
def granted_to_me(session: SessionDep, actor: InstitutionDep) -> Any:
    """Authorizations persons have granted this institution (names masked)."""
    return granted_rows(session, actor)
