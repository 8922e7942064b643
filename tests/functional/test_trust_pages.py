"""Pages people can trust (issue 18): error pages, no text from a URL, each role in its
workspace, the portal's number search and detail pages, the individuals' penalty setting."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import World
from tests.functional.test_web_pages import _login
from xinyong.config import get_settings
from xinyong.identity.masking import mask_id_number
from xinyong.records.display import individual_penalty_public
from xinyong.records.models import Record

FULL_ID = re.compile(r"\b\d{17}[\dX]\b")


def _is_site_page(text: str) -> None:
    assert '<html lang="zh-CN">' in text
    assert 'name="viewport"' in text
    assert text.count("<h1") == 1
    assert 'href="/"' in text and "回到首页" in text


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/nope", 404, "页面不存在"),
        ("/article/999", 404, "文章不存在"),
        ("/disclosures?page=abc", 422, "「page」须为整数"),
        ("/static/nope.css", 404, "页面不存在"),
        # A path segment is named by what was typed, not by the route's parameter name.
        ("/article/abc", 422, "网址中的“abc”须为整数"),
        ("/articles/nope", 404, "栏目不存在"),
    ],
)
def test_page_urls_answer_a_chinese_page_in_the_site_layout(
    https_client: TestClient, world: World, path: str, status: int, words: str
) -> None:
    # A browser's Accept and curl's */* get the same page.
    for accept in ("text/html,application/xhtml+xml", "*/*"):
        resp = https_client.get(path, headers={"accept": accept})
        assert resp.status_code == status
        assert resp.headers["content-type"].startswith("text/html")
        _is_site_page(resp.text)
        assert words in resp.text
        assert "Not Found" not in resp.text and "Field required" not in resp.text
        assert "article_id" not in resp.text


def test_an_objection_form_for_a_bad_record_id_is_a_page(
    https_client: TestClient, world: World
) -> None:
    _login(https_client, "linxiaoman")
    resp = https_client.get("/me/objections/new?record=abc")
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("text/html")
    _is_site_page(resp.text)
    assert "「record」须为整数" in resp.text
    # Logged in: the header stays and the way back leads to the person's own workspace.
    assert 'href="/me"' in resp.text and "回到个人中心" in resp.text
    # A page the role may not open: 403 in the layout, the way back to its own workspace.
    refused = https_client.get("/console")
    assert refused.status_code == 403
    _is_site_page(refused.text)
    assert "无权访问" in refused.text and "回到个人中心" in refused.text


def test_the_api_keeps_its_json_shape_in_chinese(https_client: TestClient, world: World) -> None:
    missing = https_client.get("/api/v1/nope")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "not_found", "message": missing.json()["error"]["message"]}
    }
    assert "不存在" in missing.json()["error"]["message"]

    bad = https_client.post(
        "/api/v1/submissions",
        headers={**world.auth("department"), "content-type": "application/json"},
        content=b"{not json",
    )
    assert bad.status_code in (400, 422)
    body = bad.json()["error"]
    assert ("There was an error" not in str(body) and "JSON" in str(body)) or "解析" in str(body)

    wrong = https_client.post("/api/v1/checks", headers=world.auth("admin"), json={"scenario": "x"})
    assert wrong.status_code == 422
    details = wrong.json()["error"]["details"]
    assert details and all("Field required" not in d["reason"] for d in details)
    assert any(d["reason"] == "必填" for d in details)


def test_a_message_in_the_query_string_is_never_shown(
    https_client: TestClient, world: World
) -> None:
    _login(https_client, "linxiaoman")
    phishing = "您已被列入严重失信主体名单，请立即转账"
    for path in ("/me", "/me/reports", "/login"):
        page = https_client.get(path, params={"message": phishing})
        assert phishing not in page.text, path


def test_no_staff_page_shows_a_message_from_the_query_string(
    https_client: TestClient, world: World
) -> None:
    _login(https_client, "admin1")
    phishing = "您的账号已被冻结，请立即联系"
    pages = (
        "/console",
        "/console/accounts",
        "/console/catalog",
        "/console/calendar",
        "/console/articles",
        "/console/audit",
        "/console/audit/alerts",
        "/console/audit/chain",
        "/workbench",
        "/workbench/batches",
    )
    for path in pages:
        page = https_client.get(path, params={"message": phishing})
        assert page.status_code == 200, path
        assert phishing not in page.text, path


def test_a_flash_cookie_not_signed_for_this_session_is_ignored(
    https_client: TestClient, world: World
) -> None:
    import base64

    _login(https_client, "linxiaoman")
    forged = base64.urlsafe_b64encode("\n您已被列入严重失信主体名单".encode()).decode()
    https_client.cookies.set("xy_flash", forged + ".0123456789abcdef0123456789abcdef")
    assert "严重失信主体名单，" not in https_client.get("/me").text
    assert "您已被列入" not in https_client.get("/me").text


@pytest.mark.parametrize(
    ("username", "workspace", "label"),
    [
        ("linxiaoman", "/me", "个人中心"),
        ("clerk1", "/workbench", "工作台"),
        ("reviewer1", "/workbench", "工作台"),
        ("admin1", "/console", "控制台"),
        ("auditor1", "/console/audit", "审计"),
        ("bank1", "/institution", "机构查询"),
    ],
)
def test_each_role_lands_on_its_workspace_and_sees_no_link_it_may_not_open(
    https_client: TestClient, world: World, username: str, workspace: str, label: str
) -> None:
    page = https_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    from tests.functional.conftest import PASSWORD

    resp = https_client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == workspace
    landed = https_client.get(workspace)
    assert landed.status_code == 200, landed.text[:300]
    home = https_client.get("/").text
    assert f'href="{workspace}" data-workspace>{label}<' in home
    # Every link in the header and the front page opens for this role (no 403 behind a link).
    links = set(re.findall(r'href="(/[a-z/]*)"', home + landed.text))
    for link in sorted(links):
        if link.startswith(("/static", "/favicon")):
            continue
        status = https_client.get(link).status_code
        assert status != 403, (username, link)


def test_favicon_and_footer_settings(
    https_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    icon = https_client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"
    monkeypatch.setenv("XINYONG_SITE_CODE", "4301000001")
    monkeypatch.setenv("XINYONG_SITE_ICP", "湘ICP备12345678号")
    monkeypatch.setenv("XINYONG_SITE_POLICE_FILING", "湘公网安备 43010202000001号")
    monkeypatch.setenv("XINYONG_SITE_HOST", "示范市发展和改革委员会")
    get_settings.cache_clear()
    try:
        footer = https_client.get("/").text.split('<footer class="site-footer">', 1)[1]
        assert "网站标识码：4301000001" in footer
        assert "湘ICP备12345678号" in footer and "湘公网安备 43010202000001号" in footer
        assert "主办单位：示范市发展和改革委员会" in footer
    finally:
        get_settings.cache_clear()


def test_a_number_typed_in_the_search_box_never_reaches_an_address(
    https_client: TestClient, world: World, session: Session
) -> None:
    number = world.person_number
    resp = https_client.post(
        "/disclosures/search", data={"q": number, "category": "penalty"}, follow_redirects=False
    )
    assert resp.status_code == 303
    location = resp.headers["location"]
    assert location.startswith("/disclosures/subject/") and number not in location
    assert not FULL_ID.search(location) and "430102" not in location
    page = https_client.get(location)
    assert page.status_code == 200
    assert mask_id_number(number) in page.text and number not in page.text
    assert "林**" in page.text and "林小满" not in page.text
    # From the subject to one disclosure: its public fields, its basis, its display end.
    record_link = re.search(r'href="(/disclosures/record/[^"]+)"', page.text)
    assert record_link is not None
    detail = https_client.get(record_link.group(1)).text
    assert "《中华人民共和国行政处罚法》" in detail and "公示截止" in detail
    record = session.scalars(select(Record).where(Record.subject_id == world.subject_id)).one()
    assert str(record.display_until) in detail
    # Tokens are opaque: a tampered or guessed one is a 404 page, not somebody else.
    assert https_client.get("/disclosures/record/1").status_code == 404
    token = record_link.group(1).rsplit("/", 1)[1]
    middle = len(token) // 2
    tampered = token[:middle] + ("B" if token[middle] == "A" else "A") + token[middle + 1 :]
    assert https_client.get(f"/disclosures/record/{tampered}").status_code == 404

    # A valid number nobody has: no page keyed by it either.
    unknown = factories.resident_id(seq=999)
    none = https_client.post("/disclosures/search", data={"q": unknown}, follow_redirects=False)
    assert none.status_code == 200 and "data-not-found" in none.text and unknown not in none.text


def test_a_name_search_goes_on_to_the_list_with_links_to_the_detail_pages(
    https_client: TestClient, world: World
) -> None:
    resp = https_client.post(
        "/disclosures/search", data={"q": "林小满", "category": "penalty"}, follow_redirects=False
    )
    assert resp.status_code == 303 and resp.headers["location"].startswith("/disclosures?")
    listing = https_client.get(resp.headers["location"]).text
    assert "/disclosures/subject/" in listing and "/disclosures/record/" in listing


def test_individuals_penalties_can_be_kept_off_the_portal(
    https_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def count() -> str:
        return https_client.get("/disclosures?category=penalty&q=林小满").text

    assert "共 1 条" in count()
    monkeypatch.setenv("XINYONG_PUBLISH_INDIVIDUAL_PENALTIES", "false")
    get_settings.cache_clear()
    try:
        assert "共 0 条" in count()
        number = https_client.post(
            "/disclosures/search", data={"q": world.person_number}, follow_redirects=False
        )
        assert number.status_code == 200 and "data-not-found" in number.text
    finally:
        get_settings.cache_clear()


def _licence_row(name: str, number: str, document: str) -> dict[str, str]:
    from xinyong.submissions.templates import SGS_LICENSE_HEADERS

    row = dict.fromkeys(SGS_LICENSE_HEADERS, "")
    row |= {
        "行政相对人名称": name,
        "行政相对人类别": "自然人",
        "证件类型": "身份证",
        "证件号码": number,
        "行政许可决定文书号": document,
        "许可类别": "普通",
        "许可内容": "食品经营",
        "许可决定日期": "2026-11-02",
        "许可机关": "测试局",
    }
    return row


def test_individual_penalty_rule_and_its_sql_agree_on_every_kind_of_row(
    session: Session, world: World
) -> None:
    """The Python rule and its SQL twin, on real rows: persons' and organisations'
    penalties, licences and generic records, with the setting on and off."""
    from sqlalchemy import select as sa_select

    from xinyong.catalog.services import current_catalog
    from xinyong.demo import credit_code_for
    from xinyong.disclosure.services import _items_of_format
    from xinyong.records.display_sql import individual_penalty_clause
    from xinyong.subjects.models import Subject

    dept = factories.department(session, code="MIX", name="混合局")
    org_code = credit_code_for(4242)
    factories.submit_rows(
        session,
        [factories.penalty_row(name="示范市某某有限公司", org_code=org_code, dept=dept)],
        department_code="MIX",
    )
    factories.submit_rows(
        session,
        [_licence_row("林小满", world.person_number, "许〔2026〕混合号")],
        department_code="MIX",
    )
    factories.submit_rows(
        session,
        [
            factories.generic_row(
                "FOOD_DRUG_VIOLATION",
                session=session,
                部门代码=factories.provider_of(session, "FOOD_DRUG_VIOLATION").code,
            )
        ],
    )
    session.commit()
    catalog = current_catalog(session)
    penalty_items = _items_of_format(catalog, "sgs_penalty")
    rows = session.execute(
        sa_select(Record.id, Record.item_code, Subject.kind).join(
            Subject, Subject.id == Record.subject_id
        )
    ).all()
    kinds = {(catalog.items[code].record_format, kind) for _, code, kind in rows}
    assert {
        ("sgs_penalty", "person"),
        ("sgs_penalty", "organisation"),
        ("sgs_license", "person"),
        ("generic", "person"),
    } <= kinds
    for publish in (True, False):
        in_sql = set(
            session.scalars(
                sa_select(Record.id)
                .join(Subject, Subject.id == Record.subject_id)
                .where(individual_penalty_clause(penalty_items, publish=publish))
            )
        )
        in_python = {
            rid
            for rid, code, kind in rows
            if individual_penalty_public(catalog.items[code].record_format, kind, publish=publish)
        }
        assert in_sql == in_python
        assert (len(in_python) < len(rows)) is (not publish)


def test_an_organisation_is_found_by_its_credit_code_which_is_public(
    https_client: TestClient, world: World, session: Session
) -> None:
    from xinyong.demo import credit_code_for

    dept = factories.department(session, code="ORG", name="企业局")
    code = credit_code_for(4343)
    factories.submit_rows(
        session,
        [factories.penalty_row(name="示范市某某贸易有限公司", org_code=code, dept=dept)],
        department_code="ORG",
    )
    session.commit()
    resp = https_client.post("/disclosures/search", data={"q": code}, follow_redirects=False)
    assert resp.status_code == 303 and code not in resp.headers["location"]
    page = https_client.get(resp.headers["location"]).text
    assert "示范市某某贸易有限公司" in page and code in page  # registration data: public
    assert "统一社会信用代码" in page


def test_score_is_shown_with_its_scale_and_a_band_name_unlike_the_grades(
    https_client: TestClient, world: World
) -> None:
    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    score = me.split('id="score"', 1)[1].split("</details>", 1)[0]
    assert "满分 1000" in score and "0–1000" in score
    band = re.search(r"<strong data-band>([^<]+)</strong>", score)
    assert band is not None and band.group(1) not in ("轻微", "一般", "严重")
    assert "中等 550–649" in score


def test_an_oversized_upload_to_a_page_is_answered_with_a_page(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinyong.web.app import create_app

    monkeypatch.setenv("XINYONG_MAX_UPLOAD_BYTES", str(64 * 1024))
    get_settings.cache_clear()
    try:
        with TestClient(create_app(), base_url="https://testserver") as client:
            resp = client.post(
                "/workbench/upload", files={"file": ("big.csv", b"a" * (2 << 20), "text/csv")}
            )
            assert resp.status_code == 413
            assert resp.headers["content-type"].startswith("text/html")
            _is_site_page(resp.text)
            assert "提交的内容过大" in resp.text and "MB 上限" in resp.text
            api = client.post(
                "/api/v1/submissions", files={"file": ("big.csv", b"a" * (2 << 20), "text/csv")}
            )
            assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_rate_limited_page_is_a_429_page(
    https_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XINYONG_PORTAL_SEARCHES_PER_MINUTE", "1")
    get_settings.cache_clear()
    try:
        https_client.get("/disclosures")
        resp = https_client.get("/disclosures")
        assert resp.status_code == 429 and "Retry-After" in resp.headers
        _is_site_page(resp.text)
        assert "查询过于频繁" in resp.text
    finally:
        get_settings.cache_clear()


def test_an_unexpected_error_on_a_page_is_a_500_page(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinyong.web.app import create_app
    from xinyong.web.pages import home

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(home, "disclosure_counts", broken)
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        resp = client.get("/")
        assert resp.status_code == 500
        _is_site_page(resp.text)
        assert "服务器内部错误" in resp.text and "boom" not in resp.text
        assert client.get("/api/v1/nope").json()["error"]["code"] == "not_found"


def _this_months_statistics(client: TestClient) -> tuple[int, int]:
    """The front page's 公示统计 for the current month: (信用记录, 名单列入)."""
    row = re.search(
        r"<tr><td>\d{4}-\d{2}（本月至今）</td><td class=\"num\">([\d,]+)</td>"
        r"<td class=\"num\">([\d,]+)</td>",
        client.get("/").text,
    )
    assert row is not None
    return int(row.group(1).replace(",", "")), int(row.group(2).replace(",", ""))


