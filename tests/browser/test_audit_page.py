"""The audit page (/console/audit) in Chromium, desktop (1366×900) and phone (390×844):
filters in a compact row, every action and operator by its Chinese name, 50 events a page,
and on the phone a short page of three-line cards. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Server, login
from tests.browser.test_journeys import FULL_ID

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TAG = re.compile(r"^[a-z_]+:[a-z_]+:[a-z_]+$")
CODE = re.compile(r"^(user|apikey|cli):")


def _open(browser: Browser, server: Server, width: int, height: int, mobile: bool) -> Page:
    # More than a page of events: each view of the trail is itself an event.
    client = server.login_client("auditor")
    try:
        for _ in range(30):
            assert client.get("/console/audit").status_code == 200
    finally:
        client.close()
    context = browser.new_context(
        base_url=server.url,
        viewport={"width": width, "height": height},
        is_mobile=mobile,
        locale="zh-CN",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    login(page, "auditor")
    page.goto("/console/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("审计记录")
    return page


def _names_are_chinese(page: Page) -> None:
    rows = page.locator("main tbody tr")
    assert rows.count() == 50  # a full page
    actions = rows.locator("td.what").all_inner_texts()
    operators = rows.locator("td.who").all_inner_texts()
    assert actions and not [a for a in actions if TAG.match(a.strip()) or ":" in a]
    assert not [o for o in operators if CODE.match(o.strip())]
    assert any("系统任务" in o or "审计员" in o for o in operators)
    assert not FULL_ID.search(page.locator("main").inner_text())


def test_the_audit_page_on_a_desktop(browser: object, server: Server) -> None:
    assert isinstance(browser, Browser)
    page = _open(browser, server, 1366, 900, mobile=False)
    form = page.get_by_role("form", name="筛选审计记录")
    box = form.bounding_box()
    assert box is not None and box["height"] < 140, box  # one or two compact rows
    _names_are_chinese(page)
    # Filtering by a Chinese action name.
    page.get_by_label("动作", exact=True).select_option(label="查看审计记录")
    page.get_by_role("button", name="筛选").click()
    actions = page.locator("main tbody td.what").all_inner_texts()
    assert actions and set(actions) == {"查看审计记录"}
    page.goto("/console/audit")
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / "audit-desktop.png"), full_page=False)
    page.context.close()


def test_the_audit_page_on_a_phone(browser: object, server: Server) -> None:
    assert isinstance(browser, Browser)
    page = _open(browser, server, 390, 844, mobile=True)
    _names_are_chinese(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the audit page scrolls sideways by {overflow}px on a phone"
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 6000, f"50 events make a {height}px page on a phone"
    card = page.locator("main tbody tr").first.bounding_box()
    assert card is not None and card["height"] < 80, card  # three short lines
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / "audit-phone.png"), full_page=True)
    page.context.close()
