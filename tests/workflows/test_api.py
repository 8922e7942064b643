"""The workflow endpoints through FastAPI's test client: a person objects and applies for
repair, the department and the office decide; anonymous tip-offs are rate-limited."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.workflows.conftest import ADMIN, TODAY, Case, person, submit_record
from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import issue_api_key
from xinyong.actors import Actor
from xinyong.catalog.models import Department
from xinyong.config import get_settings
from xinyong.ratelimit import limiter
from xinyong.web import deps
from xinyong.web.app import create_app


class As:
    """Lets a test choose who is calling (a person's web login is built in parallel)."""

    actor: Actor = ADMIN


@pytest.fixture()
def client(session: Session) -> Iterator[TestClient]:
    As.actor = ADMIN
    app = create_app()
    app.dependency_overrides[deps.get_actor] = lambda: As.actor
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def case(session: Session, dept: Department) -> Case:
    case = submit_record(session, dept, "RUMOUR_SPREADING", decided=TODAY - dt.timedelta(days=150))
    session.commit()
    return case


def test_person_objects_and_department_decides(client: TestClient, case: Case) -> None:
    As.actor = case.person
    pdf = base64.b64encode(b"%PDF-1.4 proof").decode()
    resp = client.post(
        "/api/v1/objections",
        json={
            "record_id": case.record.id,
            "reason": "不是本人",
            "evidence": [{"filename": "证明.pdf", "content_base64": pdf}],
        },
    )
    assert resp.status_code == 201, resp.text
    objection = resp.json()
    assert objection["record_state"] == "disputed" and objection["evidence"][0]["size"] == 14
    assert [o["id"] for o in client.get("/api/v1/objections").json()] == [objection["id"]]
    evidence_id = objection["evidence"][0]["id"]
    download = client.get(f"/api/v1/evidence/{evidence_id}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 proof"
    assert download.headers["content-type"] == "application/pdf"
    As.actor = person(case.subject_id + 999)
    assert client.get(f"/api/v1/objections/{objection['id']}").status_code == 404
    assert (
        client.post(
            "/api/v1/objections", json={"record_id": case.record.id, "reason": "x"}
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/evidence/{evidence_id}").status_code == 404
    As.actor = case.reviewer
    assert client.get(f"/api/v1/evidence/{evidence_id}").status_code == 200
    resp = client.post(
        f"/api/v1/objections/{objection['id']}/decide",
        json={"outcome": "revoked", "reason": "身份识别错误"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "revoked"
    resp = client.post(
        f"/api/v1/objections/{objection['id']}/decide", json={"outcome": "upheld", "reason": "x"}
    )
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "invalid_transition"
    As.actor = case.person
    inbox = client.get("/api/v1/notices").json()
    decided = next(n for n in inbox if n["kind"] == "objection:revoked")
    assert "身份识别错误" in decided["body"] and not decided["read"]
    assert client.post(f"/api/v1/notices/{decided['id']}/read").json()["read"] is True
    assert all(n["id"] != decided["id"] for n in client.get("/api/v1/notices?unread=true").json())


def test_person_applies_for_repair_and_it_is_approved(client: TestClient, case: Case) -> None:
    As.actor = case.person
    check = client.get(f"/api/v1/records/{case.record.id}/repair-eligibility").json()
    assert check["eligible"] is True
    [option] = client.get("/api/v1/repair-options").json()
    assert (option["record_id"], option["eligible"]) == (case.record.id, True)
    resp = client.post(
        "/api/v1/repair-applications",
        json={
            "record_id": case.record.id,
            "method": "training",
            "statement": "已参加信用培训",
            "duties_performed": True,
            "commitment": True,
        },
    )
    assert resp.status_code == 201, resp.text
    app_id = resp.json()["id"]
    As.actor = case.reviewer
    assert (
        client.post(
            f"/api/v1/repair-applications/{app_id}/decide", json={"approve": True, "reason": "同意"}
        ).json()["state"]
        == "dept_approved"
    )
    As.actor = ADMIN
    done = client.post(
        f"/api/v1/repair-applications/{app_id}/decide", json={"approve": True, "reason": "复核同意"}
    ).json()
    assert (done["state"], done["record_state"]) == ("approved", "repaired")
    As.actor = case.person
    commitments = client.get("/api/v1/commitments").json()
    assert [c["kind_name"] for c in commitments] == ["信用修复型"]


def test_tipoffs_are_anonymous_tracked_and_rate_limited(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "tipoff_per_hour", 2)
    limiter.reset()
    body = {"about": "某商户", "content": "长期以次充好、虚假宣传，欺骗消费者。"}
    first = client.post("/api/v1/tipoffs", json=body)
    assert first.status_code == 201, first.text
    code = first.json()["tracking_code"]
    tracked = client.post("/api/v1/tipoffs/track", json={"code": code})
    assert tracked.json()["state_name"] == "已收到，待分派"
    assert client.post("/api/v1/tipoffs", json=body).status_code == 201
    limited = client.post("/api/v1/tipoffs", json=body)
    assert limited.status_code == 429 and "频繁" in limited.json()["error"]["message"]
    limiter.reset()
    monkeypatch.setattr(get_settings(), "evidence_max_bytes", 1024)
    big = base64.b64encode(b"%PDF-" + b"0" * 4000).decode()
    resp = client.post(
        "/api/v1/tipoffs",
        json={**body, "attachments": [{"filename": "a.pdf", "content_base64": big}]},
    )
    assert resp.status_code == 422 and "超过大小上限" in resp.json()["error"]["message"]


def test_real_api_keys_reach_the_workflows(session: Session, dept: Department) -> None:
    key = issue_api_key(session, KeyRole.DEPARTMENT, "dept", dept)
    session.commit()
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        resp = c.get("/api/v1/objections", headers={"Authorization": f"Bearer {key}"})
        assert resp.status_code == 200 and resp.json() == []
        assert c.get("/api/v1/objections").status_code == 401


def test_extending_into_a_year_without_a_schedule_answers_with_a_provisional_deadline(
    client: TestClient, case: Case
) -> None:
    # Issue 17: the extension answered 422 节假日日历尚未包含 2027 年 once it reached 2027.
    from xinyong.workdays import DEFAULT_CALENDAR

    As.actor = case.person
    filed = client.post(
        "/api/v1/objections", json={"record_id": case.record.id, "reason": "不是本人"}
    )
    assert filed.status_code == 201, filed.text
    As.actor = case.reviewer
    objection_id = filed.json()["id"]
    assert client.post(f"/api/v1/objections/{objection_id}/accept").status_code == 200
    resp = client.post(f"/api/v1/objections/{objection_id}/extend", json={"reason": "需调取档案"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    decide_by = dt.date.fromisoformat(body["decide_by"])
    assert decide_by == DEFAULT_CALENDAR.add_workdays(TODAY, 20)
    assert body["provisional"] is DEFAULT_CALENDAR.provisional_between(TODAY, decide_by)
    if TODAY.year == 2026 and decide_by.year == 2027:
        assert body["provisional"] is True


def test_a_commitment_is_not_found_broken_before_its_due_date(
    client: TestClient, case: Case, session: Session
) -> None:
    from xinyong.records.models import Record

    As.actor = case.person
    made = client.post(
        "/api/v1/commitments",
        json={
            "kind": "tolerance",
            "matter": "30日内补齐营业执照复印件",
            "department_code": case.dept.code,
            "due_on": (TODAY + dt.timedelta(days=30)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    commitment_id = made.json()["id"]
    As.actor = case.reviewer
    records_before = session.scalar(select(func.count()).select_from(Record))
    for outcome in ("unfulfilled", "partly"):
        early = client.post(
            f"/api/v1/commitments/{commitment_id}/assess",
            json={"outcome": outcome, "note": "尚未补齐"},
        )
        assert early.status_code == 409, early.text
        assert early.json()["error"]["code"] == "commitment_not_due"
        assert "期限届满前不能认定" in early.json()["error"]["message"]
    assert client.get(f"/api/v1/commitments/{commitment_id}").json()["state"] == "signed"
    assert session.scalar(select(func.count()).select_from(Record)) == records_before
    kept = client.post(  # kept early: fine
        f"/api/v1/commitments/{commitment_id}/assess",
        json={"outcome": "fulfilled", "note": "已补齐"},
    )
    assert kept.status_code == 200 and kept.json()["state"] == "fulfilled"
