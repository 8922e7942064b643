"""The check's one-statement facts are the ORM's facts, and every check is
logged with the check it answered. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import Actor, cli_operator
from xinyong.catalog.services import current_catalog
from xinyong.identity.protection import protector_for
from xinyong.lists.models import ListEntry
from xinyong.lists.services import decide_blacklisting, notify_blacklisting
from xinyong.measures.models import Check
from xinyong.measures.services import facts_by_index, load_facts_bulk, run_check
from xinyong.queries.models import QueryLog
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.subjects.services import blind_index_for

TODAY = dt.date.today()
ADMIN = cli_operator("test")


def city(session: Session) -> list[str]:
    """People with every kind of fact: records in and out of use, list entries (one resting
    on a disputed record), an organisation on the black list, and one with nothing."""
    dept = factories.department(session)
    rep, plain, debtor, nobody = (factories.resident_id() for _ in range(4))
    org_code = factories.credit_code_for(779_001)
    rows = [
        factories.penalty_row(
            name="乙贸易有限公司",
            org_code=org_code,
            legal_rep=("钱七", rep),
            dept=dept,
            decided=(TODAY - dt.timedelta(days=60)).isoformat(),
            **{"罚款金额（万元）": "25"},
        ),
        factories.penalty_row(id_number=rep, dept=dept, category="罚款", fine="30"),
        factories.penalty_row(id_number=plain, dept=dept, category="警告"),
        factories.penalty_row(id_number=plain, dept=dept, category="行政拘留"),
        factories.penalty_row(
            id_number=plain, dept=dept, category="警告", decided="2020-01-10"
        ),  # long expired
    ]
    assert factories.submit_rows(session, rows).accepted == len(rows)
    rows = [
        factories.generic_row(
            "DISHONEST_JUDGMENT_DEBTOR", session=session, id_number=debtor, 部门代码=dept.code
        ),
        factories.generic_row(
            "DISHONEST_JUDGMENT_DEBTOR",
            session=session,
            id_number=debtor,
            document="（2026）湘0102执9号",
            部门代码=dept.code,
        ),
    ]
    assert factories.submit_rows(session, rows).accepted == len(rows)
    org_record = session.scalars(
        select(Record).where(Record.department_id == dept.id).order_by(Record.id)
    ).first()
    assert org_record is not None
    entry = notify_blacklisting(
        session, ADMIN, org_record.id, reasons="r", basis="b", on=TODAY - dt.timedelta(days=50)
    )
    decide_blacklisting(
        session, ADMIN, entry.id, list_subject=True, on=TODAY - dt.timedelta(days=30)
    )
    # 落实到人: the legal representative, told on their own, is decided after their defence.
    for reached in session.scalars(select(ListEntry).where(ListEntry.parent_entry_id == entry.id)):
        decide_blacklisting(
            session, ADMIN, reached.id, list_subject=True, on=TODAY - dt.timedelta(days=15)
        )
    debtor_index = blind_index_for(protector_for(), debtor)
    debtor_id = session.scalar(select(Subject.id).where(Subject.id_index == debtor_index))
    disputed = session.scalars(
        select(Record.id).where(Record.subject_id == debtor_id).order_by(Record.id)
    ).first()
    session.execute(update(Record).where(Record.id == disputed).values(state="disputed"))
    session.flush()
    return [rep, plain, debtor, nobody]


def test_one_statement_facts_equal_the_orm_facts(session: Session) -> None:
    numbers = city(session)
    catalog = current_catalog(session)
    for on in (TODAY, TODAY + dt.timedelta(days=400)):
        for number in numbers:
            index = blind_index_for(protector_for(), number)
            sid = session.scalar(select(Subject.id).where(Subject.id_index == index))
            fast = facts_by_index(session, index, catalog, on)
            if sid is None:
                assert fast is None
                continue
            assert fast == load_facts_bulk(session, [sid], catalog, on)[sid]
            assert fast is not None and (fast.records or fast.organisations)


def test_every_check_is_logged_with_its_answer(session: Session) -> None:
    rep, plain, _debtor, nobody = city(session)
    dept = factories.department(session)
    actor = Actor("apikey:t", "department", dept.id, dept.code)
    for number, found in ((rep, True), (plain, True), (nobody, False)):
        result = run_check(
            session,
            actor,
            protector_for(),
            id_number=number,
            scenario="SOE_EXECUTIVE",
            operator=" 王科员 ",
            business_ref="YW-7",
        )
        assert result.found is found
        check = session.get(Check, result.check_id)
        assert check is not None
        assert (check.operator, check.business_ref, check.verdict) == (
            "王科员",
            "YW-7",
            result.verdict,
        )
        assert check.decisions == result.decisions
        logs = session.scalars(
            select(QueryLog).where(QueryLog.returned["check_id"].as_integer() == result.check_id)
        ).all()
        if not found:
            assert check.subject_id is None and logs == []
            continue
        [log] = logs
        assert log.subject_id == check.subject_id
        assert (log.actor, log.organisation, log.channel, log.action, log.basis) == (
            "apikey:t",
            dept.code,
            "api",
            "check:run",
            "legal_duty",
        )
        assert log.purpose.endswith("（业务编号 YW-7，经办人 王科员）")
        assert log.returned == {
            "check_id": result.check_id,
            "verdict": result.verdict,
            "measures": [d["measure"] for d in result.decisions],
        }
