"""Request-scoped dependencies: the unit of work and the authenticated actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.orm import Session

from xinyong.accounts.services import authenticate_api_key
from xinyong.actors import Actor
from xinyong.db import session_factory
from xinyong.errors import Forbidden


def get_session() -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def _bearer(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def get_actor(
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Actor:
    return authenticate_api_key(session, _bearer(authorization, x_api_key))


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_admin(actor: ActorDep) -> Actor:
    if not actor.is_admin:
        raise Forbidden("仅信用办可以访问", code="admin_only")
    return actor


AdminDep = Annotated[Actor, Depends(require_admin)]
