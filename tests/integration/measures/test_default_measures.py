"""The default measures list end to end: records and lists submitted through the real
pipeline, a department's check (联合奖惩核查) answered from the archive, feedback recorded.
Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import Actor, cli_operator
from xinyong.catalog.models import Department
from xinyong.errors import InvalidInput, NotFound
from xinyong.identity.protection import protector_for
from xinyong.lists.models import ListEntry
from xinyong.lists.services import decide_blacklisting, notify_blacklisting
from xinyong.measures.models import Check, CheckFeedback
from xinyong.measures.services import CheckResult, add_feedback, run_check
from xinyong.records.models import Record
from xinyong.subjects.services import find_subject

TODAY = dt.date.today()
ADMIN = cli_operator("test")
HIGH_CONSUMPTION = "P_RESTRICT_HIGH_CONSUMPTION"


def actor_for(dept: Department) -> Actor:
    return Actor("apikey:t", "department", dept.id, dept.code)


def check(
    session: Session, actor: Actor, number: str, scenario: str, ref: str = "YW-1"
) -> CheckResult:
    return run_check(
        session,
        actor,
        protector_for(),
        id_number=number,
        scenario=scenario,
        operator="王科员",
        business_ref=ref,
    )


def decision(result: CheckResult, code: str) -> dict[str, Any] | None:
    return next((d for d in result.decisions if d["measure"] == code), None)


def records_of(session: Session, number: str) -> list[Record]:
    subject = find_subject(session, protector_for(), number)
    assert subject is not None
    return list(session.scalars(select(Record).where(Record.subject_id == subject.id)))


@pytest.fixture()
def dept(session: Session) -> Department:
    return factories.department(session)


@pytest.fixture()
def debtor(session: Session, dept: Department) -> dict[str, Any]:
    """A person the court has put on the 失信被执行人 list (a black-list item)."""
    number = factories.resident_id()
    row = factories.generic_row(
        "DISHONEST_JUDGMENT_DEBTOR",
        session=session,
        id_number=number,
        name="赵六",
        document="（2026）湘0102执1234号",
        部门代码=dept.code,
    )
    assert factories.submit_rows(session, [row]).accepted == 1
    [record] = records_of(session, number)
    return {"number": number, "record": record}


def test_judgment_debtor_is_blocked_from_high_consumption_with_the_reason(
    session: Session, dept: Department, debtor: dict[str, Any]
) -> None:
    record: Record = debtor["record"]
    assert record.state == "active" and record.grade == "serious"
    result = check(session, actor_for(dept), debtor["number"], "HIGH_CONSUMPTION")
    assert result.found
    assert result.verdict == "blocked"
    assert [d["measure"] for d in result.decisions] == [HIGH_CONSUMPTION]
    restricted = decision(result, HIGH_CONSUMPTION)
    assert restricted is not None
    assert restricted["kind"] == "punishment" and restricted["effect"] == "block"
    assert "最高人民法院关于限制被执行人高消费" in restricted["basis"]
    assert restricted["departments"]
    [trigger] = restricted["triggers"]
    assert trigger["kind"] == "record" and trigger["ref"] == record.id
    assert "失信被执行人" in trigger["text"] and "（2026）湘0102执1234号" in trigger["text"]
    assert trigger["via_organisation"] is None
    stored = session.get(Check, result.check_id)
    assert stored is not None
    assert (stored.verdict, stored.scenario, stored.department_id) == (
        "blocked",
        "HIGH_CONSUMPTION",
        dept.id,
    )
    assert stored.decisions[0]["measure"] == HIGH_CONSUMPTION
    # The same person in other scenarios: the black-list measures, each with its reason.
    for scenario, code, verdict in [
        ("CIVIL_SERVANT_RECRUITMENT", "P_RESTRICT_CIVIL_SERVICE", "blocked"),
        ("GOV_PROCUREMENT", "P_RESTRICT_PROCUREMENT", "blocked"),
        ("ADMIN_LICENSING", "P_RESTRICT_LICENSING", "restricted"),
    ]:
        other = check(session, actor_for(dept), debtor["number"], scenario)
        assert other.verdict == verdict, scenario
        listed = decision(other, code)
        assert listed is not None, scenario
        assert any(
            t["kind"] == "list" and "严重失信主体名单" in t["text"] for t in listed["triggers"]
        )
    # Discounts: no reward, and the 差别化服务 of the black-listed.
    discount = check(session, actor_for(dept), debtor["number"], "TOURIST_TICKET_DISCOUNT")
    assert discount.verdict == "restricted"
    assert [d["measure"] for d in discount.decisions] == ["P_DIFFERENTIATED_SERVICE"]


def test_disputed_record_no_longer_punishes(
    session: Session, dept: Department, debtor: dict[str, Any]
) -> None:
    record: Record = debtor["record"]
    assert check(session, actor_for(dept), debtor["number"], "HIGH_CONSUMPTION").verdict == (
        "blocked"
    )
    session.execute(update(Record).where(Record.id == record.id).values(state="disputed"))
    session.flush()
    result = check(session, actor_for(dept), debtor["number"], "HIGH_CONSUMPTION", ref="YW-2")
    assert result.found
    assert result.verdict != "blocked"
    assert decision(result, HIGH_CONSUMPTION) is None
    assert not [d for d in result.decisions if d["kind"] == "punishment"]
    assert result.verdict == "clear"


def test_list_entries_of_a_disputed_record_no_longer_punish(
    session: Session, dept: Department, debtor: dict[str, Any]
) -> None:
    """The black-list entry that a 失信被执行人 record created must not outlive the record's
    use: while the record is disputed no measure may rest on it."""
    record: Record = debtor["record"]
    entries = session.scalars(select(ListEntry).where(ListEntry.record_id == record.id)).all()
    assert [e.list_kind for e in entries] == ["black"]
    session.execute(update(Record).where(Record.id == record.id).values(state="disputed"))
    session.flush()
    result = check(session, actor_for(dept), debtor["number"], "CIVIL_SERVANT_RECRUITMENT")
    assert decision(result, "P_RESTRICT_CIVIL_SERVICE") is None
    assert result.verdict == "clear"


def test_unknown_person_is_clear_without_error(session: Session, dept: Department) -> None:
    result = check(session, actor_for(dept), factories.resident_id(), "HIGH_CONSUMPTION")
    assert (result.found, result.verdict, result.decisions) == (False, "clear", [])
    stored = session.get(Check, result.check_id)
    assert stored is not None and stored.subject_id is None and stored.verdict == "clear"
    assert result.as_dict()["verdict_name"] == "无措施"


def test_unknown_scenario_is_refused(
    session: Session, dept: Department, debtor: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput) as err:
        check(session, actor_for(dept), debtor["number"], "NO_SUCH_SCENARIO")
    assert err.value.code == "unknown_scenario"


def test_feedback_closes_the_loop(
    session: Session, dept: Department, debtor: dict[str, Any]
) -> None:
    actor = actor_for(dept)
    result = check(session, actor, debtor["number"], "HIGH_CONSUMPTION")
    feedback = add_feedback(
        session,
        actor,
        result.check_id,
        measure=HIGH_CONSUMPTION,
        applied=True,
        outcome="已拒绝购买软卧车票",
        note="经办人当场告知",
    )
    assert isinstance(feedback, CheckFeedback)
    assert (feedback.check_id, feedback.measure_code, feedback.applied) == (
        result.check_id,
        HIGH_CONSUMPTION,
        True,
    )
    assert feedback.department_id == dept.id
    other = actor_for(factories.department(session))
    with pytest.raises(NotFound) as err:
        add_feedback(
            session, other, result.check_id, measure=HIGH_CONSUMPTION, applied=True, outcome="x"
        )
    assert err.value.code == "check_not_found"
    with pytest.raises(InvalidInput) as err2:
        add_feedback(
            session,
            actor,
            result.check_id,
            measure="P_RESTRICT_CIVIL_SERVICE",  # in the list, but not in this check
            applied=False,
            outcome="未适用",
        )
    assert err2.value.code == "unknown_measure"


def test_black_listed_organisation_reaches_its_legal_representative(
    session: Session, dept: Department
) -> None:
    org_code = factories.credit_code_for(778_001)
    rep = factories.resident_id()
    row = factories.penalty_row(
        name="甲建材有限公司",
        org_code=org_code,
        legal_rep=("周九", rep),
        dept=dept,
        decided=(TODAY - dt.timedelta(days=60)).isoformat(),
        **{"罚款金额（万元）": "25"},
    )
    assert factories.submit_rows(session, [row]).accepted == 1
    org_record = session.scalars(
        select(Record).where(Record.department_id == dept.id).order_by(Record.id.desc())
    ).first()
    assert org_record is not None
    entry = notify_blacklisting(
        session,
        ADMIN,
        org_record.id,
        reasons="无证经营且拒不改正",
        basis="《条例》第十条",
        on=TODAY - dt.timedelta(days=50),
    )
    decide_blacklisting(
        session, ADMIN, entry.id, list_subject=True, on=TODAY - dt.timedelta(days=30)
    )
    # 落实到人: the legal representative, told on their own, is decided after their defence.
    for reached in session.scalars(select(ListEntry).where(ListEntry.parent_entry_id == entry.id)):
        decide_blacklisting(
            session, ADMIN, reached.id, list_subject=True, on=TODAY - dt.timedelta(days=15)
        )
    actor = actor_for(dept)

    result = check(session, actor, rep, "SOE_EXECUTIVE")
    assert result.verdict == "blocked"
    executive = decision(result, "P_RESTRICT_SOE_EXECUTIVE")
    assert executive is not None
    via = [t for t in executive["triggers"] if t["via_organisation"]]
    assert via and via[0]["via_organisation"] == "甲建材有限公司"
    assert via[0]["kind"] == "list" and via[0]["ref"] == entry.id
    assert "无证经营且拒不改正" in via[0]["text"]

    # A punishment not marked 落实到人 never cites the organisation.
    fiscal = check(session, actor, rep, "FISCAL_SUPPORT")
    unmarked = decision(fiscal, "P_RESTRICT_FISCAL_SUPPORT")
    assert unmarked is None or not any(t["via_organisation"] for t in unmarked["triggers"])


def test_judgment_debtor_company_reaches_its_legal_representative_in_high_consumption(
    session: Session, dept: Department
) -> None:
    rep = factories.resident_id()
    row = factories.generic_row(
        "DISHONEST_JUDGMENT_DEBTOR", session=session, name="乙商贸有限公司", 部门代码=dept.code
    )
    del row["证件类型"], row["证件号码"]
    row.update(
        {
            "行政相对人类别": "法人及非法人组织",
            "统一社会信用代码": factories.credit_code_for(778_002),
            "法定代表人": "吴十",
            "法定代表人证件类型": "身份证",
            "法定代表人证件号码": rep,
        }
    )
    result = factories.submit_rows(session, [row])
    assert result.accepted == 1, result.errors
    checked = check(session, actor_for(dept), rep, "HIGH_CONSUMPTION")
    assert checked.verdict == "blocked"
    restricted = decision(checked, HIGH_CONSUMPTION)
    assert restricted is not None
    assert [t["via_organisation"] for t in restricted["triggers"]] == ["乙商贸有限公司"]
    assert "失信被执行人" in restricted["triggers"][0]["text"]


def test_red_list_and_clean_history_ease_licensing(session: Session, dept: Department) -> None:
    number = factories.resident_id()
    row = factories.generic_row(
        "MORAL_MODEL", session=session, id_number=number, name="钱七", 部门代码=dept.code
    )
    assert factories.submit_rows(session, [row]).accepted == 1
    result = check(session, actor_for(dept), number, "ADMIN_LICENSING")
    assert result.verdict == "eased"
    codes = {d["measure"] for d in result.decisions}
    assert {"R_PRIORITY_HANDLING", "R_GREEN_CHANNEL", "R_ACCEPT_WITH_GAPS"} <= codes
    assert all(d["kind"] == "reward" for d in result.decisions)
    assert check(session, actor_for(dept), number, "HIGH_CONSUMPTION").verdict == "clear"
