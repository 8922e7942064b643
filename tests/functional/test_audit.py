"""The audit trail end to end: what requests leave in it (even when they fail), alerts for
auditors over the API and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.functional.conftest import PASSWORD, World
from tests.functional.test_accounts import grant, query
from xinyong.audit.models import AuditEvent
from xinyong.audit.services import head_of, verify
from xinyong.cli.main import app

runner = CliRunner()


def actions_since(session: Session, seq: int) -> list[tuple[str, str]]:
    session.expire_all()
    return [
        (e.action, e.actor)
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
        )
    ]


def test_login_failures_and_successes_are_audited(
    https_client: TestClient, world: World, session: Session
) -> None:
    start = head_of(session)[0]
    bad = https_client.post("/api/v1/auth/token", json={"username": "clerk1", "password": "x"})
    assert bad.status_code == 401  # the request failed, its failure event stays
    https_client.post("/api/v1/auth/token", json={"username": "ghost1", "password": "x"})
    https_client.post("/api/v1/auth/token", json={"username": "clerk1", "password": PASSWORD})
    assert actions_since(session, start) == [
        ("accounts:login:failed", "user:clerk1"),
        ("accounts:login:failed", "user:ghost1"),
        ("accounts:login:succeeded", "user:clerk1"),
    ]


def test_refused_authorized_query_is_audited_despite_the_error(
    https_client: TestClient, world: World, session: Session
) -> None:
    start = head_of(session)[0]
    refused = query(https_client, world, 999_999)
    assert refused.status_code == 403
    other = query(https_client, world, grant(https_client, world)["id"], "lists")
    assert other.status_code == 403  # scope not granted
    events = [
        e
        for e in session.scalars(select(AuditEvent).where(AuditEvent.seq > start))
        if e.action == "query:authorization:refused"
    ]
    assert [json.loads(e.details)["reason"] for e in events] == [
        "authorization_not_found",
        "authorization_out_of_scope",
    ]
    assert all(e.actor == "user:bank1" and e.organisation == "测试银行" for e in events)


def test_check_and_feedback_are_audited(
    https_client: TestClient, world: World, session: Session
) -> None:
    start = head_of(session)[0]
    body = {
        "id_number": world.person_number,
        "scenario": "ADMIN_LICENSING",
        "operator": "王经办",
        "business_ref": "XK-9",
    }
    assert https_client.post("/api/v1/checks", json=body, headers=world.auth("clerk")).is_success
    body["id_number"] = "110101199001011237"
    assert https_client.post("/api/v1/checks", json=body, headers=world.auth("clerk")).is_success
    acted = [a for a, _ in actions_since(session, start)]
    assert acted == ["query:check:run", "query:check:not_found"]
    run = session.scalar(
        select(AuditEvent).where(AuditEvent.seq > start, AuditEvent.action == "query:check:run")
    )
    assert run is not None
    assert (run.target_type, run.target_id, run.basis) == (
        "subject",
        str(world.subject_id),
        "legal_duty",
    )
    assert "110101199001011237" not in str(session.execute(select(AuditEvent.details)).all())


def test_alerts_over_the_api(https_client: TestClient, world: World, session: Session) -> None:
    for _ in range(5):
        assert query(https_client, world, 999_999).status_code == 403
    scanned = runner.invoke(app, ["audit", "scan", "--json"])
    assert scanned.exit_code == 0, scanned.output
    assert len(json.loads(scanned.output)["raised"]) >= 1
    again = runner.invoke(app, ["audit", "scan", "--json"])
    assert json.loads(again.output)["raised"] == []  # idempotent

    listed = https_client.get("/api/v1/audit/alerts", headers=world.auth("auditor"))
    assert listed.status_code == 200
    alert = next(a for a in listed.json() if a["rule"] == "refused_queries")
    assert alert["actor"] == "user:bank1" and alert["rule_name"] == "多次查询被拒"
    assert "5 次查询被拒绝" in alert["message"]

    no_note = https_client.post(
        f"/api/v1/audit/alerts/{alert['id']}/acknowledge",
        json={"note": ""},
        headers=world.auth("auditor"),
    )
    assert no_note.status_code == 422
    acked = https_client.post(
        f"/api/v1/audit/alerts/{alert['id']}/acknowledge",
        json={"note": "已核实：机构系统配置错误，已通知整改"},
        headers=world.auth("auditor"),
    )
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "user:auditor1"
    still_open = https_client.get("/api/v1/audit/alerts", headers=world.auth("auditor")).json()
    assert alert["id"] not in [a["id"] for a in still_open]

    trail = https_client.get(
        "/api/v1/audit/events", params={"action": "audit:"}, headers=world.auth("auditor")
    ).json()
    acted = {e["action"] for e in trail}
    assert {"audit:alert:raised", "audit:alert:acknowledged", "audit:alerts:viewed"} <= acted
    named = {e["action"]: e["action_name"] for e in trail}
    assert (named["audit:alert:raised"], named["audit:alert:acknowledged"]) == (
        "产生告警",
        "确认告警",
    )
    check = https_client.get("/api/v1/audit/verification", headers=world.auth("auditor"))
    assert check.json()["ok"] is True


def test_nobody_acknowledges_an_alert_about_themselves(
    https_client: TestClient, world: World, session: Session
) -> None:
    from xinyong.actors import Actor, Role
    from xinyong.audit.alerts import acknowledge
    from xinyong.audit.models import AuditAlert
    from xinyong.db import utcnow
    from xinyong.errors import Forbidden

    alert = AuditAlert(
        fingerprint="test|user:auditor1|x",
        rule="off_hours",
        severity="low",
        actor="user:auditor1",
        window_start=utcnow(),
        window_end=utcnow(),
        message="测试",
        evidence={},
    )
    session.add(alert)
    session.flush()
    try:
        acknowledge(session, Actor(name="user:auditor1", role=Role.AUDITOR), alert.id, "我自己")
    except Forbidden as exc:
        assert exc.code == "own_alert"
    else:  # pragma: no cover
        raise AssertionError("acknowledged an alert about oneself")


def test_cli_verify_anchor_and_tamper(session: Session, tmp_path: Path, world: World) -> None:
    from xinyong.audit.anchors import generate_key_pair

    pair = generate_key_pair()
    env = {"XINYONG_AUDIT_SIGNING_KEY": pair.private}
    import os

    from xinyong.config import get_settings

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        ok = runner.invoke(app, ["audit", "verify"])
        assert ok.exit_code == 0 and "审计链完整" in ok.output
        signed = runner.invoke(app, ["audit", "anchor", "--out", str(tmp_path)])
        assert signed.exit_code == 0, signed.output
        checked = runner.invoke(app, ["audit", "verify", "--anchors", str(tmp_path), "--json"])
        assert checked.exit_code == 0 and json.loads(checked.output)["anchors"] == 1
        from sqlalchemy import text

        seq = head_of(session)[0] - 1
        session.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = :s"), {"s": seq})
        session.commit()
        broken = runner.invoke(app, ["audit", "verify"])
        assert broken.exit_code == 3
        assert f"第 {seq} 号事件" in broken.output and "篡改" in broken.output
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
    assert not verify(session).ok


def test_account_and_authorization_changes_are_audited(
    https_client: TestClient, world: World, session: Session
) -> None:
    start = head_of(session)[0]
    created = https_client.post(
        "/api/v1/users",
        json={"username": "newclerk", "password": PASSWORD, "role": "clerk", "department": "WDEPT"},
        headers=world.auth("admin"),
    )
    assert created.status_code == 201, created.text
    assert https_client.post(
        "/api/v1/users/newclerk/disable", headers=world.auth("admin")
    ).is_success
    auth_id = grant(https_client, world)["id"]
    assert https_client.post(
        f"/api/v1/me/authorizations/{auth_id}/revoke", headers=world.auth("person")
    ).is_success
    acted = actions_since(session, start)
    assert ("accounts:user:created", "user:admin1") in acted
    assert ("accounts:user:disabled", "user:admin1") in acted
    assert ("authorizations:authorization:granted", "user:linxiaoman") in acted
    assert ("authorizations:authorization:revoked", "user:linxiaoman") in acted
    assert verify(session).ok


def test_anchor_verifies_the_chain_first_and_refuses_to_sign_a_broken_one(
    session: Session, tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from xinyong.audit.anchors import generate_key_pair
    from xinyong.config import get_settings

    monkeypatch.setenv("XINYONG_AUDIT_SIGNING_KEY", generate_key_pair().private)
    get_settings.cache_clear()
    try:
        first = runner.invoke(app, ["audit", "anchor", "--out", str(tmp_path)])
        assert first.exit_code == 0 and "全链" in first.output, first.output
        runner.invoke(app, ["audit", "events", "--limit", "1"])  # more events after the anchor
        second = runner.invoke(app, ["audit", "anchor", "--out", str(tmp_path)])
        assert second.exit_code == 0 and "上一个锚点" in second.output, second.output
        anchors = sorted(tmp_path.glob("anchor-*.json"))
        assert len(anchors) == 2

        # An event after the last anchor altered: refused, naming it, nothing signed.
        seq = head_of(session)[0]  # 「audit:anchor:signed」, written after the signed head
        actor = session.scalar(select(AuditEvent.actor).where(AuditEvent.seq == seq))
        session.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = :s"), {"s": seq})
        session.commit()
        refused = runner.invoke(app, ["audit", "anchor", "--out", str(tmp_path)])
        assert refused.exit_code == 3
        assert "拒绝签名" in refused.output and f"第 {seq} 号事件" in refused.output
        assert sorted(tmp_path.glob("anchor-*.json")) == anchors
        session.execute(text("UPDATE audit_events SET actor = :a WHERE seq = :s"), {"a": actor, "s": seq})  # fmt: skip
        session.commit()

        # The anchored event rewritten with a recomputed hash: the chain no longer holds
        # the last anchor, refused too.
        anchored = json.loads(anchors[-1].read_text(encoding="utf-8"))["payload"]["seq"]
        session.execute(text("UPDATE audit_events SET hash = :h WHERE seq = :s"), {"h": "0" * 64, "s": anchored})  # fmt: skip
        session.commit()
        rewritten = runner.invoke(app, ["audit", "anchor", "--out", str(tmp_path)])
        assert rewritten.exit_code == 3
        assert f"第 {anchored} 号事件" in rewritten.output
        assert sorted(tmp_path.glob("anchor-*.json")) == anchors
    finally:
        get_settings.cache_clear()


def test_chain_check_over_the_api_is_bounded_and_goes_on_from_its_checkpoint(
    https_client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20 §1: however long the trail, one check reads at most a batch of events."""
    from xinyong.config import get_settings

    monkeypatch.setenv("XINYONG_AUDIT_VERIFY_BATCH", "5")
    get_settings.cache_clear()
    try:
        head = head_of(session)[0]
        assert head > 5  # the world's set-up alone writes more than a batch
        seen, answers = 0, []
        while True:
            answer = https_client.get("/api/v1/audit/verification", headers=world.auth("auditor"))
            assert answer.status_code == 200, answer.text
            data = answer.json()
            assert data["ok"] is True and data["rows_checked"] <= 5
            assert data["verified_through"] >= seen
            seen = data["verified_through"]
            answers.append(data)
            if data["complete"]:
                break
            assert len(answers) < 100
        assert answers[0]["verified_from"] == 0 and answers[0]["complete"] is False
        assert seen >= head
        again = https_client.get("/api/v1/audit/verification", headers=world.auth("auditor"))
        # From the last checkpoint: its event and the previous check's own record.
        assert again.json()["rows_checked"] == 2 and again.json()["complete"] is True
        too_many = https_client.get(
            "/api/v1/audit/verification", params={"latest": 6}, headers=world.auth("auditor")
        )
        assert too_many.status_code == 422
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
