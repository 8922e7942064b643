"""Dashboard statistics and department assessment on both databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import Actor, Role
from xinyong.catalog.models import Department
from xinyong.identity.protection import protector_for
from xinyong.measures.services import add_feedback, run_check
from xinyong.statistics.figures import dashboard, department_assessment, months_back


def test_months_back() -> None:
    assert months_back(dt.date(2026, 2, 15), 3) == ["2025-12", "2026-01", "2026-02"]


def test_assessment_rates_and_ranking(session: Session) -> None:
    today = dt.date.today()
    fast = factories.department(session, code="FAST", name="及时局")
    slow = factories.department(session, code="SLOW", name="迟缓局")
    factories.submit_rows(
        session,
        [
            factories.penalty_row(decided=(today - dt.timedelta(days=2)).isoformat(), dept=fast),
            factories.penalty_row(decided=(today - dt.timedelta(days=3)).isoformat(), dept=fast),
        ],
        department_code="FAST",
    )
    factories.submit_rows(
        session,
        [
            factories.penalty_row(decided=(today - dt.timedelta(days=3)).isoformat(), dept=slow),
            factories.penalty_row(decided=(today - dt.timedelta(days=60)).isoformat(), dept=slow),
        ],
        department_code="SLOW",
    )
    lines = {a.department: a for a in department_assessment(session)}
    assert lines["及时局"].records == 2 and lines["及时局"].on_time_rate == 100.0
    assert lines["迟缓局"].on_time_rate == 50.0
    assert (lines["及时局"].rank or 99) < (lines["迟缓局"].rank or 0)
    board = dashboard(session)
    by_dept = dict(
        zip(
            board.charts["by_department"]["labels"],
            board.charts["by_department"]["series"]["记录数"],
            strict=True,
        )
    )
    assert by_dept["及时局"] == 2 and by_dept["迟缓局"] == 2
    month = today.strftime("%Y-%m")
    by_month = board.charts["by_month"]
    assert by_month["labels"][-1] == month
    assert by_month["series"]["全部记录"][-1] >= 1


def test_feedback_rate_counts_checks_with_measures(session: Session) -> None:
    dept = factories.department(session, code="CHK", name="核查局")
    court = factories.department(session, code="CRT", name="示范市中级人民法院")
    listed = factories.resident_id(seq=431)
    factories.submit_rows(
        session,
        [factories.generic_row("DISHONEST_JUDGMENT_DEBTOR", session=session, id_number=listed)],
        department_code=court.code,
    )
    actor = Actor(name="user:chk", role=Role.CLERK, department_id=dept.id, department_code="CHK")

    def check(number: str) -> int:
        result = run_check(
            session,
            actor,
            protector_for(),
            id_number=number,
            scenario="DAILY_SUPERVISION",
            operator="甲",
            business_ref="1",
        )
        return result.check_id

    check(factories.resident_id(seq=433))  # nothing applies: not counted
    hit = check(listed)
    line = {a.department: a for a in department_assessment(session)}["核查局"]
    assert line.checks_with_measures == 1 and line.feedback_rate == 0.0
    add_feedback(session, actor, hit, measure="P_PUBLIC_DISCLOSURE", applied=True, outcome="已公示")
    line = {a.department: a for a in department_assessment(session)}["核查局"]
    assert line.feedback_rate == 100.0
    board = dashboard(session)
    checks = dict(
        zip(
            board.charts["checks"]["labels"],
            board.charts["checks"]["series"]["核查次数"],
            strict=True,
        )
    )
    assert checks["无措施"] >= 1
    applied = board.charts["measures_applied"]
    assert applied["labels"] and applied["series"]["实施次数"][0] >= 1


def test_answers_on_time_from_objections(session: Session) -> None:
    from xinyong.objections import services as objections
    from xinyong.records.models import Record

    dept = factories.department(session, code="ANS", name="答复局")
    factories.submit_rows(
        session,
        [factories.penalty_row(dept=dept), factories.penalty_row(dept=dept)],
        department_code="ANS",
    )
    records = session.query(Record).filter(Record.department_id == dept.id).all()
    office = Actor(name="user:office", role=Role.ADMIN)
    reviewer = Actor(
        name="user:ans", role=Role.REVIEWER, department_id=dept.id, department_code="ANS"
    )
    today = dt.date.today()
    on_time = objections.file_objection(
        session, office, records[0].id, reason="文书号有误", on=today - dt.timedelta(days=3)
    )
    objections.decide_objection(session, reviewer, on_time.id, outcome="upheld", reason="核实无误")
    late = objections.file_objection(
        session, office, records[1].id, reason="金额有误", on=today - dt.timedelta(days=60)
    )
    line = {a.department: a for a in department_assessment(session)}["答复局"]
    assert line.answers_due == 2 and line.on_time_answer_rate == 50.0
    assert late.decided_on is None
    answers = dashboard(session).charts["answers"]
    assert answers["labels"] == ["异议", "信用修复"]
    assert answers["series"]["按时办结"][0] >= 1 and answers["series"]["逾期未办结"][0] >= 1


def test_mandatory_checks_per_department_and_month_flag_a_department_with_none(
    session: Session,
) -> None:
    from sqlalchemy import update

    from xinyong.measures.models import Check
    from xinyong.statistics.figures import mandatory_checks

    finance = factories.department(session, code="CZJ", name="市财政局")
    other = factories.department(session, code="HCJ", name="测试核查局")

    def check(dept: Department, scenario: str) -> int:
        actor = Actor(name=f"user:{dept.code}", role=Role.CLERK, department_id=dept.id,
                      department_code=dept.code)  # fmt: skip
        return run_check(session, actor, protector_for(), id_number=factories.resident_id(),
                         scenario=scenario, operator="甲", business_ref="CG-1").check_id  # fmt: skip

    check(finance, "GOV_PROCUREMENT")
    check(other, "GOV_PROCUREMENT")
    check(other, "DAILY_SUPERVISION")  # not a mandatory scenario: not counted
    # 2026-11-01 00:30 in Beijing is still October in UTC: it counts for November.
    early = check(finance, "FISCAL_SUPPORT")
    session.execute(
        update(Check)
        .where(Check.id == early)
        .values(created_at=dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC))
    )
    month = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    lines = {(m.scenario, m.department): m for m in mandatory_checks(session, month)}
    assert (lines[("GOV_PROCUREMENT", "市财政局")].checks, lines[("GOV_PROCUREMENT", "市财政局")].flagged) == (1, False)  # fmt: skip
    assert lines[("GOV_PROCUREMENT", "测试核查局")].checks == 1
    assert not lines[("GOV_PROCUREMENT", "测试核查局")].expected
    if month != "2026-11":
        assert lines[("FISCAL_SUPPORT", "市财政局")].checks == 0
        assert lines[("FISCAL_SUPPORT", "市财政局")].flagged
    assert all(scenario != "DAILY_SUPERVISION" for scenario, _ in lines)

    november = {(m.scenario, m.department): m for m in mandatory_checks(session, "2026-11")}
    assert november[("FISCAL_SUPPORT", "市财政局")].checks == 1
    assert november[("GOV_PROCUREMENT", "市财政局")].flagged
    assert ("GOV_PROCUREMENT", "测试核查局") not in november  # named nowhere, no check
    october = {(m.scenario, m.department): m for m in mandatory_checks(session, "2026-10")}
    assert october[("FISCAL_SUPPORT", "市财政局")].checks == 0
