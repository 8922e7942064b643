"""xinyong user …, apikey --institution, queries and purge-queries from the console."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from xinyong.accounts.models import User
from xinyong.cli.main import app
from xinyong.queries.models import QueryLog

runner = CliRunner()
PASSWORD = "Cli-password-2026"


def test_user_commands(session: Session) -> None:
    dept = factories.department(session, code="CLIU")
    number = factories.resident_id(seq=417)
    result = factories.submit_rows(
        session, [factories.penalty_row(name="韩梅梅", id_number=number, dept=dept)]
    )
    assert result.accepted == 1
    session.commit()

    clerk = runner.invoke(
        app,
        [
            "user",
            "add",
            "clerk-cli",
            "--role",
            "clerk",
            "--department",
            "CLIU",
            "--password",
            PASSWORD,
            "--json",
        ],
    )
    assert clerk.exit_code == 0, clerk.output
    assert json.loads(clerk.stdout)["role_name"] == "部门数据报送员"

    no_dept = runner.invoke(
        app, ["user", "add", "clerk2", "--role", "clerk", "--password", PASSWORD]
    )
    assert no_dept.exit_code == 1 and "部门账号须指定所属部门" in no_dept.output
    weak = runner.invoke(app, ["user", "add", "weakling", "--role", "auditor", "--password", "123"])
    assert weak.exit_code == 1 and "密码至少" in weak.output

    impostor = runner.invoke(
        app,
        [
            "user",
            "add",
            "meimei",
            "--role",
            "person",
            "--id-number",
            number,
            "--name",
            "李雷",
            "--password",
            PASSWORD,
        ],
    )
    assert impostor.exit_code == 1 and "实名核验未通过" in impostor.output
    assert number not in impostor.output
    person = runner.invoke(
        app,
        [
            "user",
            "add",
            "meimei",
            "--role",
            "person",
            "--id-number",
            number,
            "--name",
            "韩梅梅",
            "--password",
            PASSWORD,
        ],
    )
    assert person.exit_code == 0, person.output

    listed = json.loads(runner.invoke(app, ["user", "list", "--json"]).stdout)
    assert {u["username"] for u in listed} == {"clerk-cli", "meimei"}
    assert runner.invoke(app, ["user", "disable", "clerk-cli"]).exit_code == 0
    assert session.scalar(select(User.is_active).where(User.username == "clerk-cli")) is False
    missing = runner.invoke(app, ["user", "disable", "ghost"])
    assert missing.exit_code == 1 and "不存在" in missing.output


def test_institution_api_key(session: Session) -> None:
    result = runner.invoke(app, ["apikey", "create", "--institution", "命令行银行"])
    assert result.exit_code == 0 and result.stdout.strip().startswith("xy_")
    both = runner.invoke(app, ["apikey", "create", "--admin", "--institution", "X"])
    assert both.exit_code == 1


def test_queries_show_names_and_purge_keeps_ten_years(session: Session) -> None:
    dept = factories.department(session, code="CLIQ")
    number = factories.resident_id(seq=419)
    factories.submit_rows(session, [factories.penalty_row(id_number=number, dept=dept)])
    session.commit()
    assert runner.invoke(app, ["archive", number]).exit_code == 0
    shown = json.loads(runner.invoke(app, ["queries", number, "--json"]).stdout)
    assert shown[0]["action_name"] == "查看信用档案" and shown[0]["basis_name"] == "信用办管理"

    # Age the entry to just inside, then just outside, ten years.
    today = dt.date(2026, 11, 23)
    inside = dt.datetime(2016, 11, 23, 0, 0, 1, tzinfo=dt.UTC)
    session.execute(update(QueryLog).values(queried_at=inside))
    session.commit()
    kept = runner.invoke(app, ["purge-queries", "--on", today.isoformat()])
    assert kept.exit_code == 0 and "已删除 0 条" in kept.output
    session.execute(update(QueryLog).values(queried_at=inside - dt.timedelta(seconds=2)))
    session.commit()
    gone = runner.invoke(app, ["purge-queries", "--on", today.isoformat()])
    assert "已删除 1 条" in gone.output
    assert session.scalar(select(func.count()).select_from(QueryLog)) == 0
    bad = runner.invoke(app, ["purge-queries", "--on", "2026-13-01"])
    assert bad.exit_code == 1 and "格式不正确" in bad.output
