"""The holiday schedule (节假日安排) as the credit office loads it: the console page with a
GBK CSV saved by Excel, the CLI with the YAML of docs/workflows.md; the person sees the
deadline marked 暂定 until the year is loaded."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.functional.conftest import PASSWORD, World
from xinyong.actors import Actor, Role
from xinyong.cli.main import app
from xinyong.objections.models import Objection
from xinyong.objections.services import file_objection
from xinyong.records.models import Record
from xinyong.workdays.models import HolidaySchedule

FIXTURE = Path(__file__).parents[1] / "data" / "holiday-schedule-2027.TEST-DATA.yaml"
# TEST DATA, not the State Council's 2027 schedule: Spring Festival 2.5–2.12, Saturday 2.20 worked.
TEST_CSV = (
    "日期,安排,节日\r\n"
    + "".join(f"2027-02-{d:02d},放假,春节\r\n" for d in range(5, 13))
    + "2027-02-20,上班,春节\r\n2027-01-01,放假,元旦\r\n"
    # the other statutory holidays of 2027, so the file is a whole year's schedule
    + "".join(
        f"{day},放假,{name}\r\n"
        for day, name in (
            ("2027-04-05", "清明节"),
            ("2027-05-01", "劳动节"),
            ("2027-05-02", "劳动节"),
            ("2027-06-09", "端午节"),
            ("2027-09-15", "中秋节"),
            ("2027-10-01", "国庆节"),
            ("2027-10-02", "国庆节"),
            ("2027-10-03", "国庆节"),
        )
    )
)


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    token = _csrf(page.text)
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:300]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _row(html: str, year: int) -> str:
    found = re.search(rf"<tr[^>]*>\s*<td data-label=\"年度\">{year}</td>(.*?)</tr>", html, re.S)
    assert found is not None, f"no row for {year}"
    return found.group(1)


def test_console_page_loads_a_schedule_and_the_persons_deadline_moves(
    https_client: TestClient, world: World, session: Session
) -> None:
    record_id = session.scalar(select(Record.id).where(Record.subject_id == world.subject_id))
    assert record_id is not None
    person = Actor("person:linxiaoman", Role.PERSON, subject_id=world.subject_id, channel="web")
    objection = file_objection(
        session, person, record_id, reason="不是本人", on=dt.date(2027, 2, 1)
    )
    session.commit()
    assert objection.decide_by == dt.date(2027, 2, 10)

    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    assert re.search(r"2027-02-10 <span class=\"provisional\"[^>]*>暂定</span>", me)
    https_client.cookies.clear()

    _login(https_client, "admin1")
    page = https_client.get("/console/calendar")
    assert page.status_code == 200
    assert "随平台提供" in _row(page.text, 2026)
    assert "暂定" in _row(page.text, 2027) and "02-05 春节" in _row(page.text, 2027)

    resp = https_client.post(
        "/console/calendar",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("2027年节假日安排.csv", TEST_CSV.encode("gbk"), "text/csv")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    shown = https_client.get(resp.headers["location"]).text
    assert "已载入 2027 年（第 1 版）" in shown and "异议 1 件" in shown
    row = _row(shown, 2027)
    assert "信用办载入" in row and "02-20" in row and "暂定" not in row

    session.expire_all()
    assert session.get(Objection, objection.id).decide_by == dt.date(2027, 2, 16)  # type: ignore[union-attr]
    https_client.cookies.clear()
    _login(https_client, "linxiaoman")
    me = https_client.get("/me").text
    assert '<td data-label="处理期限">2027-02-16</td>' in me  # no 暂定 mark any more
    assert "处理期限重新计算为 2027年02月16日" in me  # and the person is told


def test_a_bad_upload_changes_nothing_and_only_the_office_may_load(
    https_client: TestClient, world: World, session: Session
) -> None:
    _login(https_client, "admin1")
    page = https_client.get("/console/calendar")
    bad = "日期,安排\r\n2027-02-19,上班\r\n".encode("gbk")
    resp = https_client.post(
        "/console/calendar",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("bad.csv", bad, "text/csv")},
    )
    assert "载入失败" in resp.text and "第 2 行：调休上班日 2027-02-19 是工作日" in resp.text
    assert session.scalar(select(func.count()).select_from(HolidaySchedule)) == 0
    https_client.cookies.clear()
    _login(https_client, "linxiaoman")
    assert https_client.get("/console/calendar", follow_redirects=False).status_code in (303, 403)


def test_cli_calendar_load_and_list(session: Session) -> None:
    runner = CliRunner()
    before = runner.invoke(app, ["calendar", "list", "--json", "--ahead", "4"])
    assert before.exit_code == 0, before.output
    years = {y["year"]: y for y in json.loads(before.stdout)}
    assert years[2027]["provisional"] and years[2027]["source"] == "provisional"
    assert years[2026]["source"] == "shipped" and "2026-02-14" in years[2026]["work_days"]

    loaded = runner.invoke(app, ["calendar", "load", str(FIXTURE)])
    assert loaded.exit_code == 0, loaded.output
    assert "已载入 2027 年（第 1 版）" in loaded.stdout
    after = {
        y["year"]: y for y in json.loads(runner.invoke(app, ["calendar", "list", "--json"]).stdout)
    }
    assert after[2027]["source"] == "loaded" and after[2027]["version"] == 1
    assert "2027-02-20" in after[2027]["work_days"]
    table = runner.invoke(app, ["calendar", "list"]).stdout
    assert "信用办载入" in table

    bad = runner.invoke(app, ["calendar", "load", str(FIXTURE.with_name("missing.yaml"))])
    assert bad.exit_code != 0


def test_cli_calendar_load_of_an_impossible_yaml_date_is_a_chinese_error(
    session: Session, tmp_path: Path
) -> None:
    # YAML reads 2027-13-01 as a timestamp and fails inside the loader: the office must get
    # the file's place and the reason, not a traceback, and nothing is loaded.
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "year: 2027\nholidays:\n  - name: 国庆节\n    off_days: [2027-13-01]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["calendar", "load", str(bad)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "bad.yaml" in result.output and "日期" in result.output
    assert "Traceback" not in result.output and "month must be" not in result.output
    assert session.scalar(select(func.count()).select_from(HolidaySchedule)) == 0


def test_pages_name_who_acted_in_chinese_not_by_internal_actor_codes(
    https_client: TestClient, world: World, session: Session
) -> None:
    # The office loads a year at the server's console; the world's records were imported
    # there too. Neither page may show the internal actor code (cli:…).
    from xinyong.records.models import SubmissionBatch

    loaded = CliRunner().invoke(app, ["calendar", "load", str(FIXTURE)])
    assert loaded.exit_code == 0, loaded.output
    _login(https_client, "admin1")
    row = _row(https_client.get("/console/calendar").text, 2027)
    assert "第 1 版" in row and "信用办（命令行）" in row and "cli:" not in row
    https_client.cookies.clear()

    batch_id = session.scalar(select(func.max(SubmissionBatch.id)))
    _login(https_client, "clerk1")
    page = https_client.get(f"/workbench/batches/{batch_id}")
    assert page.status_code == 200
    submitter = re.search(r"<dt>提交人</dt><dd>(.*?)</dd>", page.text)
    assert submitter is not None and "cli:" not in submitter.group(1)
    assert submitter.group(1).startswith("信用办（命令行）")


def test_a_schedule_missing_a_statutory_holiday_is_refused(
    session: Session, tmp_path: Path
) -> None:
    # A 2027 file with the Spring Festival only: loading it would make 国庆 working days
    # for every deadline. Statutory holidays are always days off, so the file is incomplete.
    partial = tmp_path / "2027.yaml"
    partial.write_text(
        "year: 2027\nholidays:\n  - name: 春节\n    off_days: 2027-02-05..2027-02-12\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["calendar", "load", str(partial)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert (
        "2027 年缺少法定节假日" in output and "国庆节 2027-10-01、2027-10-02、2027-10-03" in output
    )
    assert session.scalar(select(func.count()).select_from(HolidaySchedule)) == 0
