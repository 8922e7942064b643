"""Issued PDFs opened as a recipient would: text, fonts, pixels, metadata, the query log."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.reports.conftest import pdf_text, poppler
from xinyong.actors import Actor, Role, cli_operator
from xinyong.errors import Conflict, Forbidden, InvalidInput
from xinyong.identity.masking import Audience
from xinyong.identity.protection import IdentityProtector
from xinyong.queries.models import QueryLog
from xinyong.records.models import Record
from xinyong.reports.models import CreditReport, CreditReportFile
from xinyong.reports.services import issue_report, report_basis, report_file, verify_url
from xinyong.subjects.models import Subject

SECTIONS = (
    "一、基本信息",
    "二、行政管理信息",
    "三、严重失信主体名单",
    "四、信用承诺",
    "五、司法信息",
    "六、诚实守信信息",
    "七、信用评价",
    "八、其他信息",
    "信息主体权利",
)


def test_self_report_has_every_section_in_order_and_the_person_in_full(
    session: Session,
    person: tuple[str, Subject],
    protector: IdentityProtector,
    tmp_path: Path,
) -> None:
    number, subject = person
    issued = issue_report(session, cli_operator(), protector, subject, audience=Audience.SELF)
    text = pdf_text(issued.pdf, tmp_path)
    positions = [text.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    for phrase in (
        "个人信用报告",
        "本人版",
        issued.report.report_number,
        issued.report.verification_code,
        "出具时间",
        "出具机构",
        "示范市公共信用信息平台",
        number,
        "李小明",
        "行政许可",
        "行政处罚",
        "刑事判决",
        "诚信积分",
        "异议",
        "信用修复",
    ):
        assert phrase in text, phrase
    assert re.search(r"第 ?1 ?页 ?/ ?共 ?\d+ ?页", text)
    assert issued.pdf.startswith(b"%PDF") and len(pdf_pages(issued.pdf)) >= 2


def pdf_pages(data: bytes) -> list[object]:
    import io

    return list(PdfReader(io.BytesIO(data)).pages)


def test_public_report_shows_only_what_the_public_may_see(
    session: Session,
    person: tuple[str, Subject],
    protector: IdentityProtector,
    tmp_path: Path,
) -> None:
    number, subject = person
    issued = issue_report(session, cli_operator(), protector, subject, audience=Audience.PUBLIC)
    text = pdf_text(issued.pdf, tmp_path)
    html = issued.html.decode("utf-8")
    for shown in (text, html):
        assert number not in shown
        assert "李小明" not in shown
        assert f"{number[:4]}**********{number[-4:]}" in shown
        assert "李**" in shown
        assert "社会公开版" in shown
        assert "行政处罚" in shown and "失信被执行人" in shown
        # Government-only and authorized-only items are left out, and so is the score.
        for hidden in ("刑事判决", "交通违法", "行政强制", "合同违约", "主体自愿提供的信息"):
            assert hidden not in shown, hidden
        assert "诚信积分：" not in shown and "不提供诚信积分" in shown
    # The stored row never holds the number either: masked as for the public.
    assert issued.report.subject_number_masked == f"{number[:4]}**********{number[-4:]}"
    assert issued.report.subject_name_masked == "李**"


def test_records_no_longer_in_use_are_marked_for_the_person_and_left_out_for_others(
    session: Session,
    person: tuple[str, Subject],
    protector: IdentityProtector,
    tmp_path: Path,
) -> None:
    _, subject = person
    penalty = session.scalars(
        select(Record)
        .where(Record.subject_id == subject.id, Record.item_code == "SGS_PENALTY")
        .order_by(Record.id)
    ).first()
    assert penalty is not None
    session.execute(update(Record).where(Record.id == penalty.id).values(state="revoked"))
    own = issue_report(session, cli_operator(), protector, subject, audience=Audience.SELF)
    public = issue_report(session, cli_operator(), protector, subject, audience=Audience.PUBLIC)
    own_text = pdf_text(own.pdf, tmp_path)
    assert penalty.document_number in own_text and "已撤销" in own_text
    assert "仅向本人展示" in own_text
    assert penalty.document_number not in pdf_text(public.pdf, tmp_path)
    assert penalty.document_number not in public.html.decode()


def test_every_font_is_embedded(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector, tmp_path: Path
) -> None:
    issued = issue_report(session, cli_operator(), protector, person[1], audience=Audience.SELF)
    path = tmp_path / "r.pdf"
    path.write_bytes(issued.pdf)
    rows = poppler("pdffonts", path).decode().splitlines()[2:]
    assert rows, "the report names no font"
    for row in rows:
        # name type encoding emb sub uni object generation
        emb = row.split()[-5]
        assert emb == "yes", row
    assert any("WenQuanYi" in row or "Droid" in row or "UMing" in row for row in rows)


def test_first_page_renders_to_a_picture_that_is_not_blank(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector, tmp_path: Path
) -> None:
    issued = issue_report(session, cli_operator(), protector, person[1], audience=Audience.SELF)
    path = tmp_path / "r.pdf"
    path.write_bytes(issued.pdf)
    pgm = poppler("pdftoppm", "-r", "50", "-gray", "-f", "1", "-l", "1", path)
    match = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", pgm)
    assert match, pgm[:20]
    width, height = int(match[1]), int(match[2])
    pixels = pgm[match.end() :]
    assert len(pixels) == width * height
    assert abs(width / height - 210 / 297) < 0.01  # A4 portrait
    inked = sum(1 for p in pixels if p < 200)
    assert inked / len(pixels) > 0.01, "the page is (almost) blank"
    assert len(set(pixels)) > 16  # text, lines and the QR code, not a flat fill


def test_metadata_carries_number_and_code_and_the_files_are_kept_encrypted(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> None:
    import io

    number, subject = person
    issued = issue_report(session, cli_operator(), protector, subject, audience=Audience.SELF)
    report = issued.report
    meta = PdfReader(io.BytesIO(issued.pdf)).metadata
    assert meta is not None
    assert meta.subject == f"xinyong-report {report.report_number} {report.verification_code}"
    assert f"code={report.verification_code}" in (meta.get("/Keywords") or "")
    assert re.fullmatch(r"XY\d{8}\d{6}", report.report_number)
    assert re.fullmatch(r"[A-Z2-7]{16}", report.verification_code)
    stored = session.get(CreditReportFile, report.id)
    assert stored is not None and issued.pdf not in stored.pdf_cipher
    assert number.encode() not in stored.html_cipher
    again = report_file(session, cli_operator(), protector, report.report_number, "pdf")
    assert again == issued.pdf
    assert report_file(session, cli_operator(), protector, report.report_number, "html") == (
        issued.html
    )


def test_report_numbers_are_serial_per_day_and_codes_unique(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> None:
    at = dt.datetime(2031, 3, 4, 1, 0, tzinfo=dt.UTC)
    reports = [
        issue_report(
            session, cli_operator(), protector, person[1], audience=Audience.PUBLIC, now=at
        ).report
        for _ in range(3)
    ]
    assert [r.report_number for r in reports] == [
        "XY20310304000001",
        "XY20310304000002",
        "XY20310304000003",
    ]
    assert len({r.verification_code for r in reports}) == 3


def test_issuing_is_logged_as_a_query_with_its_basis(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> None:
    _, subject = person
    me = Actor(name="user:1", role=Role.PERSON, subject_id=subject.id, channel="web")
    own = issue_report(session, me, protector, subject, audience=Audience.SELF)
    office = issue_report(session, cli_operator(), protector, subject, audience=Audience.PUBLIC)
    logs = session.scalars(
        select(QueryLog)
        .where(QueryLog.subject_id == subject.id, QueryLog.action == "report:issue")
        .order_by(QueryLog.id)
    ).all()
    assert [(q.basis, q.returned["report_number"]) for q in logs] == [
        ("self", own.report.report_number),
        ("administration", office.report.report_number),
    ]
    assert logs[0].returned["records"]
    assert own.report.basis == "self" and own.report.actor == "user:1"


def test_who_may_have_which_report(session: Session, person: tuple[str, Subject]) -> None:
    _, subject = person
    me = Actor(name="user:1", role=Role.PERSON, subject_id=subject.id)
    other = Actor(name="user:2", role=Role.PERSON, subject_id=subject.id + 1)
    dept = Actor(name="apikey:d", role=Role.DEPARTMENT, department_id=1)
    assert report_basis(me, subject.id, Audience.SELF).value == "self"
    assert report_basis(me, subject.id, Audience.PUBLIC).value == "self"
    with pytest.raises(Forbidden):
        report_basis(other, subject.id, Audience.SELF)
    with pytest.raises(Forbidden):
        report_basis(me, subject.id, Audience.AUTHORIZED)
    assert report_basis(dept, subject.id, Audience.PUBLIC).value == "legal_duty"
    with pytest.raises(Forbidden):
        report_basis(dept, subject.id, Audience.SELF)
    assert report_basis(cli_operator(), subject.id, Audience.SELF).value == "administration"
    with pytest.raises(InvalidInput):
        report_basis(cli_operator(), subject.id, Audience.GOVERNMENT)


def test_only_the_issuer_or_the_person_may_download(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> None:
    _, subject = person
    dept = Actor(name="apikey:d", role=Role.DEPARTMENT, department_id=1)
    issued = issue_report(session, dept, protector, subject, audience=Audience.PUBLIC)
    number = issued.report.report_number
    assert report_file(session, dept, protector, number, "pdf") == issued.pdf
    me = Actor(name="user:1", role=Role.PERSON, subject_id=subject.id)
    assert report_file(session, me, protector, number, "html") == issued.html
    with pytest.raises(Forbidden):
        report_file(session, Actor(name="apikey:x", role=Role.DEPARTMENT), protector, number, "pdf")


def test_self_reports_are_unlimited_by_default_and_a_limit_can_be_set(
    session: Session,
    person: tuple[str, Subject],
    protector: IdentityProtector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from xinyong.config import get_settings

    _, subject = person
    for _ in range(3):
        issue_report(session, cli_operator(), protector, subject, audience=Audience.SELF)
    monkeypatch.setattr(get_settings(), "self_report_yearly_limit", 3)
    with pytest.raises(Conflict) as exc:
        issue_report(session, cli_operator(), protector, subject, audience=Audience.SELF)
    assert exc.value.code == "self_report_limit"
    # The public version is not a self-report.
    issue_report(session, cli_operator(), protector, subject, audience=Audience.PUBLIC)
    assert session.scalar(select(CreditReport).where(CreditReport.audience == "public"))


def test_no_identity_number_in_clear_in_report_tables_or_the_query_log(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> None:
    from sqlalchemy import text

    number, subject = person
    issue_report(session, cli_operator(), protector, subject, audience=Audience.SELF)
    conn = session.connection()
    for table in ("credit_reports", "credit_report_files", "query_log"):
        for row in conn.execute(text(f"SELECT * FROM {table}")):
            for value in row:
                blob = value if isinstance(value, bytes | memoryview) else str(value).encode()
                assert number.encode() not in bytes(blob), table


def test_html_version_has_the_same_sections_in_the_same_order(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> None:
    issued = issue_report(session, cli_operator(), protector, person[1], audience=Audience.SELF)
    html = issued.html.decode("utf-8")
    positions = [html.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    report = issued.report
    assert f'<meta name="xinyong-report" content="{report.report_number} ' in html
    assert "<svg" in html and "<script" not in html
    assert report.verification_code in html and "异议" in html and "信用修复" in html


def test_a_number_taken_meanwhile_is_numbered_again(
    session: Session,
    person: tuple[str, Subject],
    protector: IdentityProtector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two issues racing for one serial: the unique number refuses the second, which retries."""
    from xinyong.reports import services

    first = issue_report(session, cli_operator(), protector, person[1], audience=Audience.PUBLIC)
    taken = first.report.report_number
    real = services._next_report_number
    answers = iter([taken])

    def racing(session: Session, issued_at: dt.datetime) -> str:
        return next(answers, None) or real(session, issued_at)

    monkeypatch.setattr(services, "_next_report_number", racing)
    second = issue_report(session, cli_operator(), protector, person[1], audience=Audience.PUBLIC)
    assert second.report.report_number != taken
    assert int(second.report.report_number[-6:]) == int(taken[-6:]) + 1
    assert session.get(CreditReportFile, second.report.id) is not None


def test_the_qr_code_scans_to_the_verification_page(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector, tmp_path: Path
) -> None:
    issued = issue_report(session, cli_operator(), protector, person[1], audience=Audience.PUBLIC)
    path = tmp_path / "r.pdf"
    path.write_bytes(issued.pdf)
    poppler("pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", path, tmp_path / "page")
    scanned = poppler("zbarimg", "-q", "--raw", tmp_path / "page-1.png").decode().strip()
    code = issued.report.verification_code
    assert scanned == verify_url(code) and scanned.endswith(f"/reports/verify/{code}")