def test_public_statistics_count_only_what_the_public_may_see(
    https_client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    today = dt.date.today().isoformat()
    dept = factories.department(session, code="STAT", name="统计测试局")
    before = _this_months_statistics(https_client)
    # A warning (轻微, not published) on an organisation, and a person's fine.
    from xinyong.demo import credit_code_for

    org_code = credit_code_for(777)
    factories.submit_rows(
        session,
        [
            factories.penalty_row(
                name="警示商贸有限公司",
                org_code=org_code,
                category="警告",
                decided=today,
                dept=dept,
            ),
            factories.penalty_row(
                name="王五", id_number=factories.resident_id(), decided=today, dept=dept
            ),
        ],
    )
    grades = set(session.scalars(select(Record.grade).where(Record.department_id == dept.id)))
    assert grades == {"minor", "general"}
    # A 政务共享 record that puts a person on the watch list (重点关注, not published).
    factories.submit_rows(
        session,
        [factories.generic_row("FINANCIAL_FRAUD", session=session, decided=today)],
        department_code="STAT",
    )
    # The minor record is not counted, nor the shared one or its watch-list entry; the
    # person's fine is (the setting is on).
    assert _this_months_statistics(https_client) == (before[0] + 1, before[1])
    monkeypatch.setenv("XINYONG_PUBLISH_INDIVIDUAL_PENALTIES", "false")
    get_settings.cache_clear()
    try:
        assert _this_months_statistics(https_client)[0] == before[0]
    finally:
        get_settings.cache_clear()


def test_subject_page_names_only_list_memberships_the_public_may_see(
    https_client: TestClient, session: Session
) -> None:
    # A black-list entry whose record is disputed (异议中: never published) must not be
    # named on the subject's public page; the red-list entry still is.
    from xinyong.actors import Actor, Role
    from xinyong.lists.models import ListEntry
    from xinyong.objections.services import file_objection
    from xinyong.subjects.models import Subject

    number = factories.resident_id()
    for item in ("DISHONEST_JUDGMENT_DEBTOR", "MORAL_MODEL"):  # each from its provider
        result = factories.submit_rows(
            session,
            [factories.generic_row(item, session=session, id_number=number, name="钱七")],
            department_code=factories.provider_of(session, item).code,
        )
        assert result.accepted == 1, result.errors
    subject_id = session.scalar(
        select(Record.subject_id)
        .where(Record.item_code == "MORAL_MODEL")
        .order_by(Record.id.desc())
    )
    kinds = set(
        session.scalars(select(ListEntry.list_kind).where(ListEntry.subject_id == subject_id))
    )
    assert kinds == {"black", "red"}

    def page() -> str:
        resp = https_client.post("/disclosures/search", data={"q": number}, follow_redirects=False)
        assert resp.status_code == 303
        text = https_client.get(resp.headers["location"]).text
        found = re.search(r"<dt>名单</dt><dd>(.*?)</dd>", text)
        return found.group(1) if found else ""

    assert "严重失信主体名单" in page() and "守信红名单" in page()
    black = session.scalar(
        select(Record.id).where(
            Record.subject_id == subject_id, Record.item_code == "DISHONEST_JUDGMENT_DEBTOR"
        )
    )
    assert black is not None and session.get(Subject, subject_id) is not None
    person = Actor("person:qianqi", Role.PERSON, subject_id=subject_id, channel="web")
    file_objection(session, person, black, reason="已履行完毕")
    session.commit()
    shown = page()
    assert "守信红名单" in shown and "严重失信主体名单" not in shown
