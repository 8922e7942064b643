"""Pages through the app on both databases: what the public sees, the workbench, the console."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import PASSWORD, World
from xinyong.accounts.services import create_user
from xinyong.config import get_settings
from xinyong.demo import SGS_PENALTY_HEADERS
from xinyong.identity.masking import mask_id_number
from xinyong.records.models import Record, SubmissionBatch
from xinyong.submissions.jobs import run_pending_jobs

FULL_ID = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dX](?![0-9A-Za-z])")


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:300]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


# -- the portal ---------------------------------------------------------------------------


def test_public_search_shows_only_public_records_in_use_and_masks_persons(
    https_client: TestClient, world: World, session: Session
) -> None:
    dept = factories.department(session, code="PDEPT", name="公示测试局")
    number = world.person_number
    factories.submit_rows(
        session,
        [
            factories.penalty_row(
                name="林小满", id_number=number, dept=dept, document="公示〔2026〕争议号"
            ),
            factories.penalty_row(
                name="林小满",
                id_number=number,
                dept=dept,
                document="公示〔2020〕过期号",
                decided=(dt.date.today() - dt.timedelta(days=5 * 365)).isoformat(),
            ),
        ],
    )
    session.execute(
        update(Record)
        .where(Record.document_number == "公示〔2026〕争议号")
        .values(state="disputed")
    )
    # A government-level record of the same person never reaches the portal.
    factories.submit_rows(
        session,
        [
            factories.generic_row(
                "FOOD_DRUG_VIOLATION",
                session=session,
                id_number=number,
                name="林小满",
                document="政务〔2026〕共享号",
                部门代码="PDEPT",
            )
        ],
    )
    session.commit()

    page = https_client.get("/disclosures", params={"category": "penalty", "q": "林小满"})
    assert page.status_code == 200
    text = page.text
    assert "林**" in text and "林小满" not in text.split("<main", 1)[1].replace(
        'value="林小满"', ""
    ).replace("“林小满”", "")
    assert mask_id_number(number) in text
    assert number not in text and not FULL_ID.search(text)
    assert "争议号" not in text and "过期号" not in text and "共享号" not in text
    assert "共 1 条" in text

    # A surname alone finds nobody: persons are found by the full name only.
    assert "共 0 条" in https_client.get("/disclosures?category=penalty&q=林小").text
    short = https_client.get("/disclosures?category=penalty&q=林")
    assert short.status_code == 200 and "至少 2 个字" in short.text


def test_public_search_is_rate_limited_per_client(
    https_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "portal_searches_per_minute", 3)
    codes = [https_client.get("/disclosures").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = https_client.get("/disclosures", headers={"accept": "text/html"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "查询过于频繁" in refused.text
    # Articles and guides are not limited.
    assert https_client.get("/guides").status_code == 200


def test_articles_go_from_console_to_portal_and_back(
    https_client: TestClient, world: World
) -> None:
    _login(https_client, "admin1")
    form = https_client.get("/console/articles/new")
    resp = https_client.post(
        "/console/articles",
        data={
            "csrf_token": _csrf(form.text),
            "kind": "warning_case",
            "title": "失信案例：虚假证明",
            "body": "某人出具虚假证明。\n\n被列入重点关注名单。<script>alert(1)</script>",
            "publish": "on",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    listing = https_client.get("/articles/warning_case").text
    link = re.search(r'href="/article/(\d+)">失信案例：虚假证明', listing)
    assert link is not None
    article = https_client.get(f"/article/{link.group(1)}").text
    assert "<script>alert(1)</script>" not in article  # plain text, escaped
    assert "&lt;script&gt;" in article
    status = https_client.post(
        f"/console/articles/{link.group(1)}/status",
        data={"csrf_token": _csrf(listing), "status": "withdrawn"},
        follow_redirects=False,
    )
    assert status.status_code == 303
    gone = https_client.get(f"/article/{link.group(1)}", headers={"accept": "text/html"})
    assert gone.status_code == 404 and "已撤下" in gone.text
    # Without the CSRF token nothing is saved.
    forged = https_client.post(
        "/console/articles", data={"kind": "policy", "title": "x", "body": "y"}
    )
    assert forged.status_code == 403


def test_empty_article_is_refused_in_chinese(https_client: TestClient, world: World) -> None:
    _login(https_client, "admin1")
    form = https_client.get("/console/articles/new")
    resp = https_client.post(
        "/console/articles",
        data={"csrf_token": _csrf(form.text), "kind": "policy", "title": " ", "body": "正文"},
    )
    assert resp.status_code == 422 and "标题不能为空" in resp.text


# -- the workbench ------------------------------------------------------------------------


def _penalty_csv(rows: list[dict[str, str]]) -> bytes:
    import csv

    buf = io.StringIO()
    writer = csv.DictWriter(buf, SGS_PENALTY_HEADERS)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("gb18030")


def test_clerk_upload_error_file_and_department_scope(
    https_client: TestClient, world: World, session: Session
) -> None:
    other = factories.department(session, code="ODEPT", name="别的局")
    create_user(
        session, username="oclerk", password=PASSWORD, role="clerk", department_code=other.code
    )
    session.commit()
    wrong = factories.resident_id(seq=555)
    wrong = wrong[:-1] + ("1" if wrong[-1] != "1" else "2")
    data = _penalty_csv(
        [
            factories.penalty_row(name="钱一", id_number=factories.resident_id(seq=551)),
            factories.penalty_row(name="钱二", id_number=wrong),
            factories.penalty_row(
                name="钱三", id_number=factories.resident_id(seq=553), decided="2026-02-30"
            ),
        ]
    )
    _login(https_client, "clerk1")
    page = https_client.get("/workbench")
    assert page.status_code == 200 and "世界市场监管局" in page.text
    resp = https_client.post(
        "/workbench/upload",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("处罚.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    location = resp.headers["location"]
    batch_id = int(location.rsplit("/", 1)[1])
    # Queued: the page polls (排队中) until the job runner has imported the file.
    waiting = https_client.get(location).text
    assert "排队中" in waiting and f"/workbench/batches/{batch_id}/status" in waiting
    assert run_pending_jobs() == 1
    batch = session.get(SubmissionBatch, batch_id)
    assert batch is not None and batch.channel == "web"
    session.refresh(batch)
    assert (batch.accepted, batch.rejected) == (1, 2)
    shown = https_client.get(location).text
    assert "拒收 2 行" in shown and "校验码" in shown and wrong not in shown

    xlsx = https_client.get(f"{location}/errors.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = [[c or "" for c in r] for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "行号" and rows[0][-1] == "错误原因" and rows[0][-2] == "错误列"
    assert [r[0] for r in rows[1:]] == [3, 4]
    assert all("*" in str(r[rows[0].index("证件号码")]) for r in rows[1:])
    assert not any(FULL_ID.search(str(c)) for r in rows for c in r)

    history = https_client.get("/workbench/batches").text
    assert f"#{batch_id}" in history

    # Another department's clerk does not see the batch at all.
    https_client.cookies.clear()
    _login(https_client, "oclerk")
    assert https_client.get(location, headers={"accept": "text/html"}).status_code == 404
    assert https_client.get(f"{location}/errors.xlsx").status_code == 404
    assert f"#{batch_id}" not in https_client.get("/workbench/batches").text


def test_upload_without_a_file_or_unreadable(https_client: TestClient, world: World) -> None:
    _login(https_client, "clerk1")
    page = https_client.get("/workbench")
    empty = https_client.post(
        "/workbench/upload",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("", b"", "text/csv")},
    )
    assert empty.status_code == 422 and "请选择要上传的文件" in empty.text
    junk = https_client.post(
        "/workbench/upload",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("x.csv", "姓名,年龄\n张三,3\n".encode(), "text/csv")},
    )
    run_pending_jobs()
    junk = https_client.get(junk.url)
    assert junk.status_code == 200 and "文件无法读取" in junk.text and "缺少" in junk.text


def test_check_page_keeps_the_number_out_of_urls_and_takes_feedback(
    https_client: TestClient, world: World
) -> None:
    _login(https_client, "clerk1")
    form = https_client.get("/workbench/check")
    resp = https_client.post(
        "/workbench/check",
        data={
            "csrf_token": _csrf(form.text),
            "id_number": world.person_number,
            "scenario": "ADMIN_LICENSING",
            "operator": "张经办",
            "business_ref": "XK-1",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    location = resp.headers["location"]
    assert world.person_number not in location
    result = https_client.get(location)
    assert result.status_code == 200 and "核查结论" in result.text
    assert world.person_number not in result.text
    bad = https_client.post(
        "/workbench/check",
        data={
            "csrf_token": _csrf(form.text),
            "id_number": "123",
            "scenario": "ADMIN_LICENSING",
            "operator": "张经办",
            "business_ref": "XK-2",
        },
    )
    assert bad.status_code == 422 and 'class="error"' in bad.text


# -- the console --------------------------------------------------------------------------


def test_console_dashboard_and_assessment(https_client: TestClient, world: World) -> None:
    _login(https_client, "admin1")
    page = https_client.get("/console")
    assert page.status_code == 200
    assert "部门考核" in page.text and "世界市场监管局" in page.text
    data = re.search(r'id="dashboard-data">(.*?)</script>', page.text, re.S)
    assert data is not None
    import json

    charts = json.loads(data.group(1))
    assert set(charts) >= {"by_domain", "by_department", "by_month", "list_sizes", "checks"}
    assert sum(charts["by_department"]["series"]["记录数"]) >= 2


def test_console_accounts_create_and_disable(https_client: TestClient, world: World) -> None:
    _login(https_client, "admin1")
    page = https_client.get("/console/accounts")
    made = https_client.post(
        "/console/accounts",
        data={
            "csrf_token": _csrf(page.text),
            "username": "newclerk",
            "role": "clerk",
            "department": "WDEPT",
            "password": "Strong-pass-2026",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    listing = https_client.get("/console/accounts").text
    assert "newclerk" in listing
    off = https_client.post(
        "/console/accounts/newclerk/active",
        data={"csrf_token": _csrf(listing), "active": "no"},
        follow_redirects=False,
    )
    assert off.status_code == 303 and "已停用" in https_client.get(off.headers["location"]).text
    weak = https_client.post(
        "/console/accounts",
        data={
            "csrf_token": _csrf(listing),
            "username": "weak",
            "role": "auditor",
            "password": "123",
        },
    )
    assert weak.status_code == 422 and 'class="error"' in weak.text


def test_catalog_page_loads_a_new_version(
    https_client: TestClient, world: World, session: Session, request: pytest.FixtureRequest
) -> None:
    from xinyong.catalog import services as catalog_services
    from xinyong.catalog.models import CatalogEntry

    request.addfinalizer(catalog_services._invalidate)  # the rollback must not stay cached
    _login(https_client, "admin1")
    page = https_client.get("/console/catalog?section=scenarios")
    assert "应用场景" in page.text
    yaml_text = (
        "version: 1\nscenarios:\n  - code: WEB_TEST_SCENARIO\n    name: 网页测试场景\n"
        "    mandatory: true\n"
    )
    resp = https_client.post(
        "/console/catalog",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("s.yaml", yaml_text.encode(), "application/x-yaml")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    shown = https_client.get(resp.headers["location"]).text
    assert "载入完成" in shown and "新增 1 项" in shown
    assert session.scalar(select(CatalogEntry.id).where(CatalogEntry.code == "WEB_TEST_SCENARIO"))


def test_upload_shows_every_error_of_a_row_and_the_notes_of_accepted_rows(
    https_client: TestClient, world: World, session: Session
) -> None:
    """A GBK CSV through the clerk's page: one row with three errors, one written with a
    pre-1999 15-digit number, one with another name for a known number."""
    old = factories.resident_id(birth=dt.date(1962, 2, 2), seq=561)
    bad = factories.penalty_row(
        name="孙二", id_number="110105194912310021", decided="2026-02-30", 处罚类别="打板子"
    )
    data = _penalty_csv(
        [
            factories.penalty_row(name="欧阳一", id_number=old[:6] + old[8:17]),
            bad,
            factories.penalty_row(name="林小蛮", id_number=world.person_number),
        ]
    )
    _login(https_client, "clerk1")
    page = https_client.get("/workbench")
    resp = https_client.post(
        "/workbench/upload",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("处罚.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    location = resp.headers["location"]
    run_pending_jobs()
    shown = https_client.get(location).text
    assert "拒收 1 行" in shown
    for reason in ("校验码", "处罚决定日期", "处罚类别的值不在允许范围内"):
        assert reason in shown
    assert "提示" in shown and "已由 15 位号码转换" in shown
    assert "与档案中同一证件号码的姓名“林**”不一致" in shown
    assert not FULL_ID.search(shown) and old[:6] + old[8:17] not in shown

    sheet = load_workbook(io.BytesIO(https_client.get(f"{location}/errors.xlsx").content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert [r[0] for r in rows[1:]] == [3]  # one line for the row, however many errors
    assert rows[1][-2] == "证件号码、处罚决定日期、处罚类别"
    assert rows[1][-1].count("\n") == 2 and rows[1][-1].startswith("证件号码：身份证号校验码不正确")


def test_a_killed_import_is_shown_as_interrupted(
    https_client: TestClient, world: World, session: Session
) -> None:
    from xinyong.catalog.models import Department
    from xinyong.submissions.ingest import mark_interrupted_batches

    dept = session.scalars(select(Department).where(Department.code == "WDEPT")).one()
    started = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    batch = SubmissionBatch(department_id=dept.id, submitted_by="user:clerk1", channel="cli",
                            filename="大文件.csv", started_at=started, heartbeat_at=started,
                            total_rows=20_000, accepted=19_990, rejected=10)  # fmt: skip
    session.add(batch)
    session.flush()
    assert mark_interrupted_batches(session) == 1
    session.commit()
    _login(https_client, "clerk1")
    page = https_client.get(f"/workbench/batches/{batch.id}").text
    assert "导入中断" in page and "19990 行已入库" in page and "hx-get" not in page
    assert "中断" in https_client.get("/workbench/batches").text
