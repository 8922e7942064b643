"""落实到人, the defence and the three-year status from the command line (``xinyong lists``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from xinyong.actors import cli_operator
from xinyong.cli.main import app
from xinyong.lists.models import ListEntry
from xinyong.lists.services import decide_blacklisting, notify_blacklisting
from xinyong.notices.models import Notice
from xinyong.records.models import Record

runner = CliRunner()
ADMIN = cli_operator("test")
TODAY = dt.date.today()
ACT = TODAY - dt.timedelta(days=20)  # factories.RECENT: the record's decision date


def _show(number: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["lists", "show", number, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_only_those_in_office_at_the_act_are_reached_each_with_their_own_defence(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    org_code = factories.credit_code_for(781_001)
    former, later, serving = (factories.resident_id() for _ in range(3))
    rows = [
        factories.penalty_row(
            name="丙建设有限公司", org_code=org_code, legal_rep=("赵前任", former), dept=dept,
            **{"罚款金额（万元）": "25"},
        ),
        *(
            factories.penalty_row(name=n, id_number=p, dept=dept, category="警告")
            for n, p in (("钱后任", later), ("孙在任", serving))
        ),
    ]  # fmt: skip
    assert factories.submit_rows(session, rows).accepted == 3
    session.commit()
    # Terms of office: the former representative left before the act, the later one came
    # after it; the responsible person was in office.
    terms = [
        [org_code, former, "--until", (ACT - dt.timedelta(days=1)).isoformat()],
        [org_code, later, "--role", "legal_representative", "--from", (ACT + dt.timedelta(days=1)).isoformat()],
        [org_code, serving, "--role", "responsible_person", "--from", "2020-01-01", "--until", (ACT + dt.timedelta(days=3)).isoformat()],
    ]  # fmt: skip
    for args in terms:
        result = runner.invoke(app, ["lists", "link", *args])
        assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["lists", "link", org_code, serving, "--from", "2026-02-01", "--until", "2026-01-01"])  # fmt: skip
    assert bad.exit_code == 1 and "早于" in bad.output

    org_record = session.scalars(select(Record).where(Record.grade == "serious")).one()
    entry = notify_blacklisting(
        session, ADMIN, org_record.id, reasons="拒不整改", basis="《条例》第十条", on=ACT
    )
    decide_blacklisting(session, ADMIN, entry.id, list_subject=True, on=TODAY)
    session.commit()

    assert [e for e in _show(former)["entries"] if e["list"] == "black"] == []
    assert [e for e in _show(later)["entries"] if e["list"] == "black"] == []
    reached = [e for e in _show(serving)["entries"] if e["list"] == "black"]
    assert len(reached) == 1
    child = reached[0]
    assert child["status"] == "notified" and child["organisation"] == "丙建设有限公司"
    assert (
        "所在组织（丙建设有限公司）被列入" in child["reasons"] and "相关责任人" in child["reasons"]
    )
    assert child["basis"] == "《条例》第十条"
    # Their own notice, their own deadline.
    notices = session.scalars(
        select(Notice).where(Notice.kind == "blacklist:notice", Notice.list_entry_id == child["id"])
    ).all()
    assert len(notices) == 1 and "陈述和申辩" in notices[0].body
    assert child["defence_until"] > TODAY.isoformat()

    # A defence handed in on paper is recorded by the office, with its evidence file.
    letter = tmp_path / "申辩书.pdf"
    letter.write_bytes(b"%PDF-1.4 paper defence")
    done = runner.invoke(
        app, ["lists", "defence", str(child["id"]), "--statement", "本人仅负责财务", "--file", str(letter)]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    no_review = runner.invoke(
        app, ["lists", "decide", str(child["id"]), "--list", "--reasons", "负有责任"]
    )
    assert no_review.exit_code == 1 and "审查和采纳" in no_review.output
    decided = runner.invoke(
        app,
        ["lists", "decide", str(child["id"]), "--withdraw", "--reasons", "不负直接责任",
         "--defence-review", "经核实，采纳"],
    )  # fmt: skip
    assert decided.exit_code == 0, decided.output
    shown = next(e for e in _show(serving)["entries"] if e["list"] == "black")
    assert shown["status"] == "withdrawn" and shown["decision_reasons"] == "不负直接责任"
    assert (
        shown["defence_review"] == "经核实，采纳" and shown["defence_statement"] == "本人仅负责财务"
    )
    assert shown["reasons"] == child["reasons"]  # the notice's reasons stay


def test_three_year_status_never_for_a_black_listed_person(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    old = (TODAY - dt.timedelta(days=4 * 366)).isoformat()
    factories.submit_rows(session, [factories.generic_row("MORAL_MODEL", session=session, id_number=number, 部门代码=dept.code)])  # fmt: skip
    session.commit()
    assert _show(number)["no_negative_record_three_years"] is True
    # A national list entry received through exchange has no record of ours.
    subject_id = session.scalars(select(Record.subject_id)).first()
    session.add(
        ListEntry(
            subject_id=subject_id, list_kind="black", status="listed", source="exchange",
            reasons="失信被执行人", basis="最高人民法院失信被执行人名单", start_date=dt.date.fromisoformat(old),
        )
    )  # fmt: skip
    session.commit()
    data = _show(number)
    assert data["no_negative_record_three_years"] is False
    result = runner.invoke(app, ["lists", "show", number])
    assert "连续三年以上无不良信用记录" not in result.stdout
