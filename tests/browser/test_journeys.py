"""Each role's main journeys, end to end in Chromium against the demo city."""

from __future__ import annotations

import base64
import csv
import io
import re
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.browser.conftest import Server, login, shot
from tests.factories import resident_id
from xinyong.config import Keys
from xinyong.demo import SGS_PENALTY_HEADERS
from xinyong.identity.protection import IdentityProtector
from xinyong.lists.models import ListEntry
from xinyong.subjects.models import Subject

FULL_ID = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dX](?![0-9A-Za-z])")


def _server_db(server: Server) -> tuple[Session, IdentityProtector]:
    engine = create_engine(f"sqlite:///{server.home / 'xinyong.sqlite3'}")
    keys = Keys(
        base64.b64decode(server.env["XINYONG_BLIND_INDEX_KEY"]),
        base64.b64decode(server.env["XINYONG_ENCRYPTION_KEY"]),
    )
    return Session(engine), IdentityProtector(keys)


def test_public_searches_the_lists_and_reads_cases(page: Page, server: Server) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("公共信用信息公示与服务")
    shot(page, "portal-home")
    page.get_by_label("公示类别").select_option("penalty")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"/disclosures\?category=penalty"))
    rows = page.locator("table tbody tr")
    assert rows.count() == 20  # a full first page, never more
    body = page.locator("main").inner_text()
    assert "*" in body  # persons' names and numbers are masked
    assert not FULL_ID.search(body), "an identity number appears in clear"
    shot(page, "portal-disclosures")
    page.get_by_role("link", name="下一页").click()
    expect(page.locator(".pager")).to_contain_text("第 2 /")
    # The black list, searched by an organisation's name.
    page.get_by_role("link", name="严重失信主体名单").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("严重失信主体名单")
    page.get_by_label("姓名全称、单位名称、统一社会信用代码、证件号码或决定文书号").fill("某")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("至少 2 个字")
    # Typical cases and the guides.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="失信案例警示").click()
    page.get_by_role("link", name=re.compile("伪造就业材料")).click()
    expect(page.locator("article")).to_contain_text("骗取创业补贴")
    shot(page, "portal-article")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="办事指南").click()
    expect(page.locator("#periods table")).to_contain_text("严重")
    shot(page, "portal-guides")


def test_portal_fits_a_phone(browser: object, server: Server) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(
        base_url=server.url, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    for path, name in (("/", "phone-portal"), ("/disclosures?category=black", "phone-search")):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
        shot(page, name)
    for user, path in (("person1", "/me"), ("admin", "/console")):
        login(page, user)
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
        shot(page, f"phone{path.replace('/', '-')}")
        page.get_by_role("button", name="退出").click()
    context.close()


def test_person_sees_archive_score_and_grants_an_authorization(page: Page) -> None:
    login(page, "person1")
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_role("heading", name=re.compile("我的信用档案"))).to_be_visible()
    expect(page.locator("#score .stat b")).to_have_text(re.compile(r"^\d+$"))
    assert page.locator("#archive tbody tr").count() >= 1
    # Their own page is the one place the full number is shown.
    assert FULL_ID.search(page.locator("main").inner_text())
    shot(page, "me")
    page.get_by_label("被授权机构").select_option(label="示范市商业银行")
    page.get_by_label("授权截止日期").fill("2027-01-31")
    page.locator("#authorizations").get_by_role("button", name="授权").click()
    expect(page.get_by_role("status")).to_contain_text("已授权")
    # Newest first: the demo city's own authorizations to the bank are below it.
    row = page.locator("#authorizations tbody tr").filter(has_text="示范市商业银行").first
    expect(row).to_contain_text("有效")
    row.get_by_role("button", name="撤回").click()
    expect(page.get_by_role("status")).to_contain_text("已撤回授权")


