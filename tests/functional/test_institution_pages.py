"""The authorized institution's pages (授权查询机构), on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.functional.conftest import World
from tests.functional.test_web_pages import FULL_ID, _csrf, _login
from xinyong.audit.models import AuditEvent
from xinyong.identity.masking import mask_id_number


def _grant(client: TestClient, world: World, **terms: Any) -> int:
    body = {
        "institution_id": world.institution_id,
        "scope": ["archive", "score", "lists", "report"],
        "purpose": "credit",
        "valid_until": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        "repeated": True,
    } | terms
    resp = client.post("/api/v1/me/authorizations", json=body, headers=world.auth("person"))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _query(client: TestClient, page: str, authorization_id: int, kind: str, **extra: str) -> Any:
    data = {"csrf_token": _csrf(page), "authorization_id": str(authorization_id), "kind": kind}
    return client.post("/institution/query", data=data | extra)


def test_institution_sees_its_authorizations_and_queries_under_one(
    https_client: TestClient, world: World, session: Session
) -> None:
    granted = _grant(https_client, world)
    revoked = _grant(https_client, world, scope=["archive"], repeated=False)
    https_client.post(
        f"/api/v1/me/authorizations/{revoked}/revoke", headers=world.auth("person")
    ).raise_for_status()
    _login(https_client, "bank1")
    home = https_client.get("/institution")
    assert home.status_code == 200
    assert f"#{granted}" in home.text and "已撤回" in home.text and "有效" in home.text
    assert "林**" in home.text and "林小满" not in home.text

    archive = _query(https_client, home.text, granted, "archive")
    assert archive.status_code == 200 and "信用记录" in archive.text
    assert mask_id_number(world.person_number) in archive.text or "*" in archive.text
    assert world.person_number not in archive.text and not FULL_ID.search(archive.text)
    for kind, expected in (("score", "诚信积分"), ("lists", "红黑名单")):
        resp = _query(https_client, home.text, granted, kind)
        assert resp.status_code == 200 and expected in resp.text
    report = _query(https_client, home.text, granted, "report")
    assert report.status_code == 200 and "授权查询版" in report.text
    assert "/api/v1/reports/" in report.text

    # Every read is in the person's own query log, with the authorization.
    log = https_client.get("/api/v1/me/queries", headers=world.auth("person")).json()
    by_bank = [q for q in log if q["authorization_id"] == granted and q["kind"] == "query"]
    assert len(by_bank) >= 4 and all(q["organisation"] == "测试银行" for q in by_bank)


def test_refusals_come_back_in_chinese_and_are_audited(
    https_client: TestClient, world: World, session: Session
) -> None:
    revoked = _grant(https_client, world, scope=["archive"])
    https_client.post(
        f"/api/v1/me/authorizations/{revoked}/revoke", headers=world.auth("person")
    ).raise_for_status()
    score_only = _grant(https_client, world, scope=["score"])
    _login(https_client, "bank1")
    home = https_client.get("/institution").text
    refused = _query(https_client, home, revoked, "archive")
    assert refused.status_code == 403 and "查询被拒绝" in refused.text and "撤回" in refused.text
    out_of_scope = _query(https_client, home, score_only, "archive")
    assert out_of_scope.status_code == 403 and "查询被拒绝" in out_of_scope.text
    no_report = _query(https_client, home, score_only, "report")
    assert no_report.status_code == 403 and "查询被拒绝" in no_report.text
    wrong_person = _query(
        https_client, home, score_only, "score", id_number=world.person_number[:-4] + "0000"
    )
    assert wrong_person.status_code in (403, 422)
    assert _query(https_client, home, score_only, "nothing").status_code == 422
    session.expire_all()
    refusals = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "query:authorization:refused")
    ).all()
    assert len(refusals) >= 4
    log = https_client.get("/api/v1/me/queries", headers=world.auth("person")).json()
    # Nothing was read under them; the refused attempts are listed as refused.
    assert all(
        q["kind"] == "refused" for q in log if q["authorization_id"] in (revoked, score_only)
    )


def test_one_time_authorization_is_used_once(
    https_client: TestClient, world: World, session: Session
) -> None:
    once = _grant(https_client, world, scope=["score"], repeated=False)
    _login(https_client, "bank1")
    home = https_client.get("/institution").text
    assert _query(https_client, home, once, "score").status_code == 200
    again = _query(https_client, home, once, "score")
    assert again.status_code == 403 and "查询被拒绝" in again.text
    assert "已使用" in https_client.get("/institution").text


def test_another_institution_cannot_use_the_authorization(
    https_client: TestClient, world: World
) -> None:
    granted = _grant(https_client, world, institution_id=world.other_institution_id)
    _login(https_client, "bank1")
    home = https_client.get("/institution").text
    assert f"#{granted}" not in home
    resp = _query(https_client, home, granted, "score")
    assert resp.status_code == 403 and "查询被拒绝" in resp.text


def test_institution_pages_need_the_role_and_the_csrf_token(
    https_client: TestClient, world: World
) -> None:
    granted = _grant(https_client, world)
    _login(https_client, "clerk1")
    assert https_client.get("/institution").status_code == 403
    _login(https_client, "bank1")
    resp = https_client.post(
        "/institution/query", data={"authorization_id": str(granted), "kind": "score"}
    )
    assert resp.status_code == 403 and "防伪令牌" in resp.text
    https_client.cookies.clear()
    anonymous = https_client.get("/institution", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
