"""Accounts, sessions, CSRF, authorizations and the query log, end to end over HTTP."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.functional.conftest import PASSWORD, World
from xinyong.accounts.models import KeyRole, LoginSession
from xinyong.accounts.services import ensure_institution, issue_api_key
from xinyong.db import utcnow

IN_30_DAYS = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def grant(client: TestClient, world: World, **terms: object) -> dict[str, object]:
    body: dict[str, object] = {
        "institution_id": world.institution_id,
        "scope": ["archive", "score"],
        "purpose": "credit",
        "valid_until": IN_30_DAYS,
    }
    body.update(terms)
    resp = client.post("/api/v1/me/authorizations", json=body, headers=world.auth("person"))
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def query(
    client: TestClient, world: World, auth_id: object, what: str = "archive", **extra: object
):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/authorized/{what}",
        json={"authorization_id": auth_id, **extra},
        headers=world.auth("institution"),
    )


def test_token_login_and_wrong_password(https_client: TestClient, world: World) -> None:
    ok = https_client.post("/api/v1/auth/token", json={"username": "clerk1", "password": PASSWORD})
    assert ok.status_code == 200 and ok.json()["role"] == "clerk"
    me = https_client.get("/api/v1/me", headers={"Authorization": f"Bearer {ok.json()['token']}"})
    assert me.json()["department"] == "WDEPT" and me.json()["role_name"] == "部门数据报送员"
    bad = https_client.post(
        "/api/v1/auth/token", json={"username": "clerk1", "password": "nope-nope-1"}
    )
    unknown = https_client.post(
        "/api/v1/auth/token", json={"username": "ghost", "password": "nope-nope-1"}
    )
    assert bad.status_code == unknown.status_code == 401
    assert (
        bad.json()["error"]["message"] == unknown.json()["error"]["message"] == "用户名或密码错误"
    )


def test_repeated_failures_lock_the_account(https_client: TestClient, world: World) -> None:
    for _ in range(5):
        https_client.post(
            "/api/v1/auth/token", json={"username": "auditor1", "password": "wrong-pass-1"}
        )
    locked = https_client.post(
        "/api/v1/auth/token", json={"username": "auditor1", "password": PASSWORD}
    )
    assert locked.status_code == 401
    assert locked.json()["error"]["code"] == "account_locked"


def test_expired_revoked_and_forged_tokens_are_refused(
    https_client: TestClient, world: World, session: Session
) -> None:
    forged = https_client.get("/api/v1/me", headers={"Authorization": "Bearer xs_forged"})
    assert forged.json()["error"]["code"] == "invalid_session"
    session.execute(update(LoginSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    session.commit()
    expired = https_client.get("/api/v1/me", headers=world.auth("clerk"))
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "session_expired"


def test_logout_ends_the_bearer_token(https_client: TestClient, world: World) -> None:
    assert (
        https_client.post("/api/v1/auth/logout", headers=world.auth("auditor")).status_code == 204
    )
    after = https_client.get("/api/v1/me", headers=world.auth("auditor"))
    assert after.json()["error"]["code"] == "session_revoked"


def test_register_needs_real_name(https_client: TestClient, world: World) -> None:
    from tests import factories

    body = {
        "id_number": factories.resident_id(seq=555),
        "name": "无档案",
        "username": "nobody",
        "password": PASSWORD,
    }
    # The demo verifier accepts only people of the archive.
    assert (
        https_client.post("/api/v1/auth/register", json=body).json()["error"]["code"]
        == "realname_failed"
    )
    wrong_name = {**body, "id_number": world.person_number, "name": "冒名者", "username": "faker"}
    assert https_client.post("/api/v1/auth/register", json=wrong_name).status_code == 403
    again = {
        **body,
        "id_number": world.person_number,
        "name": world.person_name,
        "username": "second",
    }
    dup = https_client.post("/api/v1/auth/register", json=again)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "person_already_registered"
    assert world.person_number not in dup.text


def test_person_sees_own_archive_and_the_read_is_logged(
    https_client: TestClient, world: World
) -> None:
    archive = https_client.get("/api/v1/me/archive", headers=world.auth("person"))
    assert archive.status_code == 200
    assert archive.json()["subject"]["id_number"] == world.person_number  # in full, to the person
    assert len(archive.json()["records"]) == 1
    log = https_client.get("/api/v1/me/queries", headers=world.auth("person")).json()
    # The person's own views are folded into one line.
    assert (
        log[0]["kind"] == "own" and log[0]["who"] == "本人" and log[0]["basis_name"] == "本人查询"
    )
    assert log[0]["count"] >= 1 and "已折叠" in log[0]["action_name"]
    # Only persons have a personal archive.
    assert https_client.get("/api/v1/me/archive", headers=world.auth("admin")).status_code == 403


def test_institution_queries_only_while_authorized(https_client: TestClient, world: World) -> None:
    # No authorization: refused with the reason.
    refused = query(https_client, world, 999999)
    assert (
        refused.status_code == 403 and refused.json()["error"]["code"] == "authorization_not_found"
    )

    auth = grant(https_client, world)
    ok = query(https_client, world, auth["id"], id_number=world.person_number)
    assert ok.status_code == 200, ok.text
    data = ok.json()
    assert data["subject"]["id_number"] != world.person_number  # masked for the institution
    assert data["subject"]["id_number"].endswith(world.person_number[-4:])
    assert world.person_number not in ok.text

    # One-time authorization: the second query is refused.
    again = query(https_client, world, auth["id"])
    assert again.status_code == 403 and again.json()["error"]["code"] == "authorization_used"

    # The person sees who read what, with the authorization.
    log = https_client.get("/api/v1/me/queries", headers=world.auth("person")).json()
    by_bank = [q for q in log if q["organisation"] == "测试银行" and q["kind"] == "query"]
    assert len(by_bank) == 1
    assert by_bank[0]["basis"] == "authorization" and by_bank[0]["authorization_id"] == auth["id"]
    assert by_bank[0]["purpose"] == "信贷" and by_bank[0]["who"] == "测试银行"
    assert f"授权第 {auth['id']} 号" in by_bank[0]["basis_name"]
    # The refused second attempt is listed too, in words.
    refused = [q for q in log if q["kind"] == "refused"]
    assert len(refused) == 1 and refused[0]["who"] == "测试银行"
    assert "一次性授权已使用过" in refused[0]["purpose"]


def test_revoked_scope_and_subject_checks(https_client: TestClient, world: World) -> None:
    auth = grant(https_client, world, repeated=True, scope=["archive"])
    assert query(https_client, world, auth["id"]).status_code == 200
    assert query(https_client, world, auth["id"]).status_code == 200  # repeated
    out_of_scope = query(https_client, world, auth["id"], what="score")
    assert out_of_scope.json()["error"]["code"] == "authorization_out_of_scope"
    from tests import factories

    other_person = query(https_client, world, auth["id"], id_number=factories.resident_id(seq=313))
    assert other_person.status_code == 403
    assert other_person.json()["error"]["code"] == "authorization_other_subject"

    # Someone else cannot revoke it; the person can, effective at once.
    stranger = https_client.post(
        f"/api/v1/me/authorizations/{auth['id']}/revoke",
        headers={"Authorization": f"Bearer {world.tokens['other_person']}"},
    )
    assert stranger.status_code == 404
    revoked = https_client.post(
        f"/api/v1/me/authorizations/{auth['id']}/revoke", headers=world.auth("person")
    )
    assert revoked.json()["status"] == "已撤回"
    after = query(https_client, world, auth["id"])
    assert after.status_code == 403 and after.json()["error"]["code"] == "authorization_revoked"


def test_other_institution_cannot_use_the_authorization(
    https_client: TestClient, world: World, session: Session
) -> None:
    auth = grant(https_client, world, repeated=True)
    other_key = issue_api_key(
        session, KeyRole.INSTITUTION, "别家", institution=ensure_institution(session, "别家银行")
    )
    session.commit()
    resp = https_client.post(
        "/api/v1/authorized/archive",
        json={"authorization_id": auth["id"]},
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "authorization_other_institution"


def test_bad_grants_are_refused(https_client: TestClient, world: World) -> None:
    base = {
        "institution_id": world.institution_id,
        "scope": ["archive"],
        "purpose": "other",
        "valid_until": IN_30_DAYS,
    }
    resp = https_client.post("/api/v1/me/authorizations", json=base, headers=world.auth("person"))
    assert resp.status_code == 422 and "说明" in resp.json()["error"]["message"]
    past = {**base, "purpose": "hiring", "valid_until": "2020-01-01"}
    assert (
        https_client.post(
            "/api/v1/me/authorizations", json=past, headers=world.auth("person")
        ).status_code
        == 422
    )
    nowhere = {**base, "purpose": "hiring", "institution_id": 987654}
    assert (
        https_client.post(
            "/api/v1/me/authorizations", json=nowhere, headers=world.auth("person")
        ).status_code
        == 404
    )
    # Only the person can grant.
    assert (
        https_client.post(
            "/api/v1/me/authorizations",
            json={**base, "purpose": "hiring"},
            headers=world.auth("admin"),
        ).status_code
        == 403
    )


def _login(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_cookie_login_personal_centre_and_csrf(https_client: TestClient, world: World) -> None:
    resp = _login(https_client, "linxiaoman")
    assert resp.status_code == 303 and resp.headers["location"] == "/me"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=lax" in cookie.lower()

    page = https_client.get("/me")
    assert page.status_code == 200
    assert (
        world.person_name in page.text and "我的信用档案" in page.text and "谁查询了我" in page.text
    )

    form = {
        "institution_id": str(world.institution_id),
        "scope": "report",
        "purpose": "hiring",
        "valid_until": IN_30_DAYS,
    }
    # A form post without the session's CSRF token is refused and changes nothing.
    forged = https_client.post("/me/authorizations", data=form, follow_redirects=False)
    assert forged.status_code == 403
    assert https_client.get("/api/v1/me/authorizations").json() == []
    ok = https_client.post(
        "/me/authorizations", data={**form, "csrf_token": _csrf(page.text)}, follow_redirects=False
    )
    assert ok.status_code == 303
    granted = https_client.get("/api/v1/me/authorizations").json()
    assert [a["institution"] for a in granted] == ["测试银行"]

    # Log out: the session ends on the server, not only in the browser.
    token = https_client.cookies.get("xy_session")
    out = https_client.post(
        "/logout", data={"csrf_token": _csrf(https_client.get("/me").text)}, follow_redirects=False
    )
    assert out.status_code == 303
    https_client.cookies.set("xy_session", token or "", domain="testserver")
    assert https_client.get("/me", follow_redirects=False).status_code == 303  # to /login


def test_login_form_needs_its_csrf_cookie(https_client: TestClient, world: World) -> None:
    resp = https_client.post(
        "/login",
        data={"username": "linxiaoman", "password": PASSWORD, "csrf_token": "made-up"},
        follow_redirects=False,
    )
    assert resp.status_code == 403 and "页面已失效" in resp.text
    wrong = _login(https_client, "linxiaoman", "wrong-password-9")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text


def test_open_redirect_is_not_followed(https_client: TestClient, world: World) -> None:
    page = https_client.get("/login?next=//evil.example/")
    resp = https_client.post(
        "/login",
        data={
            "username": "admin1",
            "password": PASSWORD,
            "csrf_token": _csrf(page.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    # Not followed: the admin lands on their own workspace instead.
    assert resp.status_code == 303 and resp.headers["location"] == "/console"