def _bad_file(tmp_path: Path) -> tuple[Path, str]:
    """A 双公示 penalty file: three good rows, a wrong check character, an impossible date."""
    good = resident_id(seq=701)
    numbers = [good, resident_id(seq=703), resident_id(seq=705)]
    wrong = resident_id(seq=707)
    wrong = wrong[:-1] + ("0" if wrong[-1] != "0" else "1")
    rows = []
    for k, (name, number, day) in enumerate(
        [
            ("孙一", numbers[0], "2026-10-08"),
            ("孙二", numbers[1], "2026-10-09"),
            ("孙三", numbers[2], "2026-10-10"),
            ("孙四", wrong, "2026-10-11"),
            ("孙五", resident_id(seq=709), "2026-13-45"),
        ]
    ):
        row = dict.fromkeys(SGS_PENALTY_HEADERS, "")
        row |= {
            "行政相对人名称": name,
            "行政相对人类别": "自然人",
            "证件类型": "身份证",
            "证件号码": number,
            "行政处罚决定书文号": f"浏览器测罚〔2026〕{k + 1:05d}号",
            "违法行为类型": "无证经营",
            "违法事实": "经查存在违法行为",
            "处罚依据": "《中华人民共和国行政处罚法》",
            "处罚类别": "罚款",
            "处罚内容": "给予罚款",
            "罚款金额（万元）": "1.5",
            "处罚决定日期": day,
            "处罚机关": "市市场监督管理局",
        }
        rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, SGS_PENALTY_HEADERS)
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "行政处罚.csv"
    path.write_bytes(buf.getvalue().encode("gb18030"))  # as departments really send them
    return path, wrong


