"""考核 by period (issue 18): every batch of a department counts however it was submitted,
a small test upload does not move a large department, and a thin period is not ranked."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import Actor, Role
from xinyong.statistics.assessment import assess_departments, parse_period, period_of
from xinyong.submissions.history import batch_for, batches_of


def test_periods_are_read_and_bad_ones_fall_back_to_the_current_quarter() -> None:
    today = dt.date(2026, 12, 7)
    q4 = parse_period("2026-Q4", today)
    assert (q4.start, q4.end, q4.label, q4.partial) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 12, 31),
        "2026年第4季度",
        True,
    )
    assert parse_period("2026-02", today).end == dt.date(2026, 2, 28)
    assert parse_period("2025", today).end == dt.date(2025, 12, 31)
    assert not parse_period("2025", today).partial
    for bad in ("", "2026-Q9", "2026-13", "abc", "2026-Qx"):
        assert parse_period(bad, today).code == "2026-Q4"


@given(st.sampled_from(["month", "quarter", "year"]), st.integers(2000, 2100), st.integers(1, 12))
def test_a_period_round_trips_through_its_code(kind: str, year: int, number: int) -> None:
    if kind == "quarter":
        number = (number - 1) // 3 + 1
    period = period_of(kind, year, number, dt.date(2026, 12, 7))
    assert parse_period(period.code, dt.date(2026, 12, 7)) == period
    assert period.start <= period.end
    assert (period.end + dt.timedelta(days=1)).day == 1


def _rows(dept: object, n: int, decided: dt.date) -> list[dict[str, str]]:
    return [factories.penalty_row(dept=dept, decided=decided.isoformat()) for _ in range(n)]  # type: ignore[arg-type]


def test_office_imports_count_for_the_department_and_a_test_upload_does_not_move_it(
    session: Session,
) -> None:
    today = dt.date.today()
    period = parse_period(None)
    recent = max(period.start, today - dt.timedelta(days=2))
    big = factories.department(session, code="BIG", name="大局")
    others = [factories.department(session, code=f"O{i}", name=f"他局{i}") for i in range(3)]
    # The office imports the big department's rows (no fixed department: rows name it).
    factories.submit_rows(session, _rows(big, 40, recent))
    for other in others:
        factories.submit_rows(session, _rows(other, 25, recent), department_code=other.code)
    before = {a.department: a for a in assess_departments(session, period, min_sample=20).lines}
    assert before["大局"].rows_submitted == 40 and before["大局"].records == 40
    assert before["大局"].rejection_rate == 0.0 and before["大局"].rank is not None

    # A 7-row test upload of the big department with every row bad.
    bad = [factories.penalty_row(dept=big, 处罚决定日期="不是日期") for _ in range(7)]
    factories.submit_rows(session, bad, department_code="BIG")
    after = {a.department: a for a in assess_departments(session, period, min_sample=20).lines}
    assert after["大局"].rows_submitted == 47
    assert after["大局"].rejection_rate == round(100 * 7 / 47, 1)

    # A department whose only data is the 7-row upload is "数据不足", not ranked last.
    tiny = factories.department(session, code="TINY", name="小局")
    factories.submit_rows(session, _rows(tiny, 7, recent), department_code="TINY")
    lines = {a.department: a for a in assess_departments(session, period, min_sample=20).lines}
    assert lines["小局"].rank is None and lines["小局"].score is None
    assert "拒收率" in lines["小局"].thin and "按时报送率" in lines["小局"].thin


def test_a_period_with_too_little_data_is_not_ranked(session: Session) -> None:
    dept = factories.department(session, code="ONE", name="孤局")
    factories.submit_rows(
        session, _rows(dept, 3, dt.date.today() - dt.timedelta(days=1)), department_code="ONE"
    )
    result = assess_departments(session, parse_period(None), min_sample=20)
    assert not result.ranked and all(line.rank is None for line in result.lines)
    assert result.note is not None and "数据过少" in result.note
    # A past year without any data says the same.
    empty = assess_departments(session, parse_period("2001"), min_sample=1)
    assert not empty.ranked and empty.note is not None


def test_backfilled_old_decisions_do_not_count_as_late_in_this_period(session: Session) -> None:
    dept = factories.department(session, code="BACK", name="补录局")
    factories.submit_rows(
        session, _rows(dept, 30, dt.date.today() - dt.timedelta(days=900)), department_code="BACK"
    )
    line = {
        a.department: a for a in assess_departments(session, parse_period(None), min_sample=1).lines
    }["补录局"]
    assert line.records == 0 and line.on_time_rate is None
    assert line.rows_submitted == 30 and line.rejection_rate == 0.0


def test_clerk_sees_the_batches_the_office_imported_for_the_department(
    session: Session,
) -> None:
    dept = factories.department(session, code="SEE", name="可见局")
    other = factories.department(session, code="NOT", name="别局")
    imported = factories.submit_rows(
        session, _rows(dept, 3, dt.date.today()) + _rows(other, 2, dt.date.today())
    )
    own = factories.submit_rows(session, _rows(dept, 1, dt.date.today()), department_code="SEE")
    foreign = factories.submit_rows(
        session, _rows(other, 1, dt.date.today()), department_code="NOT"
    )
    clerk = Actor(name="user:see", role=Role.CLERK, department_id=dept.id, department_code="SEE")
    page = batches_of(session, clerk)
    ids = {b.id for b in page.batches}
    assert imported.batch_id in ids and own.batch_id in ids and foreign.batch_id not in ids
    assert page.total == 2 and page.own_rows == {imported.batch_id: 3, own.batch_id: 1}
    assert batch_for(session, clerk, imported.batch_id).id == imported.batch_id
    # The rejected rows of a batch imported for several departments stay the office's.
    import pytest

    from xinyong.errors import NotFound

    with pytest.raises(NotFound):
        batch_for(session, clerk, imported.batch_id, own_only=True)
    with pytest.raises(NotFound):
        batch_for(session, clerk, foreign.batch_id)
