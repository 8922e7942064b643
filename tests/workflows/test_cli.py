"""The workflow commands end to end, with --json: object → correct; check → apply →
department → office → repaired."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.workflows.conftest import TODAY, submit_record
from xinyong.catalog.models import Department
from xinyong.cli.main import app
from xinyong.records.models import Record

runner = CliRunner()


def run(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_objection_commands(session: Session, dept: Department) -> None:
    case = submit_record(session, dept, "RUMOUR_SPREADING")
    session.commit()
    filed = run("objection", "file", str(case.record.id), "--reason", "处罚对象有误")
    assert filed["state"] == "filed" and filed["record_state"] == "disputed"
    oid = str(filed["id"])
    refused = runner.invoke(
        app,
        [
            "objection",
            "decide",
            oid,
            "--outcome",
            "revoked",
            "--reason",
            "x",
            "--department",
            "NOPE",
        ],
    )
    assert refused.exit_code == 1 and "未登记" in refused.output
    accepted = run("objection", "accept", oid, "--department", dept.code)
    assert accepted["state"] == "accepted"
    decided = run(
        "objection",
        "decide",
        oid,
        "--outcome",
        "corrected",
        "--reason",
        "经核实情节轻微",
        "--grade",
        "轻微",
        "--department",
        dept.code,
    )
    assert decided["state"] == "corrected" and decided["corrections"] == {"grade": "轻微"}
    session.expire_all()
    record = session.get(Record, case.record.id)
    assert record is not None and (record.state, record.grade, record.version) == (
        "active",
        "minor",
        2,
    )
    again = runner.invoke(app, ["objection", "decide", oid, "--outcome", "upheld", "--reason", "x"])
    assert again.exit_code == 1 and "已更正" in again.output
    shown = run("objection", "show", oid)
    assert [h["action"] for h in shown["history"]] == ["file", "accept", "correct"]
    assert any(o["id"] == filed["id"] for o in run("objection", "list"))


def test_repair_commands(session: Session, dept: Department, tmp_path: Path) -> None:
    case = submit_record(session, dept, "RUMOUR_SPREADING", decided=TODAY - dt.timedelta(days=150))
    fresh = submit_record(session, dept, "RUMOUR_SPREADING")
    session.commit()
    early = run("repair", "check", str(fresh.record.id))
    assert early["eligible"] is False and early["eligible_from"]
    text = runner.invoke(app, ["repair", "check", str(fresh.record.id)])
    assert (
        text.exit_code == 0
        and "起可申请信用修复" in text.output
        and "最短公示期未满" in text.output
    )
    assert run("repair", "check", str(case.record.id))["eligible"] is True
    receipt = tmp_path / "缴款凭证.pdf"
    receipt.write_bytes(b"%PDF-1.4 receipt")
    applied = run(
        "repair", "apply", str(case.record.id), "--method", "志愿服务", "--evidence", str(receipt)
    )
    assert applied["state"] == "submitted" and applied["evidence"][0]["filename"] == "缴款凭证.pdf"
    aid = str(applied["id"])
    office_first = runner.invoke(app, ["repair", "decide", aid, "--approve", "--reason", "同意"])
    assert office_first.exit_code == 1 and "无权" in office_first.output
    dept_ok = run(
        "repair", "decide", aid, "--approve", "--reason", "已履行", "--department", dept.code
    )
    assert dept_ok["state"] == "dept_approved"
    final = run("repair", "decide", aid, "--approve", "--reason", "复核同意")
    assert (final["state"], final["record_state"]) == ("approved", "repaired")
    bad = runner.invoke(app, ["repair", "apply", str(fresh.record.id), "--method", "履约"])
    assert bad.exit_code == 1 and "最短公示期未满" in bad.output
    assert run("notices", "send")["sent"] >= 1


def test_notices_send_empties_the_queue_or_stops_at_the_limit(
    session: Session, dept: Department
) -> None:
    from sqlalchemy import func, select

    from xinyong.notices.models import Notice

    case = submit_record(session, dept, "RUMOUR_SPREADING")
    session.add_all(
        Notice(
            subject_id=case.subject_id,
            kind="test:bulk",
            title="告知",
            body=f"第 {n} 条",
            dedupe_key=f"test:bulk:{n}",
        )
        for n in range(2300)
    )
    session.commit()
    queued = session.scalar(
        select(func.count()).select_from(Notice).where(Notice.status == "queued")
    )
    assert queued is not None and queued >= 2300
    first = run("notices", "send", "--limit", "1200")
    assert first == {"sent": 1200, "remaining": queued - 1200}
    text = runner.invoke(app, ["notices", "send"])
    assert text.exit_code == 0, text.output
    assert (
        f"已发送 {queued - 1200} 条通知，尚有 0 条待发" in text.stdout
    )  # more than one batch of 1000
    session.expire_all()
    assert (
        session.scalar(select(func.count()).select_from(Notice).where(Notice.status == "queued"))
        == 0
    )
