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
    assert [q["action_name"] for q in log] == ["查看信用评价", "查看信用档案"]
    assert log[1]["purpose"] == "复核档案" and log[1]["basis"] == "administration"
    assert log[1]["who"] == "示范市信用办" and log[1]["time"].endswith("（北京时间）")
    assert number not in result.stdout
    # The table reads as a person would: Beijing time, the office's name, no account names.
    table = runner.invoke(app, ["queries", number])
    assert "北京时间" in table.stdout and "示范市信用办" in table.stdout
    assert "cli:" not in table.stdout and "score:view" not in table.stdout


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


def test_catalog_load_reports_entry_and_reference_errors_in_one_pass(
    session: Session, tmp_path: Path
) -> None:
    # One entry with a bad open level, another naming an information type that does not
    # exist: the editor must see both at once, not the second only after fixing the first.
    bad = tmp_path / "items.yaml"
    bad.write_text(
        "version: 2\nitems:\n"
        "  - code: TEST_ONE\n    name: 测试一\n    info_type: ADMINISTRATIVE\n"
        "    domain: GENERAL\n    nature: negative\n    subject_kinds: [person]\n"
        "    open_level: secret\n    default_grade: general\n"
        "  - code: TEST_TWO\n    name: 测试二\n    info_type: NO_SUCH_TYPE\n"
        "    domain: GENERAL\n    nature: negative\n    subject_kinds: [person]\n"
        "    open_level: public\n    default_grade: general\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["catalog", "load", str(bad)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "有 2 处错误" in output
    assert "第 9 行（items TEST_ONE）：open_level" in output
    assert "第 11 行：目录项 TEST_TWO 的信息类别 NO_SUCH_TYPE 不存在" in output
    from xinyong.catalog.services import current_catalog

    assert "TEST_TWO" not in current_catalog(session).items


def test_catalog_load_does_not_report_a_reference_to_an_invalid_entry_of_the_file(
    session: Session, tmp_path: Path
) -> None:
    # The domain is broken (no name); the item naming it is fine once the domain is fixed:
    # only the domain's error is reported.
    bad = tmp_path / "domain.yaml"
    bad.write_text(
        "version: 2\ndomains:\n  - code: NEW_DOMAIN\n"
        "items:\n  - code: TEST_THREE\n    name: 测试三\n    info_type: ADMINISTRATIVE\n"
        "    domain: NEW_DOMAIN\n    nature: negative\n    subject_kinds: [person]\n"
        "    open_level: public\n    default_grade: general\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["catalog", "load", str(bad)])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "有 1 处错误" in output
    assert "name 缺少必填项" in output and "NEW_DOMAIN 不存在" not in output
