"""What the credit office sees from the command line and the API: the full archive with
provenance and history, catalog loads that name every error, Chinese labels, the demo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from tests.functional.conftest import World
from xinyong.cli.main import app
from xinyong.config import get_settings
from xinyong.identity.protection import protector_for
from xinyong.notices.models import Notice
from xinyong.queries.models import QueryLog
from xinyong.records.models import Record
from xinyong.subjects.services import find_subject
from xinyong.submissions.jobs import run_pending_jobs
from xinyong.web.app import create_app

runner = CliRunner()


@pytest.fixture()
def client(session: Session) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _old_then_corrected(session: Session, tmp_path: Path) -> tuple[str, str]:
    """An organisation with only 2024 penalties, one resubmitted with a change (2 versions)."""
    dept = factories.department(session, code="QYJG", name="示范市市场监督管理局")
    code = factories.credit_code_for(4242)
    rows = [
        factories.penalty_row(
            name="示范商贸有限公司", org_code=code, dept=dept, document=doc, decided="2024-03-01"
        )
        for doc in ("示市监罚〔2024〕1号", "示市监罚〔2024〕2号")
    ]
    first = factories.write_csv(tmp_path / "2024年处罚.csv", rows, encoding="gbk")
    assert runner.invoke(app, ["import", str(first)]).exit_code == 0
    rows[0]["处罚内容"] = "罚款一万五千元（复核更正）"
    second = factories.write_csv(tmp_path / "更正.csv", rows[:1], encoding="gbk")
    assert runner.invoke(app, ["import", str(second)]).exit_code == 0
    assert runner.invoke(app, ["expire"]).exit_code == 0
    return code, "示市监罚〔2024〕1号"


def test_office_sees_the_whole_archive_with_provenance_and_history(
    session: Session, tmp_path: Path
) -> None:
    code, corrected = _old_then_corrected(session, tmp_path)

    # Other departments keep seeing only what visibility() allows: nothing expired.
    plain = runner.invoke(app, ["archive", code])
    assert plain.exit_code == 0, plain.output
    assert "共 0 条记录" in plain.stdout
    assert "另有 2 条记录不在共享范围内" in plain.stdout.replace("\n", "")

    refused = runner.invoke(app, ["archive", code, "--full"])
    assert refused.exit_code == 1 and "--purpose" in refused.output

    full = runner.invoke(app, ["archive", code, "--full", "--purpose", "档案核查（信访件2026-17）"])
    assert full.exit_code == 0, full.output
    assert "完整档案，共 2 条记录" in full.stdout
    # The version the correction replaced, with where it came from.
    assert "第 1 版" in full.stdout and "报送人 信用办（命令行）" in full.stdout

    data = json.loads(
        runner.invoke(app, ["archive", code, "--full", "--purpose", "档案核查", "--json"]).stdout
    )
    by_doc = {r["document_number"]: r for r in data["records"]}
    assert {r["state_label"] for r in data["records"]} == {"公示期满"}
    record = by_doc[corrected]
    assert record["provenance"]["row_number"] == 2
    assert record["provenance"]["submitted_by"] == "cli:cli"
    assert record["provenance"]["filename"] == "更正.csv"
    assert record["provenance"]["channel_name"] == "命令行导入"
    (old,) = record["history"]
    assert old["version"] == 1 and old["provenance"]["filename"] == "2024年处罚.csv"
    assert old["facts"]["penalty_content"] != record["facts"]["penalty_content"]
    assert record["grade_source_name"] == "定级规则：行政处罚·罚款"

    subject = find_subject(session, protector_for(), code)
    assert subject is not None
    logged = session.scalars(
        select(QueryLog).where(QueryLog.subject_id == subject.id, QueryLog.action == "archive:full")
    ).all()
    assert [q.purpose for q in logged] == ["档案核查（信访件2026-17）", "档案核查"]
    assert all(q.basis == "administration" for q in logged)


def test_full_archive_api_is_the_offices_alone(
    client: TestClient, world: World, session: Session
) -> None:
    url = f"/api/v1/subjects/{world.subject_id}/full-archive"
    assert client.get(url, params={"purpose": "档案核查"}, headers=world.auth("department")).status_code == 403  # fmt: skip
    assert client.get(url, headers=world.auth("admin")).status_code == 422  # purpose required
    # Blanks are no purpose either (the CLI and the page refuse them too); nothing logged.
    blank = client.get(url, params={"purpose": "   "}, headers=world.auth("admin"))
    assert blank.status_code == 422 and "查询目的" in blank.json()["error"]["message"]
    response = client.get(url, params={"purpose": "档案核查"}, headers=world.auth("admin"))
    assert response.status_code == 200, response.text
    records = response.json()["records"]
    assert records and all("history" in r and "provenance" in r for r in records)
    assert all(r["provenance"]["batch_id"] is not None for r in records)
    log = session.scalars(
        select(QueryLog).where(
            QueryLog.subject_id == world.subject_id, QueryLog.action == "archive:full"
        )
    ).one()
    assert log.purpose == "档案核查"
    # The department's own archive route still answers by open level, with provenance.
    plain = client.get(
        f"/api/v1/subjects/{world.subject_id}/archive",
        params={"purpose": "行政许可审查", "reference": "许可〔2026〕1号"},
        headers=world.auth("department"),
    )
    assert plain.status_code == 200
    assert all(r.get("history") is None for r in plain.json()["records"])


def test_submission_api_reports_what_decided_each_grade(
    client: TestClient, world: World, session: Session
) -> None:
    traffic = factories.department(session, provides="SERIOUS_TRAFFIC_VIOLATION")
    session.commit()
    row = {"目录项": "SERIOUS_TRAFFIC_VIOLATION", "姓名": "冯十一", "证件类型": "身份证", "证件号码": factories.resident_id(), "文书号": "公交决字〔2026〕88号", "决定日期": factories.RECENT, "行为": "DRUNK_DRIVING", "严重违法类型": "醉酒驾驶"}  # fmt: skip
    response = client.post(
        "/api/v1/submissions",
        json={"rows": [row], "department": traffic.code},
        headers=world.auth("admin"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1
    assert body["grade_sources"] == [
        {
            "source": "behaviour:DRUNK_DRIVING",
            "label": "信用行为分类目录：醉酒驾驶机动车",
            "rows": 1,
        }
    ]


def test_catalog_load_names_every_error_in_chinese_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "坏目录.yaml"
    path.write_text(
        """version: 3
