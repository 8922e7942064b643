"""Logged reads of a person's score and list memberships, for every audience.

The archive itself is read through ``records.services.read_archive``. Each function here
returns plain data and writes the query log entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.catalog.services import current_catalog
from xinyong.identity.masking import Audience
from xinyong.lists.models import EntryStatus, ListEntry
from xinyong.lists.services import entries_of
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query
from xinyong.records.services import shown_record_ids
from xinyong.scoring.presentation import score_as_dict
from xinyong.scoring.services import score_history, score_subject
from xinyong.subjects.models import Subject

AUDIENCE_OF_BASIS = {
    QueryBasis.SELF: Audience.SELF,
    QueryBasis.AUTHORIZATION: Audience.AUTHORIZED,
    QueryBasis.LEGAL_DUTY: Audience.GOVERNMENT,
    QueryBasis.ADMINISTRATION: Audience.GOVERNMENT,
}


def read_score(
    session: Session,
    actor: Actor,
    subject_id: int,
    *,
    purpose: str,
    basis: QueryBasis,
    authorization_id: int | None = None,
    on: dt.date | None = None,
    audience: Audience | None = None,
) -> dict[str, Any]:
    """诚信积分 with its reasons and history; the read is logged.

    The reasons name only records the reader's audience (by default the one its basis
    implies) is shown in the archive; the others are counted in ``hidden_reasons``."""
    on = on or dt.date.today()
    audience = audience or AUDIENCE_OF_BASIS[basis]
    result = score_subject(session, subject_id, on)
    data = score_as_dict(result, current_catalog(session))
    shown = shown_record_ids(session, audience, on, subject_id=subject_id)
    reasons = [r for r in data["reasons"] if r["record"] in shown]
    data["hidden_reasons"] = len(data["reasons"]) - len(reasons)
    data["reasons"] = reasons
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
        returned={"score": result.score, "records": [r["record"] for r in reasons]},
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
        "organisation": None,
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
    reference: str | None = None,
    on: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Red, black and watch list memberships. The person and government see the history;
    an authorized institution sees only current memberships. Others than the person see
    only entries resting on a record their audience is shown (or on none, such as a
    national list received through exchange). The read is logged."""
    entries = entries_of(session, subject_id)
    if audience not in (Audience.SELF, Audience.GOVERNMENT):
        entries = [e for e in entries if e.status == EntryStatus.LISTED.value]
    if audience is not Audience.SELF:
        resting = {e.record_id for e in entries if e.record_id is not None}
        shown = shown_record_ids(session, audience, on or dt.date.today(), record_ids=resting)
        entries = [e for e in entries if e.record_id is None or e.record_id in shown]
    log_query(
        session,
        actor,
        subject_id,
        action="lists:view",
        purpose=purpose,
        basis=basis,
        authorization_id=authorization_id,
        reference=reference,
        returned={"entries": [e.id for e in entries]},
    )
    rows = [list_entry_as_dict(e) for e in entries]
    parents = {e.parent_entry_id for e in entries if e.parent_entry_id is not None}
    if parents:  # 落实到人: name the organisation the entry came through (所在组织)
        names: dict[int, str] = {
            entry_id: name
            for entry_id, name in session.execute(
                select(ListEntry.id, Subject.name)
                .join(Subject, Subject.id == ListEntry.subject_id)
                .where(ListEntry.id.in_(parents))
            )
        }
        for row, e in zip(rows, entries, strict=True):
            row["organisation"] = names.get(e.parent_entry_id or 0)
    return rows
