"""Browser tests: a small demo city served by a real server process, driven by Chromium.

The server is a subprocess on a free port with its own XINYONG_HOME and an SQLite
database, so these tests run on SQLite only: on the PostgreSQL pass of the suite they are
skipped (the pages call the same services the integration tests cover on both databases).
Chromium is Debian's (/usr/bin/chromium), never a browser downloaded by Playwright.
Screenshots of every main page are written to var/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "xinyong-demo-2026"
DEMO_PERSONS = 300

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            if TEST_DATABASE_URL:
                item.add_marker(
                    pytest.mark.skip(reason="browser tests serve a subprocess on SQLite only")
                )
            elif not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason="Debian chromium is not installed"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    env: dict[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def login_client(self, username: str) -> httpx.Client:
        """An httpx client logged in through the login form (cookie session)."""
        client = self.client()
        client.get("/login")
        resp = client.post(
            "/login",
            data={
                "username": username,
                "password": PASSWORD,
                "csrf_token": client.cookies.get("xy_login_csrf") or "",
            },
        )
        assert resp.status_code in (200, 303), resp.text[:300]
        assert client.cookies.get("xy_session"), f"{username} could not log in"
        return client


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    home = Path(tempfile.mkdtemp(prefix="xinyong-browser-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("XINYONG_")
        or k in ("XINYONG_BLIND_INDEX_KEY", "XINYONG_ENCRYPTION_KEY")
    }
    env |= {
        "XINYONG_HOME": str(home),
        "XINYONG_COOKIE_SECURE": "false",
        # A demo city on plain HTTP: demo mode, as `xinyong demo --serve` sets it (outside
        # it the platform refuses the test suite's example keys).
        "XINYONG_DEMO": "1",
        # The journeys search more than a person would; the limit itself is tested with a
        # low setting in tests/functional/test_portal_pages.py.
        "XINYONG_PORTAL_SEARCHES_PER_MINUTE": "1000",
        # Every journey logs in from 127.0.0.1; the login limit is tested in
        # tests/functional/test_hardening.py.
        "XINYONG_RATE_LOGIN_PER_MINUTE": "1000",
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "xinyong"), "demo", "--persons", str(DEMO_PERSONS)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = _free_port()
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(bin_dir / "uvicorn"),
            "--factory",
            "xinyong.web.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError((home / "server.log").read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    try:
        yield Server(url, home, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def page(browser: object, server: Server) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()


def login(page: object, username: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="退出").count() == 1, page.content()[:500]


def shot(page: object, name: str, full_page: bool = True) -> Path:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
