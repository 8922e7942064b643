"""共享交换: the upper platform's side of the exchange protocol."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from xinyong.accounts.permissions import Permission
from xinyong.actors import Actor
from xinyong.exchange.receive import apply_changes
from xinyong.exchange.wire import BatchAnswer, ChangeBatch
from xinyong.web.deps import SessionDep, permission

router = APIRouter(tags=["共享交换 exchange"])

PlatformDep = Annotated[Actor, permission(Permission.EXCHANGE)]


@router.post("/exchange/changes", response_model=BatchAnswer)
def receive_changes(batch: ChangeBatch, session: SessionDep, actor: PlatformDep) -> Any:
    """A lower platform's changes (records, corrections, repairs, revocations). Each
    idempotency key is applied at most once; the answer lists every key's outcome."""
    return apply_changes(session, actor, batch)
