"""Issue 18, end to end in Chromium at desktop (1366×900) and phone (390×844) sizes.

A person finds a record by number and files an objection with evidence and sees both; a
clerk downloads the 双公示 template, uploads a GBK file with good and bad rows and downloads
the error file; the admin picks a quarter in 考核. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.browser.conftest import ROOT, Server, login
from tests.browser.test_journeys import FULL_ID, _server_db
from tests.factories import resident_id
from xinyong.accounts.models import User
from xinyong.identity.masking import mask_id_number
from xinyong.subjects.models import Subject

DOCS = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def doc_shot(page: Page, name: str, size: str) -> None:
    """A screenshot of what the user sees (the viewport), for the README."""
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}-{size}.png"), full_page=False)


@pytest.fixture(params=list(SIZES))
def sized(
    request: pytest.FixtureRequest, browser: object, server: Server
) -> Iterator[tuple[Page, str]]:
    assert isinstance(browser, Browser)
    width, height = SIZES[request.param]
    context = browser.new_context(
        base_url=server.url,
        viewport={"width": width, "height": height},
        locale="zh-CN",
        is_mobile=request.param == "phone",
        has_touch=request.param == "phone",
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page, request.param
    context.close()


def _person(server: Server, username: str) -> tuple[str, str]:
    session, protector = _server_db(server)
    with session:
        user = session.scalars(select(User).where(User.username == username)).one()
        subject = session.get(Subject, user.subject_id)
        assert subject is not None
        return protector.decrypt(subject.id_cipher, subject.id_index), subject.name


def _import_penalty(
    server: Server, name: str, number: str, document: str, tmp: Path, fine: str = "2"
) -> None:
    """The office imports one public 双公示 penalty of the person from the command line (a
    fine of 1 万元 or more is 一般 and published; a smaller one is 轻微, kept off the portal)."""
    from xinyong.submissions.templates import SGS_PENALTY_HEADERS

    row = dict.fromkeys(SGS_PENALTY_HEADERS, "")
    row |= {
        "行政相对人名称": name,
        "行政相对人类别": "自然人",
        "证件类型": "身份证",
        "证件号码": number,
        "行政处罚决定书文号": document,
        "违法行为类型": "占道经营",
        "违法事实": "经查，当事人在人行道摆摊经营",
        "处罚依据": "《城市市容和环境卫生管理条例》第三十六条",
        "处罚类别": "罚款",
        "处罚内容": f"罚款 {fine} 万元",
        "罚款金额（万元）": fine,
        "处罚决定日期": (dt.date.today() - dt.timedelta(days=3)).isoformat(),
        "处罚机关": "市市场监督管理局",
    }
    path = tmp / f"{document}.csv"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, SGS_PENALTY_HEADERS)
    writer.writeheader()
    writer.writerow(row)
    path.write_bytes(buf.getvalue().encode("gbk"))
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [str(bin_dir / "xinyong"), "import", str(path), "--department", "SCJGJ"],
        env=server.env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout.decode()[-500:] + done.stderr.decode()[-500:]


def test_person_finds_a_record_by_number_and_objects_with_evidence(
    sized: tuple[Page, str], server: Server, tmp_path: Path
) -> None:
    page, size = sized
    username = "person2" if size == "desktop" else "person3"
    number, name = _person(server, username)
    document = f"信任测罚〔2026〕{size}号"
    _import_penalty(server, name, number, document, tmp_path)

    # The error pages first: Chinese, in the site's layout, a way back.
    resp = page.goto("/nope")
    assert resp is not None and resp.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.get_by_role("link", name="回到首页")).to_be_visible()
    doc_shot(page, "error-404", size)
    assert page.goto("/favicon.ico").status == 200  # type: ignore[union-attr]

    # The public portal: the number typed in the search box never reaches the address.
    page.goto("/")
    page.get_by_label("姓名全称、单位名称、统一社会信用代码、证件号码或决定文书号").fill(number)
    page.get_by_role("button", name="查询").first.click()
    expect(page).to_have_url(re.compile(r"/disclosures/subject/[A-Za-z0-9_-]{20,}$"))
    assert number not in page.url
    main = page.locator("main").inner_text()
    assert mask_id_number(number) in main and number not in main and not FULL_ID.search(main)
    assert name not in main
    doc_shot(page, "portal-subject", size)
    page.get_by_role("link", name=re.compile(re.escape(document))).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("公示详情")
    detail = page.locator("main").inner_text()
    assert "《城市市容和环境卫生管理条例》第三十六条" in detail and "公示截止" in detail
    doc_shot(page, "portal-record", size)

    # A link cannot make the site say anything.
    login(page, username)
    expect(page).to_have_url(re.compile(r"/me$"))
    page.goto("/me?message=您已被列入严重失信主体名单，请立即缴纳保证金")
    assert "保证金" not in page.locator("main").inner_text()

    if size == "phone":
        # Sections that open and close: only the first is open, the navigation is one line.
        open_sections = page.locator("details.me-section[open]").count()
        assert open_sections == 1, open_sections
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < 6000, f"the personal centre is {height}px tall on a phone"
        for compact in (".me-nav .tabs", ".site-nav ul"):
            nav = page.locator(compact).bounding_box()
            assert nav is not None and nav["height"] < 60, (compact, nav)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the personal centre scrolls sideways by {overflow}px"
        doc_shot(page, "me", size)
        page.locator("details.me-section#archive > summary").click()

    row = page.locator("#archive tbody tr").filter(has_text=document)
    expect(row.locator('td[data-label="状态"]')).to_be_visible()
    row.get_by_role("link", name="提出异议").click()
    page.get_by_label("异议理由").fill("处罚决定已被复议机关撤销。")
    page.get_by_label("证明材料（可选，PDF、图片，可多选）").set_input_files(
        files=[
            {
                "name": "行政复议决定书.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n%%EOF\n",
            }
        ]
    )
    page.get_by_role("button", name="提交异议").click()
    expect(page).to_have_url(re.compile(r"/me#objections$"))
    # The confirmation is where the page lands, with the case and its evidence.
    flash = page.locator("#objections [data-flash]")
    expect(flash).to_contain_text("异议已提交")
    box = flash.bounding_box()
    assert box is not None and 0 <= box["y"] < SIZES[size][1], box
    case = page.locator("#objections tbody tr").filter(has_text=document)
    expect(case).to_contain_text("行政复议决定书.pdf")
    doc_shot(page, "me-objection-filed", size)
    page.reload()
    expect(page.locator("[data-flash]")).to_have_count(0)  # shown once


def test_clerk_downloads_the_template_and_uploads_a_gbk_file_with_bad_rows(
    sized: tuple[Page, str], server: Server, tmp_path: Path
) -> None:
    page, size = sized
    login(page, "scjg-clerk")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    # 报送记录 lists the department's batches however they came (the demo's are the office's).
    page.goto("/workbench/batches")
    expect(page.locator("main")).not_to_contain_text("还没有报送记录")
    assert page.locator("main tbody tr").count() >= 1
    page.goto("/workbench/templates")
    doc_shot(page, "workbench-templates", size)
    with page.expect_download() as info:
        page.get_by_role("link", name="行政处罚（双公示） 模板（XLSX）").click()
    template = tmp_path / "template.xlsx"
    info.value.save_as(template)
    book = load_workbook(template)
    assert book.sheetnames == ["报送数据", "填写说明"]
    headers = [str(c.value) for c in book["报送数据"][1]]
    example = {h: str(c.value or "") for h, c in zip(headers, book["报送数据"][2], strict=True)}
    with page.expect_download() as info:
        page.get_by_role("link", name="行政许可（双公示） 模板（CSV）").click()
    licence = info.value.path()
    assert licence is not None and "许可内容" in Path(licence).read_bytes().decode("utf-8-sig")

    # Two good rows and a bad one (impossible date), saved in GBK as Excel does.
    rows = []
    for k, day in enumerate(["2026-11-02", "2026-11-03", "2026-02-30"]):
        row = dict(example)
        row["证件号码"] = resident_id(seq=801 + 2 * k + (10 if size == "phone" else 0))
        row["行政处罚决定书文号"] = f"模板上传〔2026〕{size}{k}号"
        row["处罚决定日期"] = day
        rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, headers)
    writer.writeheader()
    writer.writerows(rows)
    upload = tmp_path / "行政处罚.csv"
    upload.write_bytes(buf.getvalue().encode("gbk"))
    page.goto("/workbench")
    page.get_by_label("报送文件", exact=True).set_input_files(str(upload))
    page.get_by_role("button", name="上传并校验").click()
    expect(page).to_have_url(re.compile(r"/workbench/batches/\d+$"), timeout=30_000)
    expect(page.get_by_role("status")).to_contain_text("接收 2 行")
    expect(page.get_by_role("status")).to_contain_text("拒收 1 行")
    doc_shot(page, "workbench-batch", size)
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("下载拒收行")).click()
    errors = tmp_path / "errors.xlsx"
    info.value.save_as(errors)
    sheet = load_workbook(errors).active
    assert sheet is not None
    table = [[str(c or "") for c in r] for r in sheet.iter_rows(values_only=True)]
    assert table[0][-1] == "错误原因" and len(table) == 2
    assert "2026-02-30" in " ".join(table[1])
    assert not FULL_ID.search(" ".join(table[1]))


def test_admin_picks_a_quarter_in_the_assessment(sized: tuple[Page, str]) -> None:
    page, size = sized
    login(page, "admin")
    expect(page).to_have_url(re.compile(r"/console$"))
    today = dt.date.today()
    quarter = (today.month - 1) // 3 + 1
    previous = f"{today.year}-Q{quarter - 1}" if quarter > 1 else f"{today.year - 1}-Q4"
    page.get_by_label("考核期间", exact=True).select_option(previous)
    # The 应查必查 month has its own 查看: the assessment's form is the one meant.
    page.get_by_role("form", name="选择考核期间").get_by_role("button", name="查看").click()
    expect(page).to_have_url(re.compile(rf"period={previous}"))
    label = f"{previous[:4]}年第{previous[-1]}季度"
    expect(page.locator("#assessment")).to_have_text(f"部门考核 · {label}")
    measures = page.locator("#measures-table")
    expect(measures).to_contain_text("按时报送率")
    expect(measures).to_contain_text("0–100%")
    table = page.locator("#assessment-table")
    expect(table).to_contain_text(label)
    rows = table.locator("tbody tr")
    assert rows.count() >= 5
    # Either ranked from 1, or the page says the period has too little data to rank.
    first = rows.first.locator("td").first.inner_text().strip()
    note = page.locator("[data-assessment-note]")
    assert first == "1" or "数据过少" in note.inner_text()
    # The current month is marked as partial in the monthly chart's data.
    data = page.locator("#dashboard-data").text_content() or ""
    assert f'"partial": "{today:%Y-%m}"' in data or f'"partial":"{today:%Y-%m}"' in data
    page.locator("#chart-by_month").scroll_into_view_if_needed()
    expect(page.locator("#chart-by_month")).to_have_attribute("data-ready", "true")
    axis = page.evaluate(
        """() => { const o = echarts.getInstanceByDom(document.getElementById('chart-by_month'))
             .getOption(); return {labels: o.xAxis[0].data, label: o.xAxis[0].axisLabel,
             grid: o.grid[0]}; }"""
    )
    # The partial month is named so, not drawn as a drop; labels stay inside on a phone.
    assert axis["labels"][-1] == f"{today:%Y-%m}（本月至今）"
    assert axis["grid"]["containLabel"] is True
    if size == "phone":
        assert axis["label"]["rotate"] == 40
    page.locator("#assessment").scroll_into_view_if_needed()
    doc_shot(page, "console-assessment", size)
