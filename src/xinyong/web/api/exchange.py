"""共享交换: the upper platform's side of the exchange protocol."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from xinyong.accounts.permissions import Permission
from xinyong.actors import Actor
from xinyong.exchange.feed import list_page
from xinyong.exchange.receive import apply_changes
from xinyong.exchange.wire import PAGE_LIMIT, BatchAnswer, ChangeBatch, ListPage
from xinyong.identity.protection import protector_for
from xinyong.web.deps import SessionDep, permission

router = APIRouter(tags=["共享交换 exchange"])

PlatformDep = Annotated[Actor, permission(Permission.EXCHANGE)]


@router.post("/exchange/changes", response_model=BatchAnswer)
def receive_changes(batch: ChangeBatch, session: SessionDep, actor: PlatformDep) -> Any:
    """A lower platform's changes (records, corrections, repairs, revocations). Each
    idempotency key is applied at most once; the answer lists every key's outcome."""
    return apply_changes(session, actor, batch)


@router.get("/exchange/lists", response_model=ListPage)
def serve_lists(
    session: SessionDep,
    actor: PlatformDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="游标：已应用到的序号")] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT, description="每页条目数")] = PAGE_LIMIT,
) -> Any:
    """名单下发: the list entries this platform holds (national lists, those received from
    other cities), in feed order after ``after``. Each entry shows its current state
    (listed / ended) and the record behind it; ``next_after`` is the cursor for the next
    page. Entries the caller sent up itself are left out."""
    return list_page(session, protector_for(), actor, after, limit)
