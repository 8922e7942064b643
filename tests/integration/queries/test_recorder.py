"""The one recorder of reads: every strategy (ORM, set-based, COPY) writes the same
query-log rows and queues the same audit events for the same reads, on SQLite and on
PostgreSQL; the callers' reads are those of the recorder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import PENDING, PendingEvent
from xinyong.audit.tags import EventTag
from xinyong.queries.models import QueryLog
from xinyong.queries.recorder import LOG_COLUMNS, STRATEGIES, Read, log_row

AT = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)
CLERK = Actor("clerk", "department", 7, "D007", channel="api")
INSTITUTION = Actor("bank", "institution", channel="web", organisation="某银行")


def _reads() -> list[Read]:
    return [
        Read(
            CLERK,
            101,
            action="check:run",
            purpose="行政许可（业务编号 YW-1，经办人 王科员）",
            basis="legal_duty",
            returned={"check_id": 9, "verdict": "blocked", "measures": ["M1", "M2"]},
            details={"check_id": 9},
            at=AT,
        ),
        Read(
            INSTITUTION,
            102,
            action="score:view",
            purpose="贷款审查" * 60,  # clipped to the column
            basis="authorization",
            returned={"score": 1000, "records": []},
            authorization_id=5,
            reference="  HT-2026-01  ",
            details={"authorization_id": 5, "reference": "HT-2026-01"},
            at=AT,
        ),
        Read(  # one of a batch's hits: no event of its own
            CLERK,
            103,
            action="check:batch",
            purpose="批量比对",
            basis="legal_duty",
            returned={"check_id": 10, "verdict": "clear", "measures": []},
            organisation=None,
            at=AT,
        ),
    ]


def _written(session: Session, after: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(QueryLog).where(QueryLog.id > after).order_by(QueryLog.id))
    return [{name: getattr(row, name) for name in LOG_COLUMNS} for row in rows]


def _event_shape(e: PendingEvent) -> tuple[Any, ...]:
    content = dataclasses.asdict(e)
    content.pop("occurred_at")
    return tuple(sorted(content.items()))


def test_every_strategy_writes_the_same_rows_and_events(session: Session) -> None:
    reads = _reads()
    written: dict[str, tuple[list[dict[str, Any]], list[tuple[Any, ...]]]] = {}
    for name, recorder in STRATEGIES.items():
        session.info.pop(PENDING, None)
        before = session.scalar(select(func.coalesce(func.max(QueryLog.id), 0))) or 0
        recorder.record(session, reads)
        session.expire_all()
        events: list[PendingEvent] = session.info.pop(PENDING, [])
        written[name] = (_written(session, before), [_event_shape(e) for e in events])
    orm_rows, orm_events = written["orm"]
    assert orm_rows == [log_row(read, AT) for read in reads]
    assert orm_rows[1]["purpose"] == ("贷款审查" * 60)[:200]
    assert orm_rows[1]["reference"] == "HT-2026-01"
    assert orm_rows[1]["organisation"] == "某银行" and orm_rows[0]["organisation"] == "D007"
    assert orm_rows[0]["queried_at"] == AT
    for name, found in written.items():
        assert found == written["orm"], name
    # One event per read that has one, tagged query:<action>, a member of the tag table.
    actions = [dict(shape)["action"] for shape in orm_events]
    assert actions == [EventTag.QUERY_CHECK_RUN, EventTag.QUERY_SCORE_VIEW]
    first = dict(orm_events[0])
    assert (first["target_type"], first["target_id"], first["details"]) == (
        "subject",
        "101",
        '{"check_id":9}',
    )


def test_only_the_orm_strategy_names_the_row_id(session: Session) -> None:
    read = dataclasses.replace(_reads()[0], names_log_id=True)
    STRATEGIES["orm"].record(session, [read])
    [event] = session.info.pop(PENDING)
    assert json.loads(event.details)["query_log_id"] > 0
    for name in ("set", "copy"):
        with pytest.raises(ValueError, match="ORM"):
            STRATEGIES[name].record(session, [read])
    session.info.pop(PENDING, None)


def test_nothing_to_record_writes_nothing(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(QueryLog))
    for recorder in STRATEGIES.values():
        recorder.record(session, [])
    assert session.scalar(select(func.count()).select_from(QueryLog)) == before
    assert not session.info.get(PENDING)