def test_clerk_uploads_bad_rows_and_downloads_the_error_file(
    page: Page, server: Server, tmp_path: Path
) -> None:
    login(page, "scjg-clerk")
    page.get_by_role("link", name="工作台", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("部门工作台")
    expect(page.locator("main")).to_contain_text("市市场监督管理局")
    path, wrong = _bad_file(tmp_path)
    page.get_by_label("报送文件", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="上传并校验").click()
    expect(page).to_have_url(re.compile(r"/workbench/batches/\d+$"))
    expect(page.get_by_role("status")).to_contain_text("接收 3 行")
    expect(page.get_by_role("status")).to_contain_text("拒收 2 行")
    shot(page, "workbench-batch")
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("下载拒收行")).click()
    out = tmp_path / "errors.xlsx"
    info.value.save_as(out)
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = [[c if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[0] == "行号" and header[-1] == "错误原因" and "证件号码" in header
    reasons = {r[0]: r[-1] for r in rows[1:]}
    assert set(reasons) == {5, 6}
    assert "校验码" in reasons[5] and "13 月" in reasons[6]
    number_col = header.index("证件号码")
    for r in rows[1:]:
        assert "*" in r[number_col]
    assert wrong not in {str(c) for r in rows for c in r}
    # History lists the batch.
    page.get_by_role("link", name="报送记录").click()
    expect(page.locator("table")).to_contain_text("行政处罚.csv")


def test_clerk_checks_a_listed_person_and_gives_feedback(page: Page, server: Server) -> None:
    session, protector = _server_db(server)
    with session:
        subject = session.scalars(
            select(Subject)
            .join(ListEntry, ListEntry.subject_id == Subject.id)
            .where(
                ListEntry.list_kind == "black",
                ListEntry.status == "listed",
                Subject.kind == "person",
            )
            .limit(1)
        ).one()
        number = protector.decrypt(subject.id_cipher, subject.id_index)
    login(page, "scjg-clerk")
    page.goto("/workbench/check")
    page.get_by_label("证件号码").fill(number)
    page.get_by_label("应用场景").select_option("DAILY_SUPERVISION")
    page.get_by_label("经办人").fill("王经办")
    page.get_by_label("业务编号").fill("JC-2026-0001")
    page.get_by_role("button", name="核查").click()
    expect(page).to_have_url(re.compile(r"/workbench/checks/\d+"))
    assert number not in page.url
    expect(page.locator("main")).to_contain_text("依法公开披露严重失信信息")
    shot(page, "workbench-check")
    first = page.locator("form[action$='/feedback']").first
    first.get_by_label("处理结果").fill("已列入重点检查")
    first.get_by_role("button", name="反馈处理结果").click()
    expect(page.get_by_role("status")).to_contain_text("已反馈")
    expect(page.locator("main")).to_contain_text("反馈记录")
    page.get_by_role("link", name="核查记录与反馈").click()
    expect(page.locator("tbody tr").first).to_contain_text("已反馈")


def test_admin_sees_dashboards_with_data_and_publishes_a_case(page: Page) -> None:
    login(page, "admin")
    page.goto("/console")
    charts = page.locator("[data-chart]")
    assert charts.count() >= 8
    page.wait_for_function(
        "document.querySelectorAll('[data-chart][data-ready=true] canvas').length >= 8"
    )
    # The records-by-domain chart drew bars: its canvas is not blank.
    painted = page.evaluate(
        """() => {
          const c = document.querySelector('#chart-by_domain canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 120 && d[i+1] < 60) n++;
          return n; }"""
    )
    assert painted > 500, "the bar chart has no red bars"
    table = page.locator("#assessment-table tbody tr")
    assert table.count() >= 10
    expect(table.first.locator("td").first).to_have_text("1")
    shot(page, "console")
    # A typical case goes from the console to the portal.
    page.get_by_role("link", name="门户文章").click()
    page.get_by_role("link", name="新建文章").click()
    page.get_by_label("栏目").select_option("honour_case")
    page.get_by_label("标题").fill("身边好人：拾金不昧的出租车司机")
    page.get_by_label("正文（段落之间空一行；案例须隐去当事人真实身份信息）").fill(
        "出租车司机周某将乘客遗落的现金和证件完整归还。\n\n周某被评为身边好人。"
    )
    page.get_by_label("保存后立即发布").check()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text("已发布")
    page.goto("/articles/honour_case")
    expect(page.locator("main")).to_contain_text("拾金不昧的出租车司机")
    page.goto("/console/catalog?section=measures")
    expect(page.locator("table")).to_contain_text("限制高消费")
    shot(page, "console-catalog")
    page.goto("/console/accounts")
    expect(page.locator("table")).to_contain_text("scjg-clerk")
    shot(page, "console-accounts")


def test_roles_are_kept_to_their_pages(page: Page) -> None:
    login(page, "person1")
    resp = page.goto("/workbench")
    assert resp is not None and resp.status == 403
    expect(page.get_by_role("alert")).to_contain_text("无权查看报送批次")
    resp = page.goto("/console")
    assert resp is not None and resp.status == 403


def test_person_objects_and_the_reviewer_decides(browser: object, server: Server) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    person = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = person.new_page()
    login(page, "person2")
    row = page.locator("#archive tbody tr").filter(has=page.get_by_role("link", name="提出异议"))
    row = row.first
    document = row.locator("small").inner_text()
    row.get_by_role("link", name="提出异议").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("对信用记录提出异议")
    page.get_by_label("异议理由").fill("该处罚决定已被复议机关撤销，文书号有误。")
    page.get_by_label("证明材料（可选，PDF、图片，可多选）").set_input_files(
        files=[
            {
                "name": "复议决定书.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n%%EOF\n",
            }
        ]
    )
    page.get_by_role("button", name="提交异议").click()
    expect(page.get_by_role("status").first).to_contain_text("异议已提交")
    record_row = page.locator("#archive tbody tr").filter(has_text=document)
    expect(record_row).to_contain_text("异议处理中")
    objection_row = page.locator("#objections tbody tr").filter(has_text=document)
    expect(objection_row).to_contain_text("已提交")
    objection_id = objection_row.locator("td").first.inner_text().strip()
    shot(page, "me-objection")

    # The department that made the record decides; which department is the record's.
    session, _ = _server_db(server)
    with session:
        from xinyong.catalog.models import Department
        from xinyong.objections.models import Objection

        objection = session.get(Objection, int(objection_id))
        assert objection is not None
        department = session.get(Department, objection.department_id)
        assert department is not None
    reviewer_name = "scjg-reviewer"
    if department.code != "SCJGJ":
        reviewer_name = f"rev-{department.code.lower()}"
        admin = server.login_client("admin")
        form = admin.get("/console/accounts").text
        made = admin.post(
            "/console/accounts",
            data={
                "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', form).group(1),  # type: ignore[union-attr]
                "username": reviewer_name,
                "role": "reviewer",
                "department": department.code,
                "password": "xinyong-demo-2026",
            },
        )
        assert made.status_code in (200, 303)
    staff = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    desk = staff.new_page()
    login(desk, reviewer_name)
    desk.goto("/workbench/objections")
    link = desk.get_by_role("link", name=f"异议 {objection_id}", exact=True)
    expect(link).to_be_visible()
    shot(desk, "workbench-objections")
    link.click()
    expect(desk.locator("main")).to_contain_text("该处罚决定已被复议机关撤销")
    expect(desk.get_by_role("link", name="复议决定书.pdf")).to_be_visible()
    desk.get_by_role("button", name="受理").click()
    expect(desk.get_by_role("status")).to_contain_text("已受理")
    desk.get_by_label("撤销记录").check()
    desk.get_by_label("处理理由（将告知信息主体）").fill("经核实，处罚决定已被撤销，撤销该记录。")
    desk.get_by_role("button", name="提交处理决定").click()
    expect(desk.get_by_role("status")).to_contain_text("已作出处理决定")
    expect(desk.get_by_role("heading", level=1)).to_contain_text("已撤销记录")
    shot(desk, "workbench-objection-decided")
    staff.close()

    page.reload()
    expect(page.locator("#objections tbody tr").filter(has_text=document)).to_contain_text(
        "已撤销记录"
    )
    expect(page.locator("#archive tbody tr").filter(has_text=document)).to_contain_text("已撤销")
    expect(page.locator("#notices")).to_contain_text("异议处理结果")
    person.close()


def test_public_files_a_tipoff_and_tracks_it(page: Page) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="信用举报").click()
    page.get_by_label("被举报对象（姓名或单位名称）").fill("示范市某某餐饮店")
    page.get_by_label("失信行为的具体情况").fill("该店长期使用过期食材，并拒不整改，多次被投诉。")
    page.get_by_label("所属领域（可选）").select_option(label="食品药品")
    page.get_by_role("button", name="提交举报").click()
    code = page.locator("#tracking-code").inner_text().strip()
    assert len(code) >= 8
    shot(page, "tipoff")
    page.get_by_label("举报查询码").fill(code)
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.locator("#tracked")).to_contain_text("已收到")
    assert code not in page.url


