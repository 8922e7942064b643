"""Deadlines in working days across Spring Festival and National Day, with the 调休
make-up working days (a Saturday or Sunday that is a working day)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from tests.workflows.conftest import submit_record
from xinyong.catalog.models import Department
from xinyong.objections.services import accept_objection, extend_objection, file_objection
from xinyong.objections.workflow import deadlines
from xinyong.repair.services import apply_for_repair
from xinyong.workdays import CalendarUnknown, WorkdayCalendar

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


def test_a_date_beyond_the_calendar_is_a_clear_error(session: Session, dept: Department) -> None:
    case = submit_record(session, dept, "RUMOUR_SPREADING", decided=D(2026, 1, 5))
    with pytest.raises(CalendarUnknown, match="节假日日历尚未包含 2099 年"):
        file_objection(session, case.person, case.record.id, reason="不是我", on=D(2099, 3, 2))
    with pytest.raises(CalendarUnknown):
        apply_for_repair(
            session,
            case.person,
            case.record.id,
            method="履约",
            statement="已缴款",
            duties_performed=True,
            commit=True,
            on=D(2099, 3, 2),
        )
