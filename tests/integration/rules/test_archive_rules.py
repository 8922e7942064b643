"""Grades, lists, the daily job and scores on a real database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tests import factories
from xinyong import daily as lifecycle
from xinyong.actors import cli_operator
from xinyong.catalog.services import current_catalog
from xinyong.daily import expire
from xinyong.errors import InvalidTransition
from xinyong.identity.masking import Audience
from xinyong.lists.models import EndReason, EntryStatus, ListEntry
from xinyong.lists.services import (
    decide_blacklisting,
    end_entries_for_record,
    notify_blacklisting,
    submit_defence,
    sync_entries_from_records,
)
from xinyong.notices.models import Notice
from xinyong.records.display import visibility
from xinyong.records.display_sql import used_clause
from xinyong.records.models import Record
from xinyong.scoring.models import ScoreHistory, SubjectScore
from xinyong.scoring.services import rescore, score_subject

ADMIN = cli_operator("test")
TODAY = dt.date.today()


def item_with(session: Session, **match: object) -> str:
    for item in current_catalog(session).items.values():
        if all(getattr(item, k) == v for k, v in match.items()) and item.record_format == "generic":
            return item.code
    raise AssertionError(f"no item with {match}")


def records_of(session: Session, number: str) -> list[Record]:
    from xinyong.identity.protection import protector_for
    from xinyong.subjects.services import find_subject

    subject = find_subject(session, protector_for(), number)
    assert subject is not None
    return list(session.scalars(select(Record).where(Record.subject_id == subject.id)))


@pytest.mark.parametrize(
    ("category", "fine", "grade", "source"),
    [
        ("警告", "", "minor", "rule:SGS_WARNING"),
        ("罚款", "0.5", "minor", "rule:SGS_SMALL_FINE"),
        ("罚款", "1", "general", "rule:SGS_FINE"),
        ("罚款", "19.99", "general", "rule:SGS_FINE"),
        ("罚款", "20", "serious", "rule:SGS_LARGE_FINE"),
        ("警告;行政拘留", "", "serious", "rule:SGS_SEVERE"),
        ("其他", "", "general", "catalog"),
    ],
)
def test_penalties_are_graded_by_rules(
    session: Session, category: str, fine: str, grade: str, source: str
) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    row = factories.penalty_row(id_number=number, dept=dept, category="警告")
    row["处罚类别"], row["罚款金额（万元）"] = category, fine
    result = factories.submit_rows(session, [row])
    assert result.accepted == 1, result.errors
    record = records_of(session, number)[0]
    assert (record.grade, record.grade_source) == (grade, source)


def test_department_grade_wins_and_is_kept_with_who_set_it(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    row = factories.penalty_row(id_number=number, dept=dept, category="警告")
    row["失信等级"] = "严重"
    factories.submit_rows(session, [row])
    record = records_of(session, number)[0]
    assert (record.grade, record.grade_source, record.grade_set_by) == (
        "serious",
        "department",
        "cli:test",
    )


def test_national_list_record_puts_the_person_on_the_black_list(session: Session) -> None:
    factories.department(session, code="COURT")
    code = item_with(session, list_kind="black", domain="JUDICIAL")
    number = factories.resident_id()
    result = factories.submit_rows(
        session, [factories.generic_row(code, session=session, id_number=number, 部门代码="COURT")]
    )
    assert result.accepted == 1, result.errors
    record = records_of(session, number)[0]
    entry = session.scalars(select(ListEntry).where(ListEntry.record_id == record.id)).one()
    assert (entry.list_kind, entry.status, entry.source) == ("black", "listed", "record")
    assert entry.start_date == record.decision_date and entry.end_date == record.display_until
    assert entry.reasons and entry.basis and entry.exit_conditions and entry.remedies
    # Idempotent: syncing again adds nothing.
    assert sync_entries_from_records(session, TODAY) == 0
    # Repair ends it, with the reason kept.
    end_entries_for_record(session, record.id, EndReason.REPAIRED, TODAY)
    session.refresh(entry)
    assert (entry.status, entry.end_reason, entry.ended_on) == ("ended", "repaired", TODAY)


def test_red_list_honour(session: Session) -> None:
    factories.department(session, code="MZ")
    code = item_with(session, list_kind="red")
    number = factories.resident_id()
    factories.submit_rows(
        session, [factories.generic_row(code, session=session, id_number=number, 部门代码="MZ")]
    )
    record = records_of(session, number)[0]
    entry = session.scalars(select(ListEntry).where(ListEntry.record_id == record.id)).one()
    assert entry.list_kind == "red" and entry.status == "listed"


def test_black_list_procedure_notice_defence_decision(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    factories.submit_rows(
        session, [factories.penalty_row(id_number=number, dept=dept, **{"罚款金额（万元）": "25"})]
    )
    record = records_of(session, number)[0]
    monday = dt.date(2025, 9, 29)  # the defence period crosses National Day 2025
    entry = notify_blacklisting(
        session, ADMIN, record.id, reasons="拒不履行", basis="《条例》第十条", on=monday
    )
    assert entry.status == EntryStatus.NOTIFIED
    assert entry.defence_until == dt.date(2025, 10, 13)  # 5 working days, 调休 counted
    notice = session.scalars(select(Notice).where(Notice.list_entry_id == entry.id)).one()
    assert "陈述和申辩" in notice.body
    with pytest.raises(InvalidTransition):
        decide_blacklisting(session, ADMIN, entry.id, list_subject=True, on=dt.date(2025, 10, 9))
    submit_defence(session, ADMIN, entry.id, "我已经履行", on=dt.date(2025, 10, 10))
    with pytest.raises(InvalidTransition):
        submit_defence(session, ADMIN, entry.id, "太晚了", on=dt.date(2025, 10, 14))
    decided = decide_blacklisting(
        session,
        ADMIN,
        entry.id,
        list_subject=True,
        on=dt.date(2025, 10, 14),
        reasons="经核实，当事人未履行",
        defence_review="所称已履行与执行记录不符，不予采纳",
    )
    assert decided.reasons == "拒不履行" and decided.decision_reasons == "经核实，当事人未履行"
    assert decided.status == "listed" and decided.start_date == dt.date(2025, 10, 14)
    assert session.scalar(
        select(func.count()).select_from(Notice).where(Notice.kind == "blacklist:decision")
    )
    with pytest.raises(InvalidTransition):
        decide_blacklisting(session, ADMIN, entry.id, list_subject=False)


def test_withdrawal_after_defence(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    factories.submit_rows(
        session, [factories.penalty_row(id_number=number, dept=dept, **{"罚款金额（万元）": "25"})]
    )
    record = records_of(session, number)[0]
    entry = notify_blacklisting(session, ADMIN, record.id, reasons="r", basis="b")
    withdrawn = decide_blacklisting(session, ADMIN, entry.id, list_subject=False, reasons="已整改")
    assert withdrawn.status == "withdrawn"


def test_organisation_black_listing_reaches_its_legal_representative(session: Session) -> None:
    dept = factories.department(session)
    org_code = factories.credit_code_for(777001)
    rep = factories.resident_id()
    row = factories.penalty_row(
        name="甲公司", org_code=org_code, legal_rep=("周九", rep), dept=dept,
        **{"罚款金额（万元）": "25"},
    )  # fmt: skip
    factories.submit_rows(session, [row])
    org_record = session.scalars(select(Record).order_by(Record.id.desc())).first()
    assert org_record is not None
    entry = notify_blacklisting(
        session, ADMIN, org_record.id, reasons="r", basis="b", on=dt.date(2025, 3, 3)
    )
    decide_blacklisting(session, ADMIN, entry.id, list_subject=True, on=dt.date(2025, 3, 20))
    children = session.scalars(select(ListEntry).where(ListEntry.parent_entry_id == entry.id)).all()
    assert len(children) == 1 and children[0].source == "responsible_person"
    # The representative is told on their own and has their own defence period.
    assert children[0].status == "notified" and children[0].notified_on == dt.date(2025, 3, 20)
    assert children[0].defence_until == dt.date(2025, 3, 27)


def test_list_sync_scoped_to_subjects_looks_at_no_one_else(session: Session) -> None:
    factories.department(session, code="COURT")
    code = item_with(session, list_kind="black", domain="JUDICIAL")
    numbers = [factories.resident_id() for _ in range(2)]
    factories.submit_rows(
        session,
        [
            factories.generic_row(code, session=session, id_number=n, 部门代码="COURT")
            for n in numbers
        ],
    )
    first, second = (records_of(session, n)[0] for n in numbers)
    session.execute(delete(ListEntry).where(ListEntry.record_id.in_([first.id, second.id])))
    assert sync_entries_from_records(session, TODAY, subject_ids=[]) == 0
    assert sync_entries_from_records(session, TODAY, subject_ids=[first.subject_id]) == 1
    listed = session.scalars(
        select(ListEntry.subject_id).where(ListEntry.record_id.in_([first.id, second.id]))
    ).all()
    assert listed == [first.subject_id]
    assert sync_entries_from_records(session, TODAY, subject_ids=[first.subject_id]) == 0
    assert sync_entries_from_records(session, TODAY) == 1  # the unscoped sync finds the other


def test_expire_names_the_subjects_it_touched(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "EXPIRE_CHUNK", 2)  # several rounds of the chunked update
    dept = factories.department(session)
    numbers = [factories.resident_id() for _ in range(4)]
    factories.submit_rows(
        session,
        [
            factories.penalty_row(id_number=n, dept=dept, category="警告", decided="2025-01-10")
            for n in numbers[:3]
        ]
        + [factories.penalty_row(id_number=numbers[3], dept=dept, category="警告")],
    )
    records = [records_of(session, n)[0] for n in numbers]
    assert expire(session, dt.date(2025, 4, 9)).touched_subjects == frozenset()
    done = expire(session, dt.date(2025, 4, 10))
    assert done.records_expired == 3
    assert done.touched_subjects == frozenset(r.subject_id for r in records[:3])
    for record in records:
        session.refresh(record)
    assert [r.state for r in records] == ["expired", "expired", "expired", "active"]
    assert expire(session, dt.date(2025, 4, 10)).touched_subjects == frozenset()


def test_expire_is_idempotent_and_notifies_before_the_end(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    row = factories.penalty_row(id_number=number, dept=dept, category="警告", decided="2025-01-10")
    factories.submit_rows(session, [row])
    record = records_of(session, number)[0]
    assert record.display_until == dt.date(2025, 4, 9)  # 轻微: three months
    soon = expire(session, dt.date(2025, 3, 20))
    assert soon.notices_queued >= 1 and soon.records_expired == 0
    assert expire(session, dt.date(2025, 3, 21)).notices_queued == 0
    assert expire(session, dt.date(2025, 4, 9)).records_expired == 0  # last day still shown
    done = expire(session, dt.date(2025, 4, 10))
    assert done.records_expired >= 1
    session.refresh(record)
    assert record.state == "expired"
    assert expire(session, dt.date(2025, 4, 10)).records_expired == 0


def test_rescore_matches_the_engine_and_keeps_history(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    rows = [
        factories.penalty_row(id_number=number, dept=dept, category="警告"),
        factories.penalty_row(
            id_number=number,
            dept=dept,
            category="罚款",
            decided=(TODAY - dt.timedelta(days=200)).isoformat(),
            **{"罚款金额（万元）": "25"},
        ),
    ]
    factories.submit_rows(session, rows)
    record = records_of(session, number)[0]
    subject_id = record.subject_id
    on = TODAY
    stored = session.get(SubjectScore, subject_id)
    assert stored is not None  # scored when the records landed
    engine = score_subject(session, subject_id, on)
    assert stored.score == engine.score
    assert len(engine.reasons()) == 2
    rescore(session, on)
    assert session.get(SubjectScore, subject_id).score == engine.score  # type: ignore[union-attr]
    # Disputing a record takes it out of the score; the change goes to the history.
    serious = max(records_of(session, number), key=lambda r: r.grade == "serious")
    session.execute(update(Record).where(Record.id == serious.id).values(state="disputed"))
    result = rescore(session, on)
    assert result.changed >= 1
    session.expire_all()
    after = session.get(SubjectScore, subject_id)
    assert after is not None and after.score > engine.score
    history = session.scalars(
        select(ScoreHistory).where(ScoreHistory.subject_id == subject_id)
    ).all()
    assert [h.score for h in history][-2:] == [engine.score, after.score]


STATES = st.sampled_from(["active", "disputed", "repaired", "revoked", "expired"])


@settings(
    max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(state=STATES)
def test_non_active_records_never_lower_a_score_or_list(session: Session, state: str) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    code = item_with(session, list_kind="black", domain="JUDICIAL")
    factories.submit_rows(
        session,
        [
            factories.generic_row(
                code,
                session=session,
                id_number=number,
                部门代码=dept.code,
                decided=factories.RECENT,
            )
        ],
    )
    record = records_of(session, number)[0]
    session.execute(
        update(ListEntry).where(ListEntry.record_id == record.id).values(status="ended")
    )
    session.execute(update(Record).where(Record.id == record.id).values(state=state))
    session.expire_all()
    created = sync_entries_from_records(session, TODAY)
    engine = score_subject(session, record.subject_id, TODAY)
    if state == "active":
        assert created == 0  # its entry exists already (ended above, not recreated)
        assert engine.score < 700
    else:
        assert created == 0
        assert engine.score == 700


@pytest.fixture()
def one_record(session: Session) -> int:
    dept = factories.department(session)
    number = factories.resident_id()
    factories.submit_rows(session, [factories.penalty_row(id_number=number, dept=dept)])
    return records_of(session, number)[0].id


@given(
    state=STATES,
    start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 1, 1)),
    length=st.one_of(st.none(), st.integers(0, 800)),
    on=st.dates(min_value=dt.date(2023, 6, 1), max_value=dt.date(2028, 1, 1)),
)
@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
def test_sql_used_clause_agrees_with_visibility(
    session: Session,
    one_record: int,
    state: str,
    start: dt.date,
    length: int | None,
    on: dt.date,
) -> None:
    until = None if length is None else start + dt.timedelta(days=length)
    session.execute(
        update(Record)
        .where(Record.id == one_record)
        .values(state=state, display_from=start, display_until=until)
    )
    in_sql = session.scalar(select(Record.id).where(Record.id == one_record, used_clause(on)))
    expected = visibility(
        state=state,
        open_level="public",
        display_from=start,
        display_until=until,
        audience=Audience.GOVERNMENT,
        on=on,
    ).used
    assert (in_sql is not None) == expected


def test_grade_change_needs_a_reason_and_makes_a_version(session: Session) -> None:
    from xinyong.actors import Actor
    from xinyong.changes.records import change_grade
    from xinyong.errors import Forbidden, InvalidInput
    from xinyong.records.models import RecordVersion

    dept = factories.department(session)
    other = factories.department(session)
    number = factories.resident_id()
    factories.submit_rows(
        session, [factories.penalty_row(id_number=number, dept=dept, category="警告")]
    )
    record = records_of(session, number)[0]
    clerk = Actor("clerk", "department", dept.id, dept.code)
    with pytest.raises(InvalidInput):
        change_grade(session, clerk, record.id, "严重", "  ")
    with pytest.raises(Forbidden):
        change_grade(
            session, Actor("x", "department", other.id, other.code), record.id, "严重", "r"
        )
    before_until = record.display_until
    changed = change_grade(session, clerk, record.id, "严重", "复核认定情节严重")
    assert (changed.grade, changed.version, changed.grade_set_by) == ("serious", 2, "clerk")
    assert changed.display_until is not None and before_until is not None
    assert changed.display_until > before_until
    old = session.scalars(select(RecordVersion).where(RecordVersion.record_id == record.id)).one()
    assert (old.grade, old.version) == ("minor", 1)
    assert score_subject(session, record.subject_id, TODAY).score == 700 - 150
