"""Granting, revoking and relying on authorizations."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.accounts.models import Institution
from xinyong.actors import Actor, Role
from xinyong.audit.services import record_event
from xinyong.authorizations.models import Authorization
from xinyong.authorizations.rules import Grant, grant_problem, refusal
from xinyong.config import get_settings
from xinyong.db import utcnow
from xinyong.errors import Forbidden, InvalidInput, NotFound

log = logging.getLogger("xinyong.authorizations")


def _own_subject(actor: Actor) -> int:
    if actor.role != Role.PERSON or actor.subject_id is None:
        raise Forbidden("只有信息主体本人可以授权", code="person_only")
    return actor.subject_id


def grant(
    session: Session,
    actor: Actor,
    *,
    institution_id: int,
    scope: list[str],
    purpose: str,
    purpose_text: str | None = None,
    valid_from: dt.date | None = None,
    valid_until: dt.date,
    repeated: bool = False,
    today: dt.date | None = None,
) -> Authorization:
    """A person authorizes an institution to query their credit."""
    subject_id = _own_subject(actor)
    today = today or dt.date.today()
    valid_from = valid_from or today
    scope = sorted(set(scope))
    problem = grant_problem(
        scope=scope,
        purpose=purpose,
        purpose_text=purpose_text,
        valid_from=valid_from,
        valid_until=valid_until,
        today=today,
    )
    if problem:
        raise InvalidInput(problem, code="invalid_authorization")
    if session.get(Institution, institution_id) is None:
        raise NotFound("被授权机构不存在", code="institution_not_found")
    auth = Authorization(
        subject_id=subject_id,
        institution_id=institution_id,
        scope=scope,
        purpose=purpose,
        purpose_text=(purpose_text or "").strip()[:200] or None,
        valid_from=valid_from,
        valid_until=valid_until,
        repeated=repeated,
        granted_by_user_id=actor.user_id,
    )
    session.add(auth)
    session.flush()
    record_event(session, actor, "authorizations:authorization:granted", target_type="subject", target_id=subject_id, purpose=purpose, details={"authorization_id": auth.id, "institution_id": institution_id, "scope": scope, "valid_until": valid_until.isoformat()})  # fmt: skip
    return auth


def revoke(session: Session, actor: Actor, authorization_id: int) -> Authorization:
    """The person withdraws an authorization; effective at once. Revoking twice is harmless."""
    subject_id = _own_subject(actor)
    auth = session.get(Authorization, authorization_id)
    if auth is None or auth.subject_id != subject_id:
        raise NotFound("授权不存在", code="authorization_not_found")
    if auth.revoked_at is None:
        auth.revoked_at = utcnow()
        session.flush()
        record_event(session, actor, "authorizations:authorization:revoked", target_type="subject", target_id=subject_id, details={"authorization_id": auth.id, "institution_id": auth.institution_id})  # fmt: skip
    return auth


def authorizations_of_subject(session: Session, subject_id: int) -> list[Authorization]:
    return list(
        session.scalars(
            select(Authorization)
            .where(Authorization.subject_id == subject_id)
            .order_by(Authorization.id.desc())
        )
    )


def authorizations_of_institution(session: Session, institution_id: int) -> list[Authorization]:
    return list(
        session.scalars(
            select(Authorization)
            .where(Authorization.institution_id == institution_id)
            .order_by(Authorization.id.desc())
        )
    )


def status_of(auth: Authorization, today: dt.date) -> str:
    """A Chinese status for lists: 有效 / 已撤回 / 已过期 / 未生效 / 已使用."""
    if auth.revoked_at is not None:
        return "已撤回"
    if today > auth.valid_until:
        return "已过期"
    if today < auth.valid_from:
        return "未生效"
    if not auth.repeated and auth.uses > 0:
        return "已使用"  # its occasion may still be open for a few minutes (rules.refusal)
    return "有效"


def _as_grant(auth: Authorization | None) -> Grant | None:
    if auth is None:
        return None
    return Grant(
        subject_id=auth.subject_id,
        institution_id=auth.institution_id,
        scope=frozenset(auth.scope),
        valid_from=auth.valid_from,
        valid_until=auth.valid_until,
        repeated=auth.repeated,
        uses=auth.uses,
        revoked=auth.revoked_at is not None,
        first_used_at=auth.first_used_at,
        used_scopes=frozenset(auth.used_scopes or ()),
    )


def require_authorization(
    session: Session,
    actor: Actor,
    subject_id: int | None,
    authorization_id: int | None,
    scope: str,
    *,
    today: dt.date | None = None,
) -> Authorization:
    """The authorization an institution's query relies on, counted as used; else Forbidden.

    ``subject_id`` may be ``None`` when the query names the person only through the
    authorization. The row is locked so that a one-time authorization is used once even
    under concurrent queries.
    """
    if actor.role != Role.INSTITUTION or actor.institution_id is None:
        raise Forbidden("仅授权查询机构可以凭授权查询", code="institution_only")
    auth = None
    if authorization_id is not None:
        auth = session.scalar(
            select(Authorization).where(Authorization.id == authorization_id).with_for_update()
        )
    now = utcnow()
    problem = refusal(
        _as_grant(auth),
        institution_id=actor.institution_id,
        subject_id=subject_id,
        scope=scope,
        today=today or dt.date.today(),
        now=now,
        occasion=dt.timedelta(minutes=get_settings().authorization_occasion_minutes),
    )
    if problem is not None:
        code, reason = problem
        log.warning(
            "refused authorized query actor=%s authorization=%s reason=%s",
            actor.name,
            authorization_id,
            code,
        )
        record_event(session, actor, "query:authorization:refused", target_type="subject", target_id=subject_id or (auth.subject_id if auth else None), basis="authorization", details={"authorization_id": authorization_id, "scope": scope, "reason": code})  # fmt: skip
        raise Forbidden(f"查询被拒绝：{reason}", code=code)
    assert auth is not None
    auth.uses += 1
    auth.last_used_at = now
    auth.first_used_at = auth.first_used_at or now
    auth.used_scopes = sorted({*(auth.used_scopes or ()), scope})
    session.flush()
    return auth
