"""xinyong report … and xinyong report verify … end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.reports.conftest import pdf_text
from xinyong.cli.main import app
from xinyong.subjects.models import Subject

runner = CliRunner()


def test_issue_then_verify_round_trip(
    session: Session, person: tuple[str, object], tmp_path: Path
) -> None:
    number, _ = person
    session.commit()
    out, html = tmp_path / "报告.pdf", tmp_path / "报告.html"
    result = runner.invoke(
        app, ["report", number, "--audience", "public", "--out", str(out), "--html", str(html)]
    )
    assert result.exit_code == 0, result.output
    assert "已出具信用报告" in result.stdout and "社会公开版" in result.stdout
    assert number not in result.stdout
    assert "4301" in pdf_text(out.read_bytes(), tmp_path) and html.exists()

    ok = runner.invoke(app, ["report", "verify", str(out), "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["valid"] is True and data["matched"] == "pdf"
    assert runner.invoke(app, ["report", "verify", str(html)]).exit_code == 0
    plain = runner.invoke(app, ["report", "verify", str(out)])
    assert plain.exit_code == 0 and "核验通过" in plain.stdout

    raw = bytearray(out.read_bytes())
    raw[len(raw) // 2] ^= 0x20
    out.write_bytes(bytes(raw))
    bad = runner.invoke(app, ["report", "verify", str(out), "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout) == {
        "valid": False,
        "code": "report_tampered",
        "message": "报告内容已被篡改",
    }
    bad = runner.invoke(app, ["report", "verify", str(out)])
    assert bad.exit_code == 1 and "报告内容已被篡改" in bad.output


def test_cli_refuses_unknown_people_and_missing_files(session: Session, tmp_path: Path) -> None:
    from tests import factories

    result = runner.invoke(
        app, ["report", factories.resident_id(), "--out", str(tmp_path / "x.pdf")]
    )
    assert result.exit_code == 1 and "档案中没有该主体" in result.output
    result = runner.invoke(app, ["report", "verify", str(tmp_path / "none.pdf")])
    assert result.exit_code == 1 and "无法读取文件" in result.output
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"%PDF-1.4 nothing")
    result = runner.invoke(app, ["report", "verify", str(fake), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["code"] == "report_unrecognised"


def test_authorized_report_at_the_window_for_the_institution(
    session: Session, person: tuple[str, Subject], tmp_path: Path
) -> None:
    import datetime as dt

    from sqlalchemy import select

    from xinyong.accounts.services import ensure_institution
    from xinyong.actors import Actor, Role
    from xinyong.authorizations.services import grant
    from xinyong.queries.models import QueryLog

    number, subject = person
    bank = ensure_institution(session, "窗口银行")
    me = Actor(name="user:li", role=Role.PERSON, subject_id=subject.id)
    auth = grant(
        session,
        me,
        institution_id=bank.id,
        scope=["report"],
        purpose="hiring",
        valid_until=dt.date.today() + dt.timedelta(days=7),
    )
    session.commit()
    out = tmp_path / "a.pdf"
    base = ["report", number, "--audience", "authorized", "--out", str(out)]
    missing = runner.invoke(app, [*base, "--authorization", str(auth.id)])
    assert missing.exit_code == 1 and "--institution" in missing.output
    ok = runner.invoke(app, [*base, "--authorization", str(auth.id), "--institution", "窗口银行"])
    assert ok.exit_code == 0, ok.output
    assert "授权查询版" in pdf_text(out.read_bytes(), tmp_path)
    log = session.scalars(
        select(QueryLog).where(QueryLog.action == "report:issue").order_by(QueryLog.id.desc())
    ).first()
    assert log is not None and (log.organisation, log.basis) == ("窗口银行", "authorization")
    again = runner.invoke(
        app, [*base, "--authorization", str(auth.id), "--institution", "窗口银行"]
    )
    assert again.exit_code == 1  # a one-time authorization is used up


def test_authorized_report_needs_only_the_authorization(
    session: Session, person: tuple[str, Subject], tmp_path: Path
) -> None:
    import datetime as dt

    from xinyong.accounts.services import ensure_institution
    from xinyong.actors import Actor, Role
    from xinyong.authorizations.services import grant

    number, subject = person
    bank = ensure_institution(session, "窗口银行")
    me = Actor(name="user:li", role=Role.PERSON, subject_id=subject.id)
    auth = grant(
        session, me, institution_id=bank.id, scope=["report"], purpose="lease",
        valid_until=dt.date.today() + dt.timedelta(days=7),
    )  # fmt: skip
    session.commit()
    out = tmp_path / "b.pdf"
    args = ["report", "--audience", "authorized", "--authorization", str(auth.id)]
    no_number = runner.invoke(app, ["report", "--out", str(out)])
    assert no_number.exit_code == 1 and "身份证号" in no_number.output
    ok = runner.invoke(app, [*args, "--institution", "窗口银行", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "窗口银行" in text and f"第 {auth.id} 号" in text and "租赁" in text
    assert number not in text
    unknown = runner.invoke(app, ["report", "--audience", "authorized", "--authorization", "999999", "--institution", "窗口银行", "--out", str(out)])  # fmt: skip
    assert unknown.exit_code == 1 and "不存在" in unknown.output


def test_public_report_keeps_a_persons_penalty_out_when_the_setting_does(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DOMAIN §17: with XINYONG_PUBLISH_INDIVIDUAL_PENALTIES off a person's 双公示 penalty
    # is not published — the 社会公开版 report is published information too. The person's
    # own version still shows it.
    from tests import factories
    from xinyong.config import get_settings

    dept = factories.department(session, code="RPEN", name="报告处罚局")
    number = factories.resident_id()
    document = "报罚〔2026〕00077号"
    factories.submit_rows(
        session,
        [factories.penalty_row(name="赵六", id_number=number, document=document, dept=dept)],
    )
    monkeypatch.setenv("XINYONG_PUBLISH_INDIVIDUAL_PENALTIES", "false")
    get_settings.cache_clear()
    try:
        pages = {}
        for audience in ("public", "self"):
            html = tmp_path / f"{audience}.html"
            result = runner.invoke(
                app,
                [
                    "report",
                    number,
                    "--audience",
                    audience,
                    "--out",
                    str(tmp_path / f"{audience}.pdf"),
                    "--html",
                    str(html),
                ],
            )
            assert result.exit_code == 0, result.output
            pages[audience] = html.read_text(encoding="utf-8")
    finally:
        get_settings.cache_clear()
    assert document not in pages["public"]
    assert document in pages["self"]
