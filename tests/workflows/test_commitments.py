"""Credit commitments: numbering, fulfilment, and a broken commitment becoming a negative
record through its catalog item."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.workflows.conftest import ADMIN, Case, reviewer, submit_record
from xinyong.catalog.models import Department
from xinyong.commitments.services import assess_commitment, list_commitments, make_commitment
from xinyong.commitments.workflow import KIND_NAMES, commitment_code
from xinyong.config import get_settings
from xinyong.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from xinyong.notices.models import Notice
from xinyong.records.models import Record


@pytest.fixture()
def case(session: Session, dept: Department) -> Case:
    return submit_record(session, dept, "RUMOUR_SPREADING")


def test_code_is_region_date_serial() -> None:
    assert commitment_code("430100", dt.date(2026, 2, 13), 7) == "43010020260213000007"
    with pytest.raises(ValueError):
        commitment_code("43", dt.date(2026, 2, 13), 7)


def test_every_kind_can_be_made_and_codes_count_up(session: Session, case: Case) -> None:
    on = dt.date(2026, 3, 2)
    codes = []
    for kind in KIND_NAMES:
        c = make_commitment(
            session,
            case.person,
            case.subject_id,
            kind=kind.value,
            matter="按期提交材料",
            business_ref="XK-2026-001",
            department_code=case.dept.code,
            record_id=case.record.id if kind.value == "repair" else None,
            on=on,
        )
        codes.append(c.code)
        assert c.state == "signed"
    region = get_settings().city_region_code
    assert codes == [f"{region}20260302{n:06d}" for n in range(1, len(KIND_NAMES) + 1)]
    assert len(list_commitments(session, case.person)) == len(KIND_NAMES)
    with pytest.raises(InvalidInput, match="承诺类型"):
        make_commitment(session, case.person, case.subject_id, kind="oral", matter="x")
    with pytest.raises(InvalidInput, match="所修复的记录"):
        make_commitment(session, case.person, case.subject_id, kind="repair", matter="x")
    with pytest.raises(Forbidden):
        make_commitment(session, reviewer(case.dept), case.subject_id, kind="voluntary", matter="x")


def test_broken_commitment_becomes_a_negative_record(session: Session, case: Case) -> None:
    commitment = make_commitment(
        session,
        case.person,
        case.subject_id,
        kind="tolerance",
        matter="30日内补齐营业执照复印件",
        business_ref="SQ-88",
        department_code=case.dept.code,
    )
    with pytest.raises(Forbidden):
        assess_commitment(session, case.person, commitment.id, outcome="unfulfilled", note="x")
    assess_commitment(
        session, case.reviewer, commitment.id, outcome="unfulfilled", note="逾期未补齐材料"
    )
    assert commitment.state == "unfulfilled" and commitment.breach_record_id is not None
    record = session.get(Record, commitment.breach_record_id)
    assert record is not None
    assert (record.item_code, record.nature, record.subject_id, record.department_id) == (
        "COMMITMENT_BREACH",
        "negative",
        case.subject_id,
        case.dept.id,
    )
    assert record.facts.get("fulfilment") == "未履行"
    assert record.document_number == f"信用承诺{commitment.code}"
    with pytest.raises(InvalidTransition):
        assess_commitment(session, case.reviewer, commitment.id, outcome="fulfilled", note="x")
    kinds = set(session.scalars(select(Notice.kind).where(Notice.subject_id == case.subject_id)))
    assert {"commitment:signed", "commitment:unfulfilled", "record:new"} <= kinds


def test_kept_commitment_makes_no_record(session: Session, case: Case) -> None:
    commitment = make_commitment(
        session,
        ADMIN,
        case.subject_id,
        kind="employment",
        matter="如实填报履历",
        department_code=case.dept.code,
    )
    assess_commitment(session, case.reviewer, commitment.id, outcome="fulfilled", note="已核实")
    assert (commitment.state, commitment.breach_record_id) == ("fulfilled", None)


def test_reading_commitments_is_logged(session: Session, case: Case) -> None:
    from tests.workflows.conftest import person
    from xinyong.commitments.services import read_commitment
    from xinyong.errors import NotFound
    from xinyong.queries.models import QueryLog

    commitment = make_commitment(
        session,
        case.person,
        case.subject_id,
        kind="voluntary",
        matter="诚信经营",
        department_code=case.dept.code,
    )
    assert read_commitment(session, case.reviewer, commitment.id) is commitment
    with pytest.raises(NotFound):
        read_commitment(session, person(case.subject_id + 1), commitment.id)
    list_commitments(session, case.person)
    logged = session.scalars(
        select(QueryLog.basis).where(
            QueryLog.subject_id == case.subject_id, QueryLog.action == "commitment:view"
        )
    ).all()
    assert sorted(logged) == ["legal_duty", "self"]


def test_a_breach_is_found_only_after_the_due_date(session: Session, case: Case) -> None:
    commitment = make_commitment(
        session,
        case.person,
        case.subject_id,
        kind="tolerance",
        matter="3月31日前补齐材料",
        department_code=case.dept.code,
        due_on=dt.date(2026, 3, 31),
        on=dt.date(2026, 3, 2),
    )
    with pytest.raises(
        Conflict, match="承诺履行期限至 2026年03月31日，期限届满前不能认定为“未履行”"
    ):
        assess_commitment(
            session, case.reviewer, commitment.id, outcome="unfulfilled", note="x",
            on=dt.date(2026, 3, 31),
        )  # fmt: skip
    assert (commitment.state, commitment.breach_record_id) == ("signed", None)
    assess_commitment(
        session, case.reviewer, commitment.id, outcome="unfulfilled", note="逾期未补齐",
        on=dt.date(2026, 4, 1),
    )  # fmt: skip
    assert commitment.state == "unfulfilled" and commitment.breach_record_id is not None
