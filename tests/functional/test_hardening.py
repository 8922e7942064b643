"""Rate limits on login and the check API; security headers on pages and API answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.functional.conftest import PASSWORD, World
from xinyong.submissions.jobs import run_pending_jobs
from xinyong.web.ratelimit import limiter


@pytest.fixture(autouse=True)
def _stopped_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Buckets refill with time; slow password hashing must not refill them mid-test."""
    monkeypatch.setattr(limiter, "clock", lambda: 1_000.0)
    limiter.reset()


def test_token_login_is_rate_limited_per_username(https_client: TestClient, world: World) -> None:
    statuses = [
        https_client.post(
            "/api/v1/auth/token", json={"username": "nobody-here", "password": "wrong"}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    resp = https_client.post(
        "/api/v1/auth/token", json={"username": "nobody-here", "password": "wrong"}
    )
    assert resp.json()["error"]["code"] == "rate_limited"
    assert int(resp.headers["retry-after"]) >= 1


def test_rate_limit_per_address_covers_every_username(
    https_client: TestClient, world: World
) -> None:
    statuses = [
        https_client.post(
            "/api/v1/auth/token", json={"username": f"guess{i}", "password": "wrong"}
        ).status_code
        for i in range(11)
    ]
    assert statuses[-1] == 429
    # Even the right password is refused while the address is over its limit.
    resp = https_client.post(
        "/api/v1/auth/token", json={"username": "admin1", "password": PASSWORD}
    )
    assert resp.status_code == 429


def test_login_page_is_rate_limited(https_client: TestClient, world: World) -> None:
    page = https_client.get("/login")
    assert page.status_code == 200
    statuses = []
    for _ in range(11):
        token = https_client.cookies.get("xy_login_csrf")  # each answer sets a fresh one
        statuses.append(
            https_client.post(
                "/login",
                data={"username": "admin1", "password": "wrong", "csrf_token": token},
                headers={"accept": "text/html"},
            ).status_code
        )
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429


def test_check_api_is_rate_limited_per_key(
    https_client: TestClient, world: World, monkeypatch: object
) -> None:
    import pytest

    from xinyong.config import get_settings
    from xinyong.web.ratelimit import limiter

    mp = pytest.MonkeyPatch()
    mp.setenv("XINYONG_RATE_CHECK_PER_MINUTE", "3")
    get_settings.cache_clear()
    limiter.reset()
    try:
        body = {
            "id_number": world.person_number,
            "scenario": "ADMIN_LICENSING",
            "operator": "王经办",
            "business_ref": "XK-1",
        }
        statuses = [
            https_client.post(
                "/api/v1/checks", json=body, headers=world.auth("department")
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        # Another caller has its own bucket.
        assert (
            https_client.post("/api/v1/checks", json=body, headers=world.auth("admin")).status_code
            == 200
        )
    finally:
        mp.undo()
        get_settings.cache_clear()
        limiter.reset()


def test_security_headers_on_pages_and_api(https_client: TestClient, world: World) -> None:
    page = https_client.get("/login")
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert page.headers["cache-control"] == "no-store"
    api = https_client.get("/api/v1/me", headers=world.auth("person"))
    assert api.status_code == 200
    assert api.headers["cache-control"] == "no-store"
    assert api.headers["x-content-type-options"] == "nosniff"


def test_no_hsts_over_plain_http(world: World) -> None:
    from xinyong.web.app import create_app

    with TestClient(create_app()) as client:
        resp = client.get("/healthz")
    assert "strict-transport-security" not in resp.headers
    assert resp.headers["x-frame-options"] == "DENY"


def test_templates_have_no_inline_script() -> None:
    """The CSP forbids inline scripts; a template carrying one would silently break."""
    import re
    from pathlib import Path

    import xinyong.web

    templates = Path(xinyong.web.__file__).parent / "templates"
    offending = []
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            # JSON data blocks are not executed, so the CSP lets them through.
            if "src=" not in tag.lower() and 'type="application/json"' not in tag.lower():
                offending.append(f"{path.name}: {tag}")
        if re.search(r"\son[a-z]+\s*=", text, flags=re.I):
            offending.append(f"{path.name}: inline event handler")
    assert offending == []


def test_oversized_bodies_are_refused_before_parsing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinyong.config import get_settings
    from xinyong.web.app import create_app

    monkeypatch.setenv("XINYONG_MAX_UPLOAD_BYTES", str(64 * 1024))
    get_settings.cache_clear()
    try:
        with TestClient(create_app(), base_url="https://testserver") as client:
            big = b"a" * (2 << 20)
            declared = client.post(
                "/api/v1/submissions",
                files={"file": ("big.csv", big, "text/csv")},
                headers=world.auth("department"),
            )
            assert declared.status_code == 413
            assert declared.json()["error"]["code"] == "too_large"

            def chunks():  # type: ignore[no-untyped-def]
                for _ in range(40):
                    yield b"x" * 65536

            streamed = client.post(
                "/api/v1/auth/token",
                content=chunks(),
                headers={"content-type": "application/json"},
            )
            assert streamed.status_code == 413
            # Under the body limit but over the file limit: the handler's own check.
            small = client.post(
                "/api/v1/submissions",
                files={"file": ("mid.csv", b"a" * (200 * 1024), "text/csv")},
                headers=world.auth("department"),
            )
            assert small.status_code == 422 and small.json()["error"]["code"] == "too_large"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_xlsx_bomb_upload_is_refused(https_client: TestClient, world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.records.test_parsers import _bomb

    path = _bomb(tmp_path / "bomb.xlsx", 300 << 20)
    resp = https_client.post(
        "/api/v1/submissions",
        files={"file": ("bomb.xlsx", path.read_bytes(), "application/octet-stream")},
        headers=world.auth("department"),
    )
    # Stored and queued; the job refuses it and the batch says why.
    assert resp.status_code == 202
    run_pending_jobs()
    batch = https_client.get(resp.json()["status_url"], headers=world.auth("department")).json()
    assert batch["status"] == "failed"
    assert batch["failure"].startswith("too_large:") and "压缩炸弹" in batch["failure"]


def test_spoofed_forwarded_for_does_not_pick_a_fresh_bucket(
    https_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that is not a configured proxy cannot dodge the limit with X-Forwarded-For."""
    statuses = [
        https_client.post(
            "/api/v1/auth/token",
            json={"username": f"guess{i}", "password": "wrong"},
            headers={"X-Forwarded-For": f"10.0.0.{i}"},
        ).status_code
        for i in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429
    # Tip-offs too: a new forged address each time, the same peer.
    limiter.reset()
    tip = {"about": "某商户", "content": "长期以次充好、虚假宣传，欺骗消费者。"}
    answers = [
        https_client.post(
            "/api/v1/tipoffs", json=tip, headers={"X-Forwarded-For": f"10.1.0.{i}"}
        ).status_code
        for i in range(6)
    ]
    assert answers[:5] == [201] * 5 and answers[-1] == 429


def test_forwarded_for_counts_from_a_trusted_proxy(
    https_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinyong.config import get_settings

    monkeypatch.setenv("XINYONG_TRUSTED_PROXIES", "testclient, 192.0.2.1")
    get_settings.cache_clear()
    try:
        for i in range(11):  # behind the proxy, each real client has its own bucket
            resp = https_client.post(
                "/api/v1/auth/token",
                json={"username": f"guess{i}", "password": "wrong"},
                headers={"X-Forwarded-For": f"198.51.100.{i}, 192.0.2.1"},
            )
            assert resp.status_code == 401, (i, resp.text)
        statuses = [
            https_client.post(
                "/api/v1/auth/token",
                json={"username": f"again{i}", "password": "wrong"},
                headers={"X-Forwarded-For": "198.51.100.7"},
            ).status_code
            for i in range(10)
        ]
        assert statuses[-1] == 429  # 198.51.100.7 had one attempt already
    finally:
        get_settings.cache_clear()


def test_server_leaves_forwarded_for_to_the_application(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's own proxy handling trusts any caller on loopback; the server turns it off so
    that only XINYONG_TRUSTED_PROXIES decides."""
    import uvicorn

    from xinyong.cli import setup

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    setup._serve("127.0.0.1", 8000, 1)
    assert seen["proxy_headers"] is False
