"""Objections end to end on the database: a record is submitted, objected to, and then
corrected, revoked or upheld; what each step does to checks, lists, scores and the archive."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.workflows.conftest import ADMIN, TODAY, Case, person, reviewer, submit_record
from xinyong.actors import SYSTEM, Actor, Role
from xinyong.catalog.models import Department
from xinyong.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from xinyong.exchange.models import ExchangeOutbox
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.lists.models import ListEntry
from xinyong.measures.services import run_check
from xinyong.notices.models import Notice
from xinyong.objections.services import (
    accept_objection,
    decide_objection,
    enter_review_outcome,
    escalate_overdue,
    file_objection,
    list_objections,
    read_objection,
    withdraw_objection,
)
from xinyong.queries.models import QueryBasis, QueryLog
from xinyong.records.models import Record, RecordVersion
from xinyong.records.services import read_archive
from xinyong.scoring.services import stored_score
from xinyong.subjects.services import get_subject
from xinyong.workflows.history import history_of

SCENARIO = "ADMIN_LICENSING"


@pytest.fixture()
def case(session: Session, dept: Department) -> Case:
    """A 造谣传谣 record (一般, puts the person on the watch list), decided 150 days ago."""
    return submit_record(session, dept, "RUMOUR_SPREADING", decided=TODAY - dt.timedelta(days=150))


def verdict(session: Session, case: Case) -> str:
    return run_check(
        session,
        ADMIN,
        protector_for(),
        id_number=case.number,
        scenario=SCENARIO,
        operator="王科员",
        business_ref="XK-1",
    ).verdict


def score(session: Session, case: Case) -> int:
    stored = stored_score(session, case.subject_id)
    assert stored is not None
    return stored.score


def labels(session: Session, case: Case, audience: Audience) -> dict[int, str]:
    archive = read_archive(
        session,
        ADMIN,
        protector_for(),
        get_subject(session, case.subject_id),
        audience=audience,
        purpose="测试",
        basis=QueryBasis.ADMINISTRATION,
    )
    return {e.record.id: e.label for e in archive.entries}


def test_filing_marks_the_record_disputed_and_stops_its_use_at_once(
    session: Session, case: Case
) -> None:
    assert verdict(session, case) == "restricted"
    punished = score(session, case)
    objection = file_objection(session, case.person, case.record.id, reason="该处罚已被撤销")
    assert objection.state == "filed"
    assert case.record.state == "disputed"
    # Still stored and shown to the person and to government as 异议处理中, never published.
    assert labels(session, case, Audience.SELF)[case.record.id] == "异议处理中"
    assert labels(session, case, Audience.GOVERNMENT)[case.record.id] == "异议处理中"
    assert case.record.id not in labels(session, case, Audience.PUBLIC)
    # Not used in checks, lists or scores until resolved.
    assert verdict(session, case) == "clear"
    assert score(session, case) > punished
    [entry] = session.scalars(select(ListEntry).where(ListEntry.record_id == case.record.id))
    assert entry.status == "listed"  # the membership is kept, but punishes no one meanwhile
    notice = session.scalar(select(Notice).where(Notice.kind == "objection:filed"))
    assert notice is not None and notice.subject_id == case.subject_id
    assert "异议处理中" in notice.body
    steps = history_of(session, "record", case.record.id)
    assert [(s.from_state, s.to_state, s.role) for s in steps] == [("active", "disputed", "person")]


def test_objection_corrected_makes_a_new_version(session: Session, case: Case) -> None:
    before_score = score(session, case)
    objection = file_objection(session, case.person, case.record.id, reason="情节轻微，等级过高")
    accept_objection(session, case.reviewer, objection.id)
    decide_objection(
        session,
        case.reviewer,
        objection.id,
        outcome="corrected",
        reason="经复核，情节轻微",
        corrections={"grade": "轻微", "behaviour": "转发不实信息"},
    )
    record = session.get(Record, case.record.id)
    assert record is not None
    assert (record.state, record.version, record.grade) == ("active", 2, "minor")
    assert record.behaviour == "转发不实信息"
    assert record.grade_source == "department"
    [old] = session.scalars(select(RecordVersion).where(RecordVersion.record_id == record.id))
    assert (old.state, old.version, old.grade) == ("corrected", 1, "general")
    # A 轻微 record decided 150 days ago is past its 3-month maximum: no longer displayed.
    assert record.display_until is not None and record.display_until < TODAY
    assert verdict(session, case) == "clear"
    assert score(session, case) > before_score
    assert objection.state == "corrected" and objection.corrections
    outbox = session.scalars(
        select(ExchangeOutbox).where(
            ExchangeOutbox.entity == "record", ExchangeOutbox.entity_id == record.id
        )
    ).all()
    assert [o.kind for o in outbox] == ["record:corrected"]
    assert case.number not in str(outbox[0].payload)
    told = session.scalar(select(Notice).where(Notice.kind == "objection:corrected"))
    assert told is not None and "已更正" in told.body
    assert [s.action for s in history_of(session, "objection", objection.id)] == [
        "file",
        "accept",
        "correct",
    ]


def test_objection_revoked_ends_the_list_membership(session: Session, case: Case) -> None:
    objection = file_objection(session, case.person, case.record.id, reason="不是本人")
    decide_objection(session, case.reviewer, objection.id, outcome="revoked", reason="身份错误")
    assert case.record.state == "revoked"
    [entry] = session.scalars(select(ListEntry).where(ListEntry.record_id == case.record.id))
    assert (entry.status, entry.end_reason) == ("ended", "revoked")
    assert verdict(session, case) == "clear"
    assert case.record.id not in labels(session, case, Audience.GOVERNMENT)
    assert labels(session, case, Audience.SELF)[case.record.id] == "已撤销"
    kinds = session.scalars(
        select(ExchangeOutbox.kind).where(
            ExchangeOutbox.entity == "record", ExchangeOutbox.entity_id == case.record.id
        )
    )
    assert list(kinds) == ["record:revoked"]


def test_objection_upheld_puts_the_record_back_in_use(session: Session, case: Case) -> None:
    punished = score(session, case)
    objection = file_objection(session, case.person, case.record.id, reason="不服")
    decide_objection(session, case.reviewer, objection.id, outcome="upheld", reason="事实清楚")
    assert case.record.state == "active"
    assert verdict(session, case) == "restricted"
    assert score(session, case) == punished
    told = session.scalar(select(Notice).where(Notice.kind == "objection:upheld"))
    assert told is not None and "事实清楚" in told.body and "行政复议" in told.body


def test_withdrawal_puts_the_record_back(session: Session, case: Case) -> None:
    objection = file_objection(session, case.person, case.record.id, reason="误会")
    withdraw_objection(session, case.person, objection.id)
    assert (objection.state, case.record.state) == ("withdrawn", "active")
    with pytest.raises(InvalidTransition, match="已撤回"):
        decide_objection(session, case.reviewer, objection.id, outcome="upheld", reason="x")


def test_who_may_do_what(
    session: Session, case: Case, other_dept: Department, dept: Department
) -> None:
    stranger = person(case.subject_id + 10_000)
    with pytest.raises(Forbidden):
        file_objection(session, stranger, case.record.id, reason="x")
    with pytest.raises(Forbidden, match="授权"):
        file_objection(
            session,
            Actor("bank", Role.INSTITUTION, organisation="某银行"),
            case.record.id,
            reason="x",
        )
    with pytest.raises(Forbidden):
        file_objection(session, reviewer(dept), case.record.id, reason="x")
    with pytest.raises(InvalidInput):
        file_objection(session, case.person, case.record.id, reason="  ")
    objection = file_objection(session, case.person, case.record.id, reason="不是我")
    with pytest.raises(Conflict):
        file_objection(session, case.person, case.record.id, reason="再次")
    with pytest.raises(Forbidden, match="本部门"):
        decide_objection(session, reviewer(other_dept), objection.id, outcome="upheld", reason="x")
    clerk = Actor("clerk", Role.CLERK, dept.id, dept.code)
    with pytest.raises(Forbidden, match="部门数据报送员无权"):
        decide_objection(session, clerk, objection.id, outcome="upheld", reason="x")
    with pytest.raises(Forbidden):
        decide_objection(session, case.person, objection.id, outcome="revoked", reason="x")
    with pytest.raises(InvalidInput, match="更正"):
        decide_objection(session, case.reviewer, objection.id, outcome="corrected", reason="x")
    with pytest.raises(InvalidInput, match="等级"):
        decide_objection(
            session,
            case.reviewer,
            objection.id,
            outcome="corrected",
            reason="x",
            corrections={"grade": "极其严重"},
        )
    assert objection.state == "filed"  # refused corrections change nothing
    # Queues: the person sees their own, a department its own, another department nothing.
    assert [o["id"] for o in list_objections(session, case.person)] == [objection.id]
    assert [o["id"] for o in list_objections(session, case.reviewer)] == [objection.id]
    assert list_objections(session, reviewer(other_dept)) == []
    assert read_objection(session, case.person, objection.id)["state_name"] == "已提交"
    reads = session.scalars(
        select(QueryLog).where(
            QueryLog.subject_id == case.subject_id, QueryLog.action == "objection:view"
        )
    ).all()
    assert {r.basis for r in reads} == {"self", "legal_duty"}


def test_an_objection_to_a_record_not_in_use_is_refused(session: Session, case: Case) -> None:
    objection = file_objection(session, case.person, case.record.id, reason="不是我")
    decide_objection(session, case.reviewer, objection.id, outcome="revoked", reason="身份错误")
    with pytest.raises(Conflict, match="已撤销"):
        file_objection(session, case.person, case.record.id, reason="再来")


def test_overdue_objections_go_to_the_credit_office(session: Session, case: Case) -> None:
    filed = dt.date(2026, 9, 30)
    objection = file_objection(session, case.person, case.record.id, reason="不是我", on=filed)
    assert objection.decide_by == dt.date(2026, 10, 13)
    assert escalate_overdue(session, SYSTEM, dt.date(2026, 10, 13)) == []
    assert [o.id for o in escalate_overdue(session, SYSTEM, dt.date(2026, 10, 14))] == [
        objection.id
    ]
    assert objection.state == "escalated" and objection.escalated_on == dt.date(2026, 10, 14)
    assert escalate_overdue(session, SYSTEM, dt.date(2026, 10, 15)) == []
    with pytest.raises(Forbidden):
        decide_objection(session, case.reviewer, objection.id, outcome="upheld", reason="迟到")
    decide_objection(session, ADMIN, objection.id, outcome="revoked", reason="信用办督办撤销")
    assert case.record.state == "revoked"


def test_reconsideration_outcome_revokes_and_closes_the_open_objection(
    session: Session, case: Case, dept: Department
) -> None:
    objection = file_objection(session, case.person, case.record.id, reason="已申请复议")
    enter_review_outcome(
        session,
        case.reviewer,
        case.record.id,
        kind="reconsideration",
        outcome="revoked",
        document="湘复决〔2026〕12号",
        reason="原处罚决定被撤销",
    )
    assert (objection.state, case.record.state) == ("revoked", "revoked")
    other = submit_record(session, dept, "RUMOUR_SPREADING", decided=TODAY - dt.timedelta(days=40))
    enter_review_outcome(
        session,
        other.reviewer,
        other.record.id,
        kind="litigation",
        outcome="corrected",
        document="（2026）湘01行终5号",
        reason="判决变更",
        corrections={"grade": "轻微"},
    )
    assert (other.record.state, other.record.grade, other.record.version) == ("active", "minor", 2)
    assert session.scalar(select(Notice).where(Notice.kind == "record:litigation")) is not None


def test_an_institution_files_only_with_an_authorization_of_that_scope(
    session: Session, case: Case
) -> None:
    from xinyong.accounts.services import ensure_institution
    from xinyong.authorizations.services import grant

    bank = ensure_institution(session, "示范市律师事务所")
    agent = Actor("lawyer", Role.INSTITUTION, organisation=bank.name, institution_id=bank.id)
    reading = grant(
        session,
        case.person,
        institution_id=bank.id,
        scope=["archive"],
        purpose="other",
        purpose_text="代理",
        valid_until=TODAY + dt.timedelta(days=30),
    )
    with pytest.raises(Forbidden, match="代为提出异议"):
        file_objection(
            session, agent, case.record.id, reason="委托代理", authorization_id=reading.id
        )
    mandate = grant(
        session,
        case.person,
        institution_id=bank.id,
        scope=["objection"],
        purpose="other",
        purpose_text="代理异议",
        valid_until=TODAY + dt.timedelta(days=30),
    )
    objection = file_objection(
        session, agent, case.record.id, reason="委托代理", authorization_id=mandate.id
    )
    assert (objection.filed_role, objection.authorization_id) == ("institution", mandate.id)
    assert [o["id"] for o in list_objections(session, agent)] == [objection.id]
    withdraw_objection(session, agent, objection.id)
    assert case.record.state == "active"


def test_corrections_of_fields_by_name_or_label(session: Session, case: Case) -> None:
    from xinyong.catalog.services import current_catalog

    spec = current_catalog(session).items["RUMOUR_SPREADING"].fields[0]
    objection = file_objection(session, case.person, case.record.id, reason="字段有误")
    with pytest.raises(InvalidInput, match="没有字段"):
        decide_objection(
            session,
            case.reviewer,
            objection.id,
            outcome="corrected",
            reason="更正",
            corrections={"facts": {"血型": "A"}},
        )
    decide_objection(
        session,
        case.reviewer,
        objection.id,
        outcome="corrected",
        reason="更正",
        corrections={"facts": {spec.label: "更正后的内容"}},
    )
    assert case.record.facts[spec.name] == "更正后的内容"
