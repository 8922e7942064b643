"""expire, rescore, score, grade and lists from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from xinyong.cli.main import app
from xinyong.records.models import Record

runner = CliRunner()


def test_score_with_reasons_what_if_and_history(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    rows = [
        factories.penalty_row(id_number=number, dept=dept, category="行政拘留"),
        factories.penalty_row(id_number=number, dept=dept, category="警告"),
    ]
    factories.submit_rows(session, rows)
    session.commit()
    serious = session.scalars(select(Record).where(Record.grade == "serious")).one()

    result = runner.invoke(app, ["score", number, "--json", "--what-if-repaired", str(serious.id)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["score"] == 700 - 150 - 10
    assert data["band_name"] == "较差"
    assert data["model"] == "default" and data["model_version"] == 1
    assert data["reasons"][0]["record"] == serious.id
    assert "扣 150 分" in data["reasons"][0]["text"]
    assert data["what_if_repaired"]["score"] == 700 - 10
    assert data["history"][-1]["score"] == data["score"]
    assert number not in result.stdout

    wrong = runner.invoke(app, ["score", number, "--what-if-repaired", "999999"])
    assert wrong.exit_code == 1


def test_expire_rescore_and_lists_commands(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    factories.submit_rows(
        session,
        [factories.penalty_row(id_number=number, dept=dept, category="警告", decided="2025-01-10")],
    )
    session.commit()
    result = runner.invoke(app, ["expire", "--date", "2025-04-10"])
    assert result.exit_code == 0, result.output
    assert "公示期满 1 条" in result.stdout
    again = runner.invoke(app, ["expire", "--date", "2025-04-10"])
    assert "公示期满 0 条" in again.stdout
    assert runner.invoke(app, ["expire", "--date", "not-a-date"]).exit_code == 1
    rescore = runner.invoke(app, ["rescore"])
    assert rescore.exit_code == 0 and "积分已重算" in rescore.stdout
    lists = runner.invoke(app, ["lists", "show", number, "--json"])
    assert lists.exit_code == 0
    assert json.loads(lists.stdout)["entries"] == []


def test_grade_change_command(session: Session) -> None:
    dept = factories.department(session)
    number = factories.resident_id()
    factories.submit_rows(
        session, [factories.penalty_row(id_number=number, dept=dept, category="警告")]
    )
    session.commit()
    record = session.scalars(select(Record).order_by(Record.id.desc())).first()
    assert record is not None
    result = runner.invoke(app, ["grade", str(record.id), "--to", "一般", "--reason", "复核"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(Record, record.id).grade == "general"  # type: ignore[union-attr]
    assert (
        runner.invoke(app, ["grade", str(record.id), "--to", "一般", "--reason", ""]).exit_code == 1
    )


def test_inconsistent_scoring_model_is_refused_naming_the_line(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(
        """version: 9
scoring_models:
  - code: default
    name: 坏模型
    base: 700
    grade_points: {minor: -10, general: -40, serious: -150}
    bands:
      - {code: a, name: 好, min: 500, max: 1000}
      - {code: b, name: 差, min: 0, max: 600}
""",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["catalog", "load", str(path)])
    assert result.exit_code == 1
    assert "第 3 行" in result.output and "重叠" in result.output
    grade_rule = tmp_path / "rule.yaml"
    grade_rule.write_text(
        "grading_rules:\n  - code: X\n    name: 坏规则\n    when: {items: [SGS_PENALTY]}\n    grade: huge\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["catalog", "load", str(grade_rule)])
    assert result.exit_code == 1 and "第 2 行" in result.output and "huge" in result.output
    # The model in force is unchanged.
    assert (
        json.loads(runner.invoke(app, ["catalog", "list", "scoring-models", "--json"]).stdout)[0][
            "name"
        ]
        == "诚信积分（默认模型）"
    )
