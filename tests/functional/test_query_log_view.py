"""Department reads need a matter and business reference and are reviewed; the person's
query log reads as a person would (谁查询了我)."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from tests.functional.conftest import World
from tests.functional.test_accounts import grant, query
from tests.functional.test_web_pages import _login
from xinyong.audit.models import AuditEvent
from xinyong.cli.main import app
from xinyong.identity.protection import protector_for
from xinyong.queries.models import QueryLog
from xinyong.subjects.services import find_subject

runner = CliRunner()
MATTER = {"purpose": "行政许可审查", "reference": "许〔2026〕88号"}


def _stranger(session: Session) -> int:
    """A person the clerk's department has no record, check or procedure about."""
    other = factories.department(session, code="ODEPT", name="市税务局")
    number = factories.resident_id(seq=341)
    factories.submit_rows(
        session, [factories.penalty_row(name="吴无关", id_number=number, dept=other)]
    )
    session.commit()
    found = find_subject(session, protector_for(), number)
    assert found is not None
    return found.id


def test_department_reads_state_a_matter_and_unrelated_ones_are_flagged(
    https_client: TestClient, world: World, session: Session
) -> None:
    stranger = _stranger(session)
    clerk = world.auth("clerk")
    for params in ({}, {"purpose": "行政许可审查"}, {"reference": "许〔2026〕88号"}):
        refused = https_client.get(
            f"/api/v1/subjects/{stranger}/archive", params=params, headers=clerk
        )
        assert refused.status_code == 422, params
        assert "部门查询信用档案须写明" in refused.json()["error"]["message"]
    lists = https_client.get(f"/api/v1/subjects/{stranger}/lists", headers=clerk)
    assert lists.json()["error"]["code"] == "business_reference_required"
    assert session.scalars(select(QueryLog).where(QueryLog.subject_id == stranger)).all() == []

    assert https_client.get(
        f"/api/v1/subjects/{stranger}/archive", params=MATTER, headers=clerk
    ).is_success
    assert https_client.get(
        f"/api/v1/subjects/{world.subject_id}/archive", params=MATTER, headers=clerk
    ).is_success
    session.expire_all()
    logged = session.scalars(select(QueryLog).where(QueryLog.subject_id == stranger)).one()
    assert (logged.purpose, logged.reference) == ("行政许可审查", "许〔2026〕88号")
    events = {
        e.target_id: json.loads(e.details)
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "query:archive:view")
        )
    }
    assert events[str(stranger)]["unrelated"] is True
    assert "unrelated" not in events[str(world.subject_id)]  # its own record's person

    scanned = runner.invoke(app, ["audit", "scan", "--json"])
    assert scanned.exit_code == 0, scanned.output
    alerts = https_client.get("/api/v1/audit/alerts", headers=world.auth("auditor")).json()
    flagged = [a for a in alerts if a["rule"] == "unrelated_reads"]
    assert len(flagged) == 1 and flagged[0]["actor"] == "user:clerk1"
    assert flagged[0]["rule_name"] == "查询无业务关联的个人" and "1 名" in flagged[0]["message"]


def test_the_person_reads_who_queried_them_in_words(
    https_client: TestClient, world: World, session: Session
) -> None:
    clerk = world.auth("clerk")
    https_client.get(f"/api/v1/subjects/{world.subject_id}/archive", params=MATTER, headers=clerk)
    auth = grant(https_client, world, scope=["archive"])
    assert query(https_client, world, auth["id"]).status_code == 200
    assert query(https_client, world, auth["id"]).status_code == 403  # refused: used up
    for _ in range(3):
        https_client.get("/api/v1/me/archive", headers=world.auth("person"))
    runner.invoke(app, ["score", world.person_number])  # the credit office at its console

    log = https_client.get("/api/v1/me/queries", headers=world.auth("person")).json()
    kinds = [q["kind"] for q in log]
    assert kinds.count("own") == 1 and kinds.count("refused") == 1
    own = next(q for q in log if q["kind"] == "own")
    assert own["count"] == 3 and own["who"] == "本人"
    by_dept = next(q for q in log if q["who"] == "世界市场监管局")
    assert by_dept["action_name"] == "查看信用档案" and by_dept["purpose"] == "行政许可审查"
    assert "业务编号 许〔2026〕88号" in by_dept["basis_name"] and by_dept["basis_name"].startswith(
        "依法履职"
    )
    assert by_dept["queried_at"].endswith("+08:00") and by_dept["time"].endswith("（北京时间）")
    office = next(q for q in log if q["action_name"] == "查看信用评价")
    assert office["who"] == "示范市信用办"
    text = json.dumps(log, ensure_ascii=False)
    for code in ("user:", "cli:", "archive:view", "repair:options", "WDEPT"):
        assert code not in text

    _login(https_client, "linxiaoman")
    page = https_client.get("/me").text
    section = page[page.index('id="queries"') :]
    assert "世界市场监管局" in section and "测试银行" in section and "示范市信用办" in section
    assert "北京时间" in section and "被拒绝" in section and "一次性授权已使用过" in section
    assert "本人查看（共" in section
    assert not re.search(r"user:|cli:|[a-z]+:[a-z]+", section.split("</section>")[0])

    table = runner.invoke(app, ["queries", world.person_number])
    assert table.exit_code == 0
    assert (
        "北京时间" in table.stdout
        and "user:" not in table.stdout
        and "archive:" not in table.stdout
    )
    cli_rows = json.loads(runner.invoke(app, ["queries", world.person_number, "--json"]).stdout)
    assert {"世界市场监管局", "测试银行", "示范市信用办", "本人"} <= {q["who"] for q in cli_rows}