items:
  - code: EXAM_CHEATING
    name: 考试舞弊
    info_type: LAW_COMPLIANCE
    domain: EDUCATION
    nature: negative
    default_grade: general
    periods:
      general: {min_months: 3, max_months: 24}
  - code: BAD_NATURE
    name: 坏性质
    info_type: LAW_COMPLIANCE
    domain: EDUCATION
    nature: negativ
  - code: NO_DOMAIN
    name: 缺领域
    info_type: LAW_COMPLIANCE
    nature: neutral
    deadline_days: -2
""",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["catalog", "load", str(path)])
    assert result.exit_code == 1
    out = result.output
    # Every error in one pass: the three entry errors and the valid entry's period.
    assert "4 处错误" in out
    assert "第 3 行：目录项 EXAM_CHEATING 一般等级的最长公示期限 24 个月超出上限" in out
    assert "第 15 行（items BAD_NATURE）：nature 应为以下之一：negative、positive、neutral" in out
    assert "第 16 行（items NO_DOMAIN）：domain 缺少必填项" in out
    assert "第 20 行（items NO_DOMAIN）：deadline_days 应不小于 0" in out
    assert "Input should" not in out

    # Valid entries, but a period beyond 第36号令's bound: refused, naming the line.
    good = path.read_text(encoding="utf-8").split("  - code: BAD_NATURE")[0]
    path.write_text(good, encoding="utf-8")
    result = runner.invoke(app, ["catalog", "load", str(path)])
    assert result.exit_code == 1
    assert "第 3 行" in result.output and "24 个月超出上限" in result.output
    assert "国家发展改革委令第36号" in result.output


def test_changsha_profile_widens_the_bounds_explicitly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    path = tmp_path / "长沙.yaml"
    path.write_text(
        "version: 3\nitems:\n  - code: EXAM_CHEATING\n    name: 考试舞弊\n    info_type: LAW_COMPLIANCE\n"
        "    domain: EDUCATION\n    nature: negative\n    default_grade: general\n"
        "    behaviour_field: cheating_kind\n    fields:\n"
        "      - {name: cheating_kind, label: 舞弊情形, type: enum, choices: [替考, 其他]}\n"
        "    periods:\n      general: {min_months: 3, max_months: 36}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("XINYONG_PROFILE", "changsha")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["catalog", "load", str(path)])
    finally:
        monkeypatch.delenv("XINYONG_PROFILE")
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["catalog", "list", "items"])
    assert "第 2 版" in listed.stdout  # the version in force of EXAM_CHEATING


def test_grade_and_lists_speak_chinese(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    factories.submit_rows(
        session,
        [factories.penalty_row(id_number=number, dept=dept, category="行政拘留")],
    )
    session.commit()
    record = session.scalars(select(Record).order_by(Record.id.desc())).first()
    assert record is not None
    graded = runner.invoke(app, ["grade", str(record.id), "--to", "一般", "--reason", "复核"])
    assert graded.exit_code == 0, graded.output
    assert "已调整为 一般" in graded.stdout and "general" not in graded.stdout
    # Back to 严重: only such a record may start the black-list procedure below.
    again = runner.invoke(app, ["grade", str(record.id), "--to", "严重", "--reason", "再复核"])
    assert again.exit_code == 0, again.output
    assert "已调整为 严重" in again.stdout and "serious" not in again.stdout
    notified = runner.invoke(
        app,
        [
            "lists",
            "notify",
            str(record.id),
            "--reasons",
            "拒不履行",
            "--basis",
            "国办发〔2020〕49号",
        ],
    )
    assert notified.exit_code == 0, notified.output
    shown = runner.invoke(app, ["lists", "show", number])
    assert shown.exit_code == 0, shown.output
    assert "已告知" in shown.stdout
    for code in ("notified", "listed", "None", "procedure"):
        assert code not in shown.stdout


def test_organisations_are_not_told_of_a_personal_archive(session: Session) -> None:
    dept = factories.department(session)
    code = factories.credit_code_for(777)
    factories.submit_rows(session, [factories.penalty_row(name="示范建材有限公司", org_code=code, dept=dept)])  # fmt: skip
    subject = find_subject(session, protector_for(), code)
    assert subject is not None
    (notice,) = session.scalars(select(Notice).where(Notice.subject_id == subject.id)).all()
    assert "个人信用档案" not in notice.body and "贵单位" in notice.body


def test_demo_ends_with_the_daily_job_applied(session: Session) -> None:
    import datetime as dt

    from xinyong.demo import build_demo_city
    from xinyong.identity.masking import Audience
    from xinyong.records.display import visibility

    build_demo_city(persons=40, seed=11, per_person=6)
    today = dt.date.today()
    stale = session.scalars(
        select(Record).where(Record.state == "active", Record.display_until < today)
    ).all()
    assert stale == []
    expired = session.scalars(select(Record).where(Record.state == "expired")).all()
    assert expired  # records decided up to four years ago are past their display
    for record in expired[:20]:
        vis = visibility(
            state=record.state,
            open_level=record.open_level,
            display_from=record.display_from,
            display_until=record.display_until,
            audience=Audience.SELF,
            on=today,
        )
        assert vis.label == "公示期满" and not vis.used


def test_import_summary_says_what_graded_and_what_to_check(
    session: Session, tmp_path: Path
) -> None:
    dept = factories.department(session)
    session.commit()
    rows = [factories.penalty_row(dept=dept), factories.penalty_row(dept=dept, category="警告")]
    path = factories.write_csv(tmp_path / "处罚.csv", rows, encoding="gbk")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    out = result.stdout.replace("\n", "")
    assert "（双公示行政处罚）" in out and "sgs_penalty" not in out
    assert "定级依据：" in out and "定级规则：行政处罚·警告 1 行" in out
    # 违法行为类型 无证经营 names no catalog behaviour: accepted, and said so.
    assert "提示：" in out and "2 行所填行为未对应信用行为分类目录" in out


def test_console_archive_page_shows_every_state_to_the_office_alone(
    https_client: TestClient, world: World, session: Session
) -> None:
    import re

    from sqlalchemy import update

    from tests.functional.test_web_pages import FULL_ID, _csrf, _login

    repaired = session.scalars(
        select(Record).where(Record.subject_id == world.subject_id).order_by(Record.id)
    ).first()
    assert repaired is not None
    session.execute(update(Record).where(Record.id == repaired.id).values(state="repaired"))
    session.commit()

    _login(https_client, "clerk1")
    assert https_client.get("/console/archive", follow_redirects=False).status_code in (302, 303, 403)  # fmt: skip
    https_client.cookies.clear()

    _login(https_client, "admin1")
    form = https_client.get("/console/archive")
    assert form.status_code == 200 and "档案管理" in form.text
    from tests.browser.test_pages_quality import check_html

    assert check_html(form.text) == []
    no_purpose = https_client.post(
        "/console/archive",
        data={"csrf_token": _csrf(form.text), "id_number": world.person_number, "purpose": ""},
    )
    assert no_purpose.status_code == 422 and "查询目的" in no_purpose.text
    page = https_client.post(
        "/console/archive",
        data={
            "csrf_token": _csrf(form.text),
            "id_number": world.person_number,
            "purpose": "复核修复材料",
        },
    )
    assert page.status_code == 200, page.text[:300]
    assert "已修复" in page.text and repaired.document_number in page.text
    assert check_html(page.text) == []
    assert "批次" in page.text and "定级规则" in page.text
    # The world's rows were imported at the server's console: named so, not by its code.
    assert "信用办（命令行）" in page.text and "cli:" not in page.text
    assert not FULL_ID.search(re.sub(r"<[^>]+>", " ", page.text))
    log = session.scalars(
        select(QueryLog).where(
            QueryLog.subject_id == world.subject_id, QueryLog.action == "archive:full"
        )
    ).one()
    assert log.purpose == "复核修复材料"


def test_a_food_safety_penalty_reaches_the_food_domains_measures(
    client: TestClient, session: Session
) -> None:
    from xinyong.accounts.models import KeyRole
    from xinyong.accounts.services import issue_api_key

    dept = factories.department(session)
    food, other = factories.resident_id(), factories.resident_id()
    rows = []
    for number, basis in (
        (food, "《中华人民共和国食品安全法》第一百二十六条"),
        (other, "《中华人民共和国行政处罚法》第二十八条"),
    ):
        row = factories.penalty_row(id_number=number, dept=dept)
        row.update({"罚款金额（万元）": "5", "处罚依据": basis})
        rows.append(row)
    assert factories.submit_rows(session, rows).accepted == 2
    key = issue_api_key(session, KeyRole.DEPARTMENT, "市场监管执法系统", dept)
    session.commit()
    stored = {r.document_number: r.domain for r in session.scalars(select(Record))}
    assert set(stored.values()) >= {"FOOD_DRUG", "GENERAL"}

    def measures(number: str) -> set[str]:
        response = client.post(
            "/api/v1/checks",
            json={
                "id_number": number,
                "scenario": "DAILY_SUPERVISION",
                "operator": "王科员",
                "business_ref": "JC-1",
            },
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200, response.text
        return {d["measure"] for d in response.json()["decisions"]}

    # Both are 一般 (a 5万 fine), but only the food-safety one is in a key domain.
    assert "P_KEY_DOMAIN_SUPERVISION" in measures(food)
    assert "P_KEY_DOMAIN_SUPERVISION" not in measures(other)


def test_workbench_batch_page_shows_what_decided_the_grades(
    https_client: TestClient, world: World, tmp_path: Path, session: Session
) -> None:
    import openpyxl

    from tests.functional.conftest import PASSWORD
    from xinyong.accounts.services import create_user
    from xinyong.actors import Role

    # The traffic police's clerk: a department submits only the items it provides.
    traffic = factories.department(session, provides="SERIOUS_TRAFFIC_VIOLATION")
    create_user(
        session,
        username="clerk_jj",
        password=PASSWORD,
        role=Role.CLERK,
        department_code=traffic.code,
    )
    session.commit()

    from tests.browser.test_pages_quality import check_html
    from tests.functional.test_web_pages import _csrf, _login

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    headers = [
        "目录项",
        "姓名",
        "证件类型",
        "证件号码",
        "文书号",
        "决定日期",
        "行为",
        "严重违法类型",
    ]
    sheet.append(headers)
    sheet.append(["SERIOUS_TRAFFIC_VIOLATION", "褚十二", "身份证", factories.resident_id(), "公交决字〔2026〕301号", factories.RECENT, "DRUNK_DRIVING", "醉酒驾驶"])  # fmt: skip
    path = tmp_path / "严重交通违法.xlsx"
    book.save(path)

    _login(https_client, "clerk_jj")
    page = https_client.get("/workbench")
    resp = https_client.post(
        "/workbench/upload",
        data={"csrf_token": _csrf(page.text)},
        files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:300]
    run_pending_jobs()
    shown = https_client.get(resp.headers["location"])
    assert shown.status_code == 200
    assert "定级依据" in shown.text and "信用行为分类目录：醉酒驾驶机动车：1 条" in shown.text
    assert "网页上传" in shown.text and "通用格式" in shown.text
    assert check_html(shown.text) == []
