"""Notices (信用告知) and interviews (约谈): queued with the event, delivered by senders."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.workflows.conftest import ADMIN, Case, person, submit_record
from xinyong.catalog.models import Department
from xinyong.errors import Forbidden, InvalidInput
from xinyong.notices.interviews import conclude_interview, interviews_of, record_interview
from xinyong.notices.models import Notice
from xinyong.notices.senders import InboxSender, LoggingSmsSender, dispatch


@pytest.fixture()
def case(session: Session, dept: Department) -> Case:
    return submit_record(session, dept, "RUMOUR_SPREADING", document="沪公罚〔2026〕1号")


def test_a_new_negative_record_is_announced_once(session: Session, case: Case) -> None:
    [notice] = session.scalars(select(Notice).where(Notice.subject_id == case.subject_id))
    assert (notice.kind, notice.record_id, notice.dedupe_key) == (
        "record:new",
        case.record.id,
        f"record:new:{case.record.id}",
    )
    assert "沪公罚〔2026〕1号" in notice.body and case.number not in notice.body
    again = submit_record(
        session, case.dept, "RUMOUR_SPREADING", number=case.number, document="沪公罚〔2026〕1号"
    )
    assert again.record.id == case.record.id
    assert (
        len(session.scalars(select(Notice).where(Notice.subject_id == case.subject_id)).all()) == 1
    )


def test_positive_records_are_not_announced_as_dishonesty(
    session: Session, dept: Department
) -> None:
    honour = submit_record(session, dept, "MORAL_MODEL")
    assert session.scalars(select(Notice).where(Notice.subject_id == honour.subject_id)).all() == []


class Broken:
    channel = "email"

    def send(self, notice: Notice, address: str | None) -> bool:
        raise RuntimeError("gateway down")


def test_dispatch_always_reaches_the_inbox_and_logs_no_personal_data(
    session: Session, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    def contacts(_session: Session, subject_id: int, channel: str) -> str | None:
        return "13800138000" if channel == "sms" else None

    with caplog.at_level(logging.INFO, logger="xinyong.notices"):
        sent = dispatch(session, [LoggingSmsSender(), Broken()], contacts=contacts)
    assert sent == 1
    notice = session.scalars(select(Notice).where(Notice.subject_id == case.subject_id)).one()
    assert (notice.status, notice.channels) == ("sent", "inbox,sms")
    assert notice.sent_at is not None
    text = caplog.text
    assert "would be sent" in text and "13800138000" not in text and case.number not in text
    assert "沪公罚" not in text
    assert dispatch(session, [InboxSender()]) == 0


def test_interviews_are_recorded_and_announced(
    session: Session, case: Case, dept: Department
) -> None:
    held = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
    interview = record_interview(
        session,
        case.reviewer,
        case.subject_id,
        held_at=held,
        place="市市场监管局 302 会议室",
        attendees="王科长、李科员、本人",
        reason="多次违规",
        record_id=case.record.id,
    )
    notice = session.scalar(select(Notice).where(Notice.kind == "interview:arranged"))
    assert notice is not None and "2026年12月03日 10:00" in notice.body
    conclude_interview(session, case.reviewer, interview.id, "本人承诺整改")
    # Both steps are in the audit trail, by the reviewer, about this interview.
    from xinyong.audit.models import AuditEvent

    session.commit()
    trail = session.scalars(
        select(AuditEvent).where(AuditEvent.target_type == "interview").order_by(AuditEvent.seq)
    ).all()
    assert [(e.action, e.actor, e.target_id) for e in trail] == [
        ("notices:interview:recorded", case.reviewer.name, str(interview.id)),
        ("notices:interview:concluded", case.reviewer.name, str(interview.id)),
    ]
    assert trail[0].purpose == "多次违规"
    [seen] = interviews_of(session, person(case.subject_id), case.subject_id)
    assert (seen["outcome"], seen["place"]) == ("本人承诺整改", "市市场监管局 302 会议室")
    assert interviews_of(session, person(case.subject_id + 1), case.subject_id) == []
    with pytest.raises(Forbidden):
        record_interview(
            session,
            case.person,
            case.subject_id,
            held_at=held,
            place="x",
            attendees="x",
            reason="x",
        )
    with pytest.raises(InvalidInput):
        record_interview(
            session, ADMIN, case.subject_id, held_at=held, place=" ", attendees="x", reason="x"
        )
    other = factories.department(session)
    with pytest.raises(Forbidden):
        record_interview(
            session,
            case.reviewer.__class__("r", "reviewer", other.id, other.code),
            case.subject_id,
            held_at=held,
            place="x",
            attendees="x",
            reason="x",
            record_id=case.record.id,
        )
