"""Deadlines in working days across Spring Festival and National Day, with the 调休
make-up working days (a Saturday or Sunday that is a working day)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.workflows.conftest import ADMIN, submit_record
from xinyong.audit.models import AuditEvent
from xinyong.catalog.models import Department
from xinyong.deadlines import load_schedule
from xinyong.errors import InvalidInput
from xinyong.lists.services import notify_blacklisting
from xinyong.notices.models import Notice
from xinyong.objections.services import (
    accept_objection,
    extend_objection,
    file_objection,
    objection_as_dict,
    withdraw_objection,
)
from xinyong.objections.workflow import deadlines
from xinyong.repair.services import application_as_dict, apply_for_repair
from xinyong.workdays import WorkdayCalendar
from xinyong.workdays.models import HolidaySchedule
from xinyong.workdays.services import calendar_for

CAL = WorkdayCalendar()
D = dt.date


@pytest.mark.parametrize(
    ("filed", "mark_by", "decide_by", "extended_by"),
    [
        # Spring Festival 2025: 1.28–2.4 off; Sun 1.26 and Sat 2.8 are working days.
        (D(2025, 1, 24), D(2025, 1, 26), D(2025, 2, 7), D(2025, 2, 27)),
        (D(2025, 1, 27), D(2025, 2, 5), D(2025, 2, 10), D(2025, 3, 3)),
        # National Day 2025: 10.1–10.8 off; Sun 9.28 and Sat 10.11 are working days.
        (D(2025, 9, 26), D(2025, 9, 28), D(2025, 10, 10), D(2025, 10, 30)),
        (D(2025, 9, 30), D(2025, 10, 9), D(2025, 10, 14), D(2025, 11, 4)),
        # Spring Festival 2026: 2.15–2.23 off; Sat 2.14 and Sat 2.28 are working days.
        (D(2026, 2, 13), D(2026, 2, 14), D(2026, 2, 27), D(2026, 3, 19)),
        # National Day 2026: 10.1–10.7 off; Sun 9.20 and Sat 10.10 are working days.
        (D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 13), D(2026, 11, 3)),
    ],
)
def test_objection_deadlines(
    filed: dt.date, mark_by: dt.date, decide_by: dt.date, extended_by: dt.date
) -> None:
    due = deadlines(CAL, filed, mark_workdays=1, decide_workdays=5, extended_workdays=20)
    assert (due.mark_by, due.decide_by) == (mark_by, decide_by)
    longer = deadlines(
        CAL, filed, mark_workdays=1, decide_workdays=5, extended_workdays=20, extended=True
    )
    assert longer.decide_by == extended_by


@pytest.mark.parametrize(
    ("submitted", "decide_by"),
    [
        (D(2025, 1, 24), D(2025, 2, 13)),
        (D(2025, 9, 30), D(2025, 10, 21)),
        (D(2026, 2, 13), D(2026, 3, 5)),
        (D(2026, 9, 30), D(2026, 10, 20)),
    ],
)
def test_repair_deadline_is_ten_working_days(submitted: dt.date, decide_by: dt.date) -> None:
    assert CAL.add_workdays(submitted, 10) == decide_by


def test_filing_stores_the_deadlines_and_extension_counts_from_filing(
    session: Session, dept: Department
) -> None:
    case = submit_record(session, dept, "RUMOUR_SPREADING")
    objection = file_objection(
        session, case.person, case.record.id, reason="不是我", on=D(2026, 2, 13)
    )
    assert (objection.mark_by, objection.decide_by) == (D(2026, 2, 14), D(2026, 2, 27))
    accept_objection(session, case.reviewer, objection.id, on=D(2026, 2, 14))
    extend_objection(session, case.reviewer, objection.id, reason="需调取档案", on=D(2026, 2, 24))
    assert objection.decide_by == D(2026, 3, 19)


FIXTURE = Path(__file__).parents[1] / "data" / "holiday-schedule-2027.TEST-DATA.yaml"


@pytest.mark.parametrize(
    ("filed", "mark_by", "decide_by", "extended_by"),
    [
        # 2027 has no schedule yet: 元旦 1.1, 除夕 2.5 to 初三 2.8 off, weekends off, no 调休.
        (D(2026, 12, 24), D(2026, 12, 25), D(2026, 12, 31), D(2027, 1, 22)),
        (D(2027, 2, 1), D(2027, 2, 2), D(2027, 2, 10), D(2027, 3, 3)),
        # 2030: 除夕 is 腊月三十 (Sat 2.2), 初一–初三 Sun 2.3 to Tue 2.5.
        (D(2030, 2, 1), D(2030, 2, 6), D(2030, 2, 12), D(2030, 3, 5)),
    ],
)
def test_years_without_a_schedule_get_provisional_deadlines(
    filed: dt.date, mark_by: dt.date, decide_by: dt.date, extended_by: dt.date
) -> None:
    test_objection_deadlines(filed, mark_by, decide_by, extended_by)


def test_filings_into_2027_and_2030_get_deadlines_marked_provisional(
    session: Session, dept: Department
) -> None:
    first = submit_record(session, dept, "RUMOUR_SPREADING", decided=D(2026, 1, 5))
    december = file_objection(
        session, first.person, first.record.id, reason="不是我", on=D(2026, 12, 24)
    )
    accept_objection(session, first.reviewer, december.id, on=D(2026, 12, 25))
    # the extension that answered 422 节假日日历尚未包含 2027 年
    extend_objection(session, first.reviewer, december.id, reason="需调取档案", on=D(2026, 12, 28))
    assert december.decide_by == D(2027, 1, 22)
    assert objection_as_dict(session, december)["provisional"] is True
    later = submit_record(session, dept, "RUMOUR_SPREADING", decided=D(2026, 1, 5))
    far = file_objection(session, later.person, later.record.id, reason="不是我", on=D(2030, 2, 1))
    assert (far.mark_by, far.decide_by) == (D(2030, 2, 6), D(2030, 2, 12))
    assert objection_as_dict(session, far)["provisional"] is True
    shipped = submit_record(session, dept, "RUMOUR_SPREADING", decided=D(2026, 1, 5))
    inside = file_objection(
        session, shipped.person, shipped.record.id, reason="不是我", on=D(2026, 2, 13)
    )
    assert objection_as_dict(session, inside)["provisional"] is False


def test_loading_2027_moves_the_open_deadlines_and_clears_provisional(
    session: Session, dept: Department
) -> None:
    cases = [submit_record(session, dept, "RUMOUR_SPREADING", decided=D(2026, 1, 5)) for _ in "abc"]
    # Only a record graded 严重 may start the black-list procedure.
    cases.append(submit_record(session, dept, "FISCAL_FUND_FRAUD", decided=D(2026, 1, 5)))
    spring = file_objection(
        session, cases[0].person, cases[0].record.id, reason="甲", on=D(2027, 2, 1)
    )
    extended = file_objection(
        session, cases[1].person, cases[1].record.id, reason="乙", on=D(2027, 2, 1)
    )
    accept_objection(session, cases[1].reviewer, extended.id, on=D(2027, 2, 2))
    extend_objection(session, cases[1].reviewer, extended.id, reason="需调取档案", on=D(2027, 2, 2))
    withdrawn = file_objection(
        session, cases[2].person, cases[2].record.id, reason="丙", on=D(2027, 2, 1)
    )
    withdraw_objection(session, cases[2].person, withdrawn.id, on=D(2027, 2, 2))
    repair = apply_for_repair(
        session,
        cases[3].person,
        cases[3].record.id,
        method="履约",
        statement="已缴款",
        duties_performed=True,
        commit=True,
        on=D(2027, 2, 1),
    )
    notice = notify_blacklisting(
        session, ADMIN, cases[3].record.id, reasons="屡教不改", basis="《条例》", on=D(2027, 2, 1)
    )
    assert (spring.decide_by, extended.decide_by) == (D(2027, 2, 10), D(2027, 3, 3))
    assert (repair.decide_by, notice.defence_until) == (D(2027, 2, 17), D(2027, 2, 10))
    assert application_as_dict(session, repair)["provisional"] is True

    result = load_schedule(session, ADMIN, FIXTURE.read_bytes(), FIXTURE.name)

    # Spring Festival 2.5–2.12 off, Saturday 2.20 worked (the test schedule)
    assert (spring.mark_by, spring.decide_by) == (D(2027, 2, 2), D(2027, 2, 16))
    assert extended.decide_by == D(2027, 3, 8)
    assert repair.decide_by == D(2027, 2, 22)
    assert notice.defence_until == D(2027, 2, 16)
    assert withdrawn.decide_by == D(2027, 2, 10)  # closed: left as it was
    assert sorted(result.objections) == sorted([spring.id, extended.id])
    assert (result.repairs, result.list_entries) == ([repair.id], [notice.id])
    assert objection_as_dict(session, spring)["provisional"] is False
    told = session.scalars(
        select(Notice.body).where(Notice.kind.in_(["objection:deadline", "blacklist:deadline"]))
    ).all()
    assert any(f"异议（编号 {spring.id}）的处理期限重新计算为 2027年02月16日。" in t for t in told)
    assert any("陈述申辩期限重新计算为 2027年02月16日。" in t for t in told)
    assert len(told) == 3  # spring, extended, the notice: not the withdrawn objection
    assert application_as_dict(session, repair)["provisional"] is False
    # a new filing counts the make-up Saturday
    again = submit_record(session, dept, "RUMOUR_SPREADING", decided=D(2026, 1, 5))
    late = file_objection(session, again.person, again.record.id, reason="丁", on=D(2027, 2, 18))
    assert late.decide_by == D(2027, 2, 24)  # 19 (Fri), 20 (Sat), 22, 23, 24


def test_loading_is_versioned_audited_and_a_repeat_changes_nothing(session: Session) -> None:
    seq = session.scalar(select(func.max(AuditEvent.seq))) or 0
    first = load_schedule(session, ADMIN, FIXTURE.read_bytes(), FIXTURE.name)
    session.commit()
    again = load_schedule(session, ADMIN, FIXTURE.read_bytes(), FIXTURE.name)
    session.commit()
    assert [(y.year, y.version, y.changed) for y in first.years] == [(2027, 1, True)]
    assert [(y.year, y.version, y.changed) for y in again.years] == [(2027, 1, False)]
    corrected = FIXTURE.read_text(encoding="utf-8").replace(
        "[2027-02-20]", "[2027-02-20, 2027-02-21]"
    )
    third = load_schedule(session, ADMIN, corrected.encode(), "更正.yaml")
    session.commit()
    assert [(y.version, y.changed) for y in third.years] == [(2, True)]
    rows = session.scalars(select(HolidaySchedule).where(HolidaySchedule.year == 2027)).all()
    assert sorted((r.version, r.is_current) for r in rows) == [(1, False), (2, True)]
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.seq > seq, AuditEvent.action == "workdays:schedule:loaded")
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.target_id for e in events] == ["2027", "2027", "2027"]
    assert calendar_for(session).is_workday(D(2027, 2, 21))


def test_a_bad_schedule_changes_nothing(session: Session) -> None:
    bad = FIXTURE.read_text(encoding="utf-8").replace("[2027-02-20]", "[2027-02-19]")
    with pytest.raises(InvalidInput, match="调休上班日 2027-02-19 是工作日"):
        load_schedule(session, ADMIN, bad.encode(), "bad.yaml")
    assert session.scalar(select(func.count()).select_from(HolidaySchedule)) == 0
