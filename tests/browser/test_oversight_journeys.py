"""The auditor, the authorized institution, the notice inbox and interviews, in Chromium
against the demo city (which leaves open alerts, authorizations to the bank, notices and an
interview for these pages to show)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.browser.conftest import Server, login, shot
from tests.browser.test_journeys import FULL_ID, _server_db
from xinyong.catalog.models import Department
from xinyong.records.models import Record


def test_auditor_reads_the_trail_and_acknowledges_an_alert(page: Page) -> None:
    login(page, "auditor")  # lands on the auditor's workspace (审计)
    page.get_by_role("link", name="审计", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("审计记录")
    page.get_by_label("领域").select_option(label="查询（个人信息的读取）")
    page.get_by_role("button", name="筛选").click()
    assert page.locator("main tbody tr").count() >= 1
    assert not FULL_ID.search(page.locator("main").inner_text())
    shot(page, "audit-events")

    page.get_by_role("link", name="异常告警").click()
    alert = page.locator("article").filter(has_text="多次查询被拒").first
    expect(alert).to_contain_text("user:bank")
    alert.get_by_label("处理说明").fill(
        "已与示范市商业银行核实：客户撤回授权后系统重试，已提醒整改。"
    )
    shot(page, "audit-alerts")
    alert.get_by_role("button", name="确认告警").click()
    expect(page.get_by_role("status").first).to_contain_text("已确认告警")
    page.get_by_role("link", name="查看全部告警（含已确认）").click()
    expect(page.locator("article").filter(has_text="已提醒整改").first).to_contain_text("已确认")

    page.get_by_role("link", name="审计链校验").click()
    page.get_by_role("button", name="开始校验").click()
    expect(page.get_by_role("status").first).to_contain_text("完整")
    shot(page, "audit-chain")


def test_institution_queries_and_is_refused_under_a_revoked_one(
    browser: Browser, server: Server
) -> None:
    bank = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = bank.new_page()
    login(page, "bank")  # lands on the institution's workspace (机构查询)
    page.get_by_role("link", name="机构查询", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("授权查询")
    options = page.locator("#authorization_id option")
    valid = options.filter(has_text="有效").first.get_attribute("value")
    revoked = options.filter(has_text="已撤回").first.get_attribute("value")
    expired = options.filter(has_text="已过期").first.get_attribute("value")
    assert valid and revoked and expired
    shot(page, "institution")

    page.get_by_label("依据的授权").select_option(valid)
    page.get_by_label("查询事项").select_option(label="信用档案")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("授权查询结果：信用档案")
    assert not FULL_ID.search(page.locator("main").inner_text())
    shot(page, "institution-result")

    page.get_by_role("link", name="返回授权查询").click()
    page.get_by_label("依据的授权").select_option(revoked)
    page.get_by_label("查询事项").select_option(label="信用档案")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("查询被拒绝")
    expect(page.get_by_role("alert")).to_contain_text("撤回")
    page.get_by_label("依据的授权").select_option(expired)
    page.get_by_label("查询事项").select_option(label="信用评价（诚信积分）")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("查询被拒绝")
    shot(page, "institution-refused")
    bank.close()

    person = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    me = person.new_page()
    login(me, "person1")
    log = me.locator("#queries tbody tr").filter(has_text="示范市商业银行")
    # The query under the valid authorization names it; the refused attempts are listed too.
    expect(log.filter(has_text=f"授权第 {valid} 号").first).to_be_visible()
    expect(log.filter(has_text="被拒绝").first).to_contain_text("授权已过期")
    person.close()


def test_person_marks_notices_read(page: Page) -> None:
    login(page, "person1")
    inbox = page.locator("#notices")
    unread = inbox.locator(".tag.warn", has_text="未读")
    before = unread.count()
    assert before >= 2, "the demo city leaves the person unread notices"
    inbox.get_by_role("button", name="标为已读", exact=True).first.click()
    expect(unread).to_have_count(before - 1)
    shot(page, "me-notices")
    inbox.get_by_role("button", name="全部标为已读").click()
    expect(unread).to_have_count(0)
    page.reload()
    expect(page.locator("#notices .tag.warn", has_text="未读")).to_have_count(0)
    # The interview the demo's market regulator arranged is in the personal centre.
    expect(page.locator("#interviews")).to_contain_text("约谈室")


def test_clerk_schedules_an_interview(page: Page, server: Server) -> None:
    session, _ = _server_db(server)
    with session:
        dept = session.scalar(select(Department.id).where(Department.code == "SCJGJ"))
        record = session.scalars(
            select(Record).where(Record.department_id == dept).order_by(Record.id.desc())
        ).first()
        assert record is not None
        record_id = record.id
    login(page, "scjg-clerk")
    page.goto("/workbench")
    page.get_by_role("link", name="信用约谈").click()
    page.get_by_label("记录编号或决定文书号").fill("没有这个文书号")
    page.get_by_label("约谈时间").fill("2026-12-01T10:00")
    page.get_by_label("约谈地点").fill("市市场监督管理局二楼会议室")
    page.get_by_label("参加人员").fill("执法科王科长")
    page.get_by_label("约谈事由").fill("多次违反食品安全规定")
    page.get_by_role("button", name="安排约谈").click()
    expect(page.get_by_role("alert")).to_contain_text("本部门没有该记录")
    expect(page.get_by_label("约谈地点")).to_have_value("市市场监督管理局二楼会议室")
    page.get_by_label("记录编号或决定文书号").fill(str(record_id))
    page.get_by_role("button", name="安排约谈").click()
    expect(page.get_by_role("status").first).to_contain_text(re.compile(r"已安排约谈 \d+"))
    card = page.locator("article").filter(has_text="二楼会议室").first
    expect(card).to_contain_text("2026-12-01 10:00")
    card.get_by_label("约谈结果").fill("当事人承认问题，承诺一周内整改")
    card.get_by_role("button", name="登记结果").click()
    expect(page.locator("article").filter(has_text="二楼会议室").first).to_contain_text(
        "承诺一周内整改"
    )
    shot(page, "workbench-interviews")
