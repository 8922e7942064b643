"""Issue 17's defence (陈述申辩), end to end in Chromium at desktop and phone sizes.

A 严重 penalty of a demo person is imported; the department's clerk notifies the
black-listing on /workbench/blacklist; the person reads the notice in the personal centre
(reasons, basis, rights, deadline), answers on /me/blacklist/{id} with an evidence file and
sees the confirmation; the department's reviewer sees the defence and its file, is refused
a decision that does not say how the defence was weighed, then decides. The auditor is
refused the evidence file (the trail, not the content). Screenshots: docs/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import Server, login
from tests.browser.test_journeys import _server_db
from tests.browser.test_trust_journeys import (  # noqa: F401 (sized is a fixture)
    SIZES,
    _import_penalty,
    _person,
    doc_shot,
    sized,
)
from xinyong.lists.models import ListEntry
from xinyong.records.models import Record
from xinyong.workflows.models import EvidenceFile

PDF = "%PDF-1.4\n% 许可证扫描件\n%%EOF\n".encode()


def _serious_record(server: Server, document: str) -> Record:
    session, _ = _server_db(server)
    with session:
        record = session.scalars(select(Record).where(Record.document_number == document)).one()
        session.expunge(record)
    assert record.grade == "serious", record.grade  # 罚款 25 万元: 严重
    return record


def _entry(server: Server, record_id: int) -> ListEntry:
    session, _ = _server_db(server)
    with session:
        entry = session.scalars(select(ListEntry).where(ListEntry.record_id == record_id)).one()
        session.expunge(entry)
    return entry


def test_person_answers_the_blacklisting_notice_and_the_reviewer_weighs_it(
    sized: tuple[Page, str],  # noqa: F811 (the fixture imported above)
    server: Server,
    tmp_path: Path,
) -> None:
    page, size = sized
    username = "person2"  # person1 and person3 carry other journeys' page checks
    number, name = _person(server, username)
    document = f"申辩测罚〔2026〕{size}号"
    _import_penalty(server, name, number, document, tmp_path, fine="25")
    record = _serious_record(server, document)
    reasons = f"无证经营且拒不改正（{size}）"
    basis = "《市社会信用条例》第三十条"

    # The department's clerk notifies the black-listing through the workbench.
    login(page, "scjg-clerk")
    page.goto("/workbench/blacklist")
    page.get_by_label("记录编号").fill(str(record.id))
    page.get_by_label("拟列入理由").fill(reasons)
    page.get_by_label("列入依据").fill(basis)
    page.get_by_role("button", name="告知").click()
    expect(page.get_by_role("status")).to_contain_text("已告知，陈述申辩截止")
    entry = _entry(server, record.id)
    assert entry.status == "notified" and entry.defence_until is not None
    deadline = entry.defence_until.isoformat()
    page.get_by_role("button", name="退出").click()

    # The person sees the notice in the personal centre: reasons, basis, rights, deadline.
    login(page, username)
    expect(page).to_have_url(re.compile(r"/me$"))
    page.goto("/me#lists")  # on a phone the address opens its section
    notice = page.locator(f"#blacklist-{entry.id}")
    expect(notice).to_be_visible()
    text = notice.inner_text()
    assert "拟列入严重失信主体名单告知" in text
    assert reasons in text and basis in text and deadline in text
    assert "您的权利" in text and "陈述申辩" in text
    notice.get_by_role("link", name="陈述申辩").click()
    expect(page).to_have_url(re.compile(rf"/me/blacklist/{entry.id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("陈述申辩")
    assert reasons in page.locator("main").inner_text()

    # The statement and an evidence file, before the deadline.
    statement = "我已于处罚决定后取得食品经营许可证并停止违法行为，请求不予列入。"
    page.get_by_label("陈述申辩意见").fill(statement)
    page.get_by_label("证明材料（可选，PDF、图片或 DOCX，可多选）").set_input_files(
        files=[{"name": "食品经营许可证.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="提交陈述申辩").click()
    expect(page).to_have_url(re.compile(r"/me#lists$"))
    flash = page.locator("#lists [data-flash]")
    expect(flash).to_contain_text("陈述申辩意见已提交")
    box = flash.bounding_box()
    assert box is not None and 0 <= box["y"] < SIZES[size][1], box
    answered = page.locator(f"#blacklist-{entry.id}")
    expect(answered).to_contain_text(statement)
    expect(answered.get_by_role("link", name="食品经营许可证.pdf")).to_be_visible()
    # The deadline has not passed and the statement is in: no second one.
    expect(answered.get_by_role("link", name="陈述申辩")).to_have_count(0)
    doc_shot(page, "defence", size)
    page.reload()
    expect(page.locator("[data-flash]")).to_have_count(0)  # shown once
    page.get_by_role("button", name="退出").click()

    # The auditor reads the trail, not the content: the evidence file is refused.
    session, _ = _server_db(server)
    with session:
        evidence_id = session.scalars(
            select(EvidenceFile.id).where(
                EvidenceFile.owner_kind == "list_entry", EvidenceFile.owner_id == entry.id
            )
        ).one()
    auditor = server.login_client("auditor")
    try:
        refused = auditor.get(f"/api/v1/evidence/{evidence_id}")
    finally:
        auditor.close()
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auditor_reads_trail"

    # The department's reviewer sees the defence and its file, and must weigh it.
    login(page, "scjg-reviewer")
    page.goto("/workbench/blacklist")
    case = page.locator(f"#procedure-{entry.id}")
    expect(case).to_contain_text("已提出陈述申辩，待审查")
    expect(case).to_contain_text(statement)
    download = page.request.get(f"/api/v1/evidence/{evidence_id}")
    assert download.status == 200 and download.body() == PDF
    case.get_by_label("列入", exact=True).check()
    case.get_by_label("决定理由").fill("违法事实清楚，情节严重")
    # The browser would insist on the review; the server must too.
    case.locator("textarea[name=defence_review]").evaluate("el => el.removeAttribute('required')")
    case.get_by_role("button", name="作出决定").click()
    case = page.locator(f"#procedure-{entry.id}")
    expect(case.get_by_role("alert")).to_contain_text("审查和采纳情况")
    assert _entry(server, record.id).status == "notified"  # nothing decided
    review = "许可证取得于违法行为之后，不影响违法事实的认定，不予采纳。"
    case.get_by_label("列入", exact=True).check()
    case.get_by_label("决定理由").fill("违法事实清楚，情节严重")
    case.get_by_label("对陈述申辩意见的审查和采纳情况（必填）").fill(review)
    case.get_by_role("button", name="作出决定").click()
    expect(page.get_by_role("status")).to_contain_text("已作出决定")
    decided = page.locator(f"#procedure-{entry.id}")
    expect(decided).to_contain_text(review)
    done = _entry(server, record.id)
    assert done.status == "listed" and done.defence_review == review
    assert done.reasons == reasons  # the notice's reasons stay beside the decision's
    page.get_by_role("button", name="退出").click()

    # The person sees the decision and how the defence was weighed.
    login(page, username)
    page.goto("/me#lists")
    outcome = page.locator(f"#blacklist-{entry.id}")
    expect(outcome).to_contain_text("严重失信主体名单列入决定")
    expect(outcome).to_contain_text(review)