def test_person_issues_a_report_and_the_public_verifies_it(
    browser: object, server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    person = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = person.new_page()
    login(page, "person3")
    page.get_by_role("link", name="信用报告", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("本人信用报告")
    page.get_by_label("社会公开版（仅社会公开信息，姓名和证件号码遮蔽，适合交给他人）").check()
    page.get_by_role("button", name="出具信用报告").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("社会公开")
    with page.expect_download() as info:
        row.get_by_role("link", name="PDF", exact=True).click()
    pdf = tmp_path / "信用报告.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    code = row.locator("td").last.inner_text().strip()
    shot(page, "me-reports")
    person.close()

    public = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    visitor = public.new_page()
    visitor.goto("/")
    visitor.get_by_role("navigation", name="主导航").get_by_role("link", name="报告核验").click()
    visitor.get_by_label("验证码").fill(code)
    visitor.get_by_role("button", name="核验", exact=True).click()
    expect(visitor.get_by_role("region", name="核验结果")).to_contain_text("本报告由本平台出具")
    shot(visitor, "report-verified")
    visitor.get_by_label("报告文件（PDF 或 HTML）").set_input_files(str(pdf))
    visitor.get_by_role("button", name="上传并核验").click()
    expect(visitor.get_by_role("region", name="核验结果")).to_contain_text("未被篡改")
    public.close()
