"""共享交换: push to the upper platform, exactly once in effect under retries and resumes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories
from xinyong import db
from xinyong.actors import Actor, Role, cli_operator
from xinyong.catalog.models import Department
from xinyong.exchange.models import ExchangeInbox, ExchangeOutbox
from xinyong.exchange.push import ExchangeFailed, changes_of, push, watermark
from xinyong.exchange.receive import apply_changes
from xinyong.exchange.wire import BatchAnswer, ChangeBatch
from xinyong.identity.protection import protector_for
from xinyong.records.models import Record
from xinyong.records.states import RecordState

UPPER = Actor(name="apikey:city", role=Role.PLATFORM, organisation="430100")

# The "upper platform" here shares the test database: what it receives lands in its own
# outbox too (it would push it further up), so pushes also carry those echoes. The
# assertions count what the upper platform holds, which echoes cannot inflate.


def _receiver() -> object:
    def send(batch: ChangeBatch) -> BatchAnswer:
        with db.session_factory()() as session:
            answer = apply_changes(session, UPPER, batch)
            session.commit()
            return answer

    return send


def _received(session: Session) -> list[Record]:
    dept = session.scalar(select(Department).where(Department.code == "PT-430100"))
    if dept is None:
        return []
    return list(session.scalars(select(Record).where(Record.department_id == dept.id)))


def _submit(session: Session, n: int) -> list[str]:
    dept = factories.department(session, code="XCITY")
    numbers = [factories.resident_id(seq=600 + i) for i in range(n)]
    result = factories.submit_rows(
        session, [factories.penalty_row(id_number=num, dept=dept) for num in numbers]
    )
    assert result.accepted == n
    session.commit()
    return numbers


def test_push_applies_each_change_once_even_when_the_answer_is_lost(session: Session) -> None:
    _submit(session, 3)
    receive = _receiver()

    def broken_link(batch: ChangeBatch) -> BatchAnswer:
        raise ExchangeFailed("连接中断")

    with pytest.raises(ExchangeFailed):
        push(db.session_factory(), protector_for(), broken_link, "430100")
    assert watermark(session) == 0  # nothing acknowledged, nothing skipped

    # The upper platform received and applied the batch, but its answer was lost: the
    # city's watermark is still behind.
    row = session.scalars(select(ExchangeOutbox).order_by(ExchangeOutbox.id)).first()
    assert row is not None and row.kind == "batch:merged"
    lost = ChangeBatch(
        source="430100", changes=list(changes_of(session, protector_for(), "430100", row))
    )
    first = receive(lost)  # type: ignore[operator]
    assert first.applied == 3

    result = push(db.session_factory(), protector_for(), receive, "430100")  # type: ignore[arg-type]
    assert result.finished and result.duplicates == 3  # recognised, not applied again
    session.expire_all()
    assert len(_received(session)) == 3  # no duplicate record
    keys = list(session.scalars(select(ExchangeInbox.key)))
    assert len(keys) == len(set(keys)) >= 3
    again = push(db.session_factory(), protector_for(), receive, "430100")  # type: ignore[arg-type]
    assert again.finished and again.duplicates == 0
    assert watermark(session) == session.scalar(select(func.max(ExchangeOutbox.id)))


def test_repair_and_revocation_reach_the_upper_platform(session: Session) -> None:
    from xinyong.changes.records import set_record_state

    _submit(session, 2)
    receive = _receiver()
    push(db.session_factory(), protector_for(), receive, "430100")  # type: ignore[arg-type]
    originals = list(
        session.scalars(
            select(Record)
            .join(Department, Department.id == Record.department_id)
            .where(Department.code == "XCITY")
            .order_by(Record.id)
        )
    )
    today = dt.date.today()
    set_record_state(
        session,
        cli_operator(),
        originals[0],
        RecordState.REPAIRED,
        action="repair",
        reason="修复",
        on=today,
        exchange=True,
    )
    set_record_state(
        session,
        cli_operator(),
        originals[1],
        RecordState.REVOKED,
        action="revoke",
        reason="撤销",
        on=today,
        exchange=True,
    )
    session.commit()
    result = push(db.session_factory(), protector_for(), receive, "430100")  # type: ignore[arg-type]
    assert result.rejected == 0
    session.expire_all()
    states = sorted(r.state for r in _received(session))
    assert states == ["repaired", "revoked"]


def test_a_bad_change_is_rejected_without_blocking_the_stream(session: Session) -> None:
    numbers = _submit(session, 2)
    receive = _receiver()
    batch = ChangeBatch.model_validate(
        {
            "source": "430100",
            "changes": [
                {
                    "key": "430100:x:1",
                    "kind": "record:upsert",
                    "record": {
                        "item_code": "NO_SUCH_ITEM",
                        "document_number": "X-1",
                        "decision_date": "2026-01-05",
                        "state": "active",
                        "version": 1,
                        "subject": {
                            "kind": "person",
                            "id_type": "身份证",
                            "id_number": numbers[0],
                            "name": "张三",
                        },
                    },
                },
                {
                    "key": "430100:x:2",
                    "kind": "record:revoked",
                    "record": {
                        "item_code": "SGS_PENALTY",
                        "document_number": "never-sent",
                        "decision_date": "2026-01-05",
                        "state": "revoked",
                        "version": 1,
                        "subject": {
                            "kind": "person",
                            "id_type": "身份证",
                            "id_number": numbers[1],
                            "name": "张三",
                        },
                    },
                },
            ],
        }
    )
    answer = receive(batch)  # type: ignore[operator]
    assert [o.status for o in answer.outcomes] == ["rejected", "rejected"]
    assert answer.outcomes[1].detail == "本平台没有该记录"
    assert numbers[0] not in (answer.outcomes[0].detail or "")
    again = receive(batch)  # type: ignore[operator]
    assert [o.status for o in again.outcomes] == ["duplicate", "duplicate"]


def test_max_requests_pauses_and_the_next_run_resumes(session: Session) -> None:
    _submit(session, 2)
    receive = _receiver()
    paused = push(db.session_factory(), protector_for(), receive, "430100", max_requests=0)  # type: ignore[arg-type]
    assert not paused.finished and paused.requests == 0
    resumed = push(db.session_factory(), protector_for(), receive, "430100")  # type: ignore[arg-type]
    assert resumed.finished and resumed.applied == 2
