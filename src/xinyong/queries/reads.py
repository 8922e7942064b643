"""Logged reads of a person's score and list memberships, for every audience.

The archive itself is read through ``records.services.read_archive``. Each function here
returns plain data and writes the query log entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.catalog.services import current_catalog
from xinyong.identity.masking import Audience
from xinyong.lists.models import EntryStatus, ListEntry
from xinyong.lists.services import entries_of
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query
from xinyong.scoring.presentation import score_as_dict
from xinyong.scoring.services import score_history, score_subject


def read_score(
    session: Session,
    actor: Actor,
    subject_id: int,
    *,
    purpose: str,
    basis: QueryBasis,
    authorization_id: int | None = None,
    on: dt.date | None = None,
) -> dict[str, Any]:
    """诚信积分 with its reasons and history; the read is logged."""
    result = score_subject(session, subject_id, on or dt.date.today())
    data = score_as_dict(result, current_catalog(session))
    data["history"] = [
        {"score": h.score, "band": h.band, "computed_on": h.computed_on.isoformat()}
        for h in score_history(session, subject_id)
    ]
    log_query(
        session,
        actor,
        subject_id,
        action="score:view",
        purpose=purpose,
        basis=basis,
        authorization_id=authorization_id,
        returned={"score": result.score},
    )
    return data


def list_entry_as_dict(e: ListEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "list_kind": e.list_kind,
        "status": e.status,
        "source": e.source,
        "record_id": e.record_id,
        "reasons": e.reasons,
        "basis": e.basis,
        "measures": e.measures,
        "exit_conditions": e.exit_conditions,
        "remedies": e.remedies,
        "start_date": e.start_date.isoformat() if e.start_date else None,
        "end_date": e.end_date.isoformat() if e.end_date else None,
        "ended_on": e.ended_on.isoformat() if e.ended_on else None,
        "end_reason": e.end_reason,
    }


def read_lists(
    session: Session,
    actor: Actor,
    subject_id: int,
    *,
    audience: Audience,
    purpose: str,
    basis: QueryBasis,
    authorization_id: int | None = None,
) -> list[dict[str, Any]]:
    """Red, black and watch list memberships. The person and government see the history;
    an authorized institution sees only current memberships. The read is logged."""
    entries = entries_of(session, subject_id)
    if audience not in (Audience.SELF, Audience.GOVERNMENT):
        entries = [e for e in entries if e.status == EntryStatus.LISTED.value]
    log_query(
        session,
        actor,
        subject_id,
        action="lists:view",
        purpose=purpose,
        basis=basis,
        authorization_id=authorization_id,
        returned={"entries": [e.id for e in entries]},
    )
    return [list_entry_as_dict(e) for e in entries]
