"""The command line end to end: exit codes, JSON summaries, archive output."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from xinyong.cli.main import app

runner = CliRunner()


def test_import_exit_codes_and_json_summary(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session, code="CLI1")
    session.commit()
    number = factories.resident_id()
    good = factories.penalty_row(id_number=number, dept=dept)
    ok = factories.write_csv(tmp_path / "ok.csv", [good], encoding="gbk")
    result = runner.invoke(app, ["import", str(ok), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"], summary["errors"]) == (1, 0, [])

    bad = factories.penalty_row(dept=dept, id_number="110105194912310021")
    mixed = factories.write_csv(tmp_path / "mixed.csv", [factories.penalty_row(dept=dept), bad])
    result = runner.invoke(app, ["import", str(mixed), "--json"])
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 1 and summary["rejected"] == 1
    assert {"row", "column", "code", "message"} <= set(summary["errors"][0])
    assert "110105194912310021" not in result.stdout

    garbage = tmp_path / "g.csv"
    garbage.write_bytes(b"\x00\xff" * 500)
    result = runner.invoke(app, ["import", str(garbage), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["code"]

    result = runner.invoke(app, ["archive", number, "--json"])
    assert result.exit_code == 0, result.output
    archive = json.loads(result.stdout)
    assert archive["records"][0]["item"] == "SGS_PENALTY"
    assert number not in result.stdout


def test_catalog_and_department_commands(session: Session) -> None:
    result = runner.invoke(
        app, ["department", "add", "CLI2", "命令行测试局", "--credit-code", "91110000600037341L"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["catalog", "list", "departments", "--json"])
    assert any(d["code"] == "CLI2" for d in json.loads(result.stdout))
    dup = runner.invoke(app, ["department", "add", "CLI2", "重复", "--credit-code", "bad"])
    assert dup.exit_code == 1
    result = runner.invoke(app, ["catalog", "list", "domains", "--json"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)) >= 21
    result = runner.invoke(app, ["catalog", "list", "nonsense"])
    assert result.exit_code == 1


def test_catalog_load_keeps_old_versions(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(
        "version: 2\nscenarios:\n  - code: TEST_SCENARIO\n    name: 测试场景\n    mandatory: true\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["catalog", "load", str(path)]).exit_code == 0
    path.write_text(
        "version: 3\nscenarios:\n  - code: TEST_SCENARIO\n    name: 测试场景（修订）\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["catalog", "load", str(path)]).exit_code == 0
    from xinyong.catalog.services import entry_history

    history = entry_history(session, "scenario", "TEST_SCENARIO")
    assert [h.version for h in history] == [1, 2]
    assert [h.is_current for h in history] == [False, True]
    bad = tmp_path / "bad.yaml"
    bad.write_text("items:\n  - code: X\n    name: 坏\n", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "load", str(bad)])
    assert result.exit_code == 1 and "第 2 行" in result.output


def test_every_read_is_in_the_query_log(session: Session, tmp_path: Path) -> None:
    dept = factories.department(session, code="QLOG")
    session.commit()
    number = factories.resident_id()
    path = factories.write_csv(
        tmp_path / "q.csv", [factories.penalty_row(id_number=number, dept=dept)]
    )
    assert runner.invoke(app, ["import", str(path)]).exit_code == 0
    assert runner.invoke(app, ["archive", number, "--purpose", "复核档案"]).exit_code == 0
    assert runner.invoke(app, ["score", number]).exit_code == 0
    result = runner.invoke(app, ["queries", number, "--json"])
    assert result.exit_code == 0, result.output
    log = json.loads(result.stdout)
    assert [q["action"] for q in log] == ["score:view", "archive:view"]
    assert log[1]["purpose"] == "复核档案" and log[1]["basis"] == "administration"
    assert number not in result.stdout


def test_catalog_load_of_an_impossible_date_is_a_chinese_error_with_its_line(
    session: Session, tmp_path: Path
) -> None:
    # An unquoted 2027-13-01 made YAML's own date constructor fail: a traceback, no line.
    bad = tmp_path / "dates.yaml"
    bad.write_text(
        "version: 2\nscenarios:\n  - code: TEST_DATE\n    name: 测试场景\n"
        "    mandatory: 2027-13-01\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["catalog", "load", str(bad)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "dates.yaml" in result.output and "第 5 行" in result.output
    assert "month must be" not in result.output
