"""Check API, batch comparison and feedback through HTTP and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import issue_api_key
from xinyong.catalog.loader import parse_catalog_text
from xinyong.catalog.services import load_entries
from xinyong.cli.main import app as cli
from xinyong.queries.models import QueryLog
from xinyong.web.app import create_app

TEST_MEASURE = """
measures:
  - code: T_BLOCK_SERIOUS
    name: 测试：严重失信限制行政许可
    kind: punishment
    effect: block
    basis: 测试依据
    scenarios: [ADMIN_LICENSING]
    trigger: {min_grade: serious}
"""


@pytest.fixture()
def setup(session: Session) -> dict[str, str]:
    load_entries(session, parse_catalog_text(TEST_MEASURE, "test"), "test")
    dept = factories.department(session, code="CHK")
    other = factories.department(session, code="CHK2")
    bad = factories.resident_id()
    row = factories.penalty_row(id_number=bad, dept=dept, category="行政拘留")  # serious
    assert factories.submit_rows(session, [row]).accepted == 1
    session.commit()
    return {
        "dept": issue_api_key(session, KeyRole.DEPARTMENT, "d", dept),
        "other": issue_api_key(session, KeyRole.DEPARTMENT, "o", other),
        "bad": bad,
    }


@pytest.fixture()
def client(session: Session) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def post_check(client: TestClient, key: str, number: str, scenario: str = "ADMIN_LICENSING"):
    return client.post(
        "/api/v1/checks",
        json={
            "id_number": number,
            "scenario": scenario,
            "operator": "王科员",
            "business_ref": "XK-1",
        },
        headers={"Authorization": f"Bearer {key}"},
    )


def test_check_blocks_and_explains_then_feedback(
    client: TestClient, setup: dict[str, str], session: Session
) -> None:
    resp = post_check(client, setup["dept"], setup["bad"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["verdict"] == "blocked"
    decision = next(d for d in body["decisions"] if d["measure"] == "T_BLOCK_SERIOUS")
    assert decision["basis"] == "测试依据"
    assert "严重" in decision["triggers"][0]["text"]
    assert setup["bad"] not in resp.text
    logged = session.scalar(
        select(func.count()).select_from(QueryLog).where(QueryLog.action == "check:run")
    )
    assert logged == 1

    fb = client.post(
        f"/api/v1/checks/{body['check_id']}/feedback",
        json={"measure": "T_BLOCK_SERIOUS", "applied": True, "outcome": "不予许可"},
        headers={"Authorization": f"Bearer {setup['dept']}"},
    )
    assert fb.status_code == 200, fb.text
    again = client.post(  # the same feedback sent twice (a retry) is counted once
        f"/api/v1/checks/{body['check_id']}/feedback",
        json={"measure": "T_BLOCK_SERIOUS", "applied": True, "outcome": "不予许可"},
        headers={"Authorization": f"Bearer {setup['dept']}"},
    )
    assert again.status_code == 200 and again.json()["id"] == fb.json()["id"]
    from xinyong.measures.services import feedback_statistics
    from xinyong.statistics.figures import measures_applied

    [line] = [r for r in feedback_statistics(session) if r["measure"] == "T_BLOCK_SERIOUS"]
    assert (line["feedback"], line["applied"]) == (1, 1)
    assert measures_applied(session).values["实施次数"] == [1]
    corrected = client.post(  # a correction replaces the earlier answer in the counts
        f"/api/v1/checks/{body['check_id']}/feedback",
        json={"measure": "T_BLOCK_SERIOUS", "applied": False, "outcome": "申请人撤回申请"},
        headers={"Authorization": f"Bearer {setup['dept']}"},
    )
    assert corrected.status_code == 200 and corrected.json()["id"] != fb.json()["id"]
    [line] = [r for r in feedback_statistics(session) if r["measure"] == "T_BLOCK_SERIOUS"]
    assert (line["feedback"], line["applied"]) == (1, 0)
    other = client.post(
        f"/api/v1/checks/{body['check_id']}/feedback",
        json={"measure": "T_BLOCK_SERIOUS", "applied": True, "outcome": "x"},
        headers={"Authorization": f"Bearer {setup['other']}"},
    )
    assert other.status_code == 404 and other.json()["error"]["code"] == "check_not_found"


def test_unknown_person_scenario_and_bad_number(client: TestClient, setup: dict[str, str]) -> None:
    unknown = post_check(client, setup["dept"], factories.resident_id())
    assert unknown.status_code == 200
    assert unknown.json()["verdict"] == "clear" and unknown.json()["decisions"] == []
    scenario = post_check(client, setup["dept"], setup["bad"], scenario="NOPE")
    assert scenario.status_code == 422 and scenario.json()["error"]["code"] == "unknown_scenario"
    malformed = post_check(client, setup["dept"], "12345")
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"].startswith("id_")
    no_key = client.post("/api/v1/checks", json={})
    assert no_key.status_code == 401


def test_batch_comparison_over_http(client: TestClient, setup: dict[str, str]) -> None:
    csv_text = "姓名,证件号码\n甲,{bad}\n乙,{clean}\n丙,123\n".format(
        bad=setup["bad"], clean=factories.resident_id()
    )
    resp = client.post(
        "/api/v1/checks/batches",
        data={"scenario": "ADMIN_LICENSING", "operator": "王科员"},
        files={"file": ("名单.csv", csv_text.encode("gbk"), "text/csv")},
        headers={"Authorization": f"Bearer {setup['dept']}"},
    )
    assert resp.status_code == 200, resp.text
    summary = json.loads(resp.headers["X-Batch-Summary"])
    assert (summary["total"], summary["blocked"], summary["clear"], summary["invalid"]) == (
        3,
        1,
        1,
        1,
    )
    book = CalamineWorkbook.from_filelike(io.BytesIO(resp.content))
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][-4:] == ["核查结论", "适用措施", "原因", "核查说明"]
    assert rows[1][3] == "拦截" and "测试" in rows[1][4]
    assert rows[3][3] == "无效" and "18 位" in rows[3][6]


def test_batch_comparison_cli(setup: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"证件号码\n{setup['bad']}\n", encoding="utf-8")
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(
        cli,
        [
            "check",
            "--file",
            str(source),
            "--scenario",
            "ADMIN_LICENSING",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["blocked"] == 1
    assert out.exists() and out.stat().st_size > 0
    single = CliRunner().invoke(
        cli, ["check", setup["bad"], "--scenario", "ADMIN_LICENSING", "--json"]
    )
    assert single.exit_code == 0 and json.loads(single.stdout)["verdict"] == "blocked"


def test_a_revoked_key_is_refused_once_its_cached_authentication_lapses(
    client: TestClient, setup: dict[str, str], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinyong.accounts.models import ApiKey
    from xinyong.db import utcnow
    from xinyong.web.api import checks

    assert post_check(client, setup["dept"], setup["bad"]).status_code == 200
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == setup["dept"][:10])).one()
    key.revoked_at = utcnow()
    session.commit()
    monkeypatch.setattr(checks, "AUTH_TTL_SECONDS", 0.0)
    refused = post_check(client, setup["dept"], setup["bad"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"


def test_batch_comparison_logs_every_hit(
    setup: dict[str, str], session: Session, tmp_path: Path
) -> None:
    from xinyong.measures.models import Check

    source = tmp_path / "in.csv"
    clean = factories.resident_id()
    source.write_text(f"证件号码\n{setup['bad']}\n{clean}\n{setup['bad']}\n", encoding="utf-8")
    before = session.scalar(select(func.count()).select_from(QueryLog))
    result = CliRunner().invoke(
        cli,
        [
            "check",
            "--file",
            str(source),
            "--scenario",
            "ADMIN_LICENSING",
            "--out",
            str(tmp_path / "out.xlsx"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    batch = session.scalars(select(Check).where(Check.batch_ref == summary["batch_ref"])).one()
    logs = session.scalars(
        select(QueryLog).where(QueryLog.action == "check:batch").order_by(QueryLog.id)
    ).all()
    assert session.scalar(select(func.count()).select_from(QueryLog)) == before + 2
    assert len(logs) >= 2
    for log in logs[-2:]:
        assert log.returned == {
            "check_id": batch.id,
            "verdict": "blocked",
            "measures": log.returned["measures"],
        }
        assert "T_BLOCK_SERIOUS" in log.returned["measures"]
        assert log.basis == "legal_duty" and log.channel == "cli"
        assert log.purpose.endswith(f"（批量比对 {summary['batch_ref']}）")


def test_fifteen_digit_number_is_checked_compared_and_looked_up_as_its_eighteen(
    client: TestClient, setup: dict[str, str], session: Session
) -> None:
    """The pre-1999 form of the same person's number finds the same archive everywhere."""
    number = factories.resident_id(birth=dt.date(1968, 8, 8))
    row = factories.penalty_row(id_number=number[:6] + number[8:17], category="行政拘留")
    result = factories.submit_rows(session, [row], department_code="CHK")
    assert result.accepted == 1 and result.notes[0].code == "id_converted"
    session.commit()
    old = number[:6] + number[8:17]

    check = post_check(client, setup["dept"], old)
    assert check.status_code == 200, check.text
    assert check.json()["verdict"] == "blocked"
    assert post_check(client, setup["dept"], number).json()["verdict"] == "blocked"

    csv_text = f"姓名,证件号码\n甲,{old}\n乙,{number}\n"
    resp = client.post(
        "/api/v1/checks/batches",
        data={"scenario": "ADMIN_LICENSING", "operator": "王科员"},
        files={"file": ("名单.csv", csv_text.encode("gbk"), "text/csv")},
        headers={"Authorization": f"Bearer {setup['dept']}"},
    )
    assert resp.status_code == 200, resp.text
    summary = json.loads(resp.headers["X-Batch-Summary"])
    assert (summary["total"], summary["blocked"], summary["invalid"]) == (2, 2, 0)

    admin = issue_api_key(session, KeyRole.ADMIN, "a")
    session.commit()
    found = client.post(
        "/api/v1/subjects/lookup",
        json={"id_number": old},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert found.status_code == 200, found.text
    by_new = client.post(
        "/api/v1/subjects/lookup",
        json={"id_number": number},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert found.json()["id"] == by_new.json()["id"]
    assert old not in found.text and number not in found.text


def test_lookup_by_passport_finds_the_person(
    client: TestClient, setup: dict[str, str], session: Session
) -> None:
    number = factories.resident_id()
    row = factories.generic_row(
        "SGS_LICENSE", session=session, id_number="K87654321", name="林一", 证件类型="港澳居民来往内地通行证",
        身份证号=number,
    )  # fmt: skip
    assert factories.submit_rows(session, [row], department_code="CHK").accepted == 1
    admin = issue_api_key(session, KeyRole.ADMIN, "a")
    session.commit()
    headers = {"Authorization": f"Bearer {admin}"}
    by_permit = client.post(
        "/api/v1/subjects/lookup",
        json={"id_number": "K87654321", "id_type": "港澳居民来往内地通行证"},
        headers=headers,
    )
    by_number = client.post("/api/v1/subjects/lookup", json={"id_number": number}, headers=headers)
    assert by_permit.status_code == 200, by_permit.text
    assert by_permit.json()["id"] == by_number.json()["id"]


def test_check_by_a_linked_permit_answers_for_the_person(
    client: TestClient, setup: dict[str, str], session: Session
) -> None:
    number = factories.resident_id()
    rows = [
        factories.penalty_row(id_number=number, category="行政拘留"),  # serious
        factories.generic_row(
            "SGS_LICENSE", session=session, id_number="H1234567", name="林二",
            证件类型="港澳居民来往内地通行证", 身份证号=number,
        ),
    ]  # fmt: skip
    for row in rows:
        assert factories.submit_rows(session, [row], department_code="CHK").accepted == 1
    session.commit()
    resp = client.post(
        "/api/v1/checks",
        json={"id_number": "H1234567", "id_type": "港澳居民来往内地通行证",
              "scenario": "ADMIN_LICENSING", "operator": "王科员", "business_ref": "XK-9"},
        headers={"Authorization": f"Bearer {setup['dept']}"},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert resp.json()["verdict"] == "blocked"


def test_a_logged_in_clerk_checks_by_session_cookie_as_with_the_api_key(
    client: TestClient, setup: dict[str, str], session: Session
) -> None:
    """The check route resolves a browser session as every route does (web.deps): a
    department clerk logged in gets the API key's answer; the cookie alone, without the
    session's CSRF token, is refused; an ended session is not logged in."""
    from xinyong.accounts.models import SessionKind
    from xinyong.accounts.services import close_session, create_user, open_session

    clerk = create_user(
        session,
        username="chk_clerk",
        password="Clerk-pass-2024!",
        role="clerk",
        department_code="CHK",
    )
    opened = open_session(session, clerk, SessionKind.COOKIE)
    session.commit()
    body = {
        "id_number": setup["bad"],
        "scenario": "ADMIN_LICENSING",
        "operator": "王科员",
        "business_ref": "XK-1",
    }
    by_key = post_check(client, setup["dept"], setup["bad"])
    client.cookies.set("xy_session", opened.token)
    by_cookie = client.post(
        "/api/v1/checks", json=body, headers={"X-CSRF-Token": opened.csrf_token}
    )
    assert by_key.status_code == by_cookie.status_code == 200, by_cookie.text
    assert by_cookie.json()["check_id"] != by_key.json()["check_id"]
    same = ("verdict", "verdict_name", "decisions")
    assert {k: by_cookie.json()[k] for k in same} == {k: by_key.json()[k] for k in same}

    no_csrf = client.post("/api/v1/checks", json=body)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/v1/checks", json=body, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "csrf_failed"

    close_session(session, opened.token)
    session.commit()
    ended = client.post("/api/v1/checks", json=body, headers={"X-CSRF-Token": opened.csrf_token})
    assert ended.status_code == 401
    client.cookies.clear()
