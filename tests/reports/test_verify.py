"""Verification: a genuine file passes; one changed byte, or an unknown code, does not."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.orm import Session

from xinyong.actors import cli_operator
from xinyong.errors import InvalidInput, NotFound
from xinyong.identity.masking import Audience
from xinyong.identity.protection import IdentityProtector
from xinyong.reports.services import (
    IssuedReport,
    ReportTampered,
    issue_report,
    verify_code,
    verify_file,
)
from xinyong.subjects.models import Subject


@pytest.fixture()
def issued(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> IssuedReport:
    return issue_report(session, cli_operator(), protector, person[1], audience=Audience.SELF)


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_the_issued_pdf_and_html_verify(session: Session, issued: IssuedReport) -> None:
    result = verify_file(session, issued.pdf)
    report = issued.report
    assert (result.report_number, result.matched) == (report.report_number, "pdf")
    assert result.pdf_sha256 == report.pdf_sha256
    assert result.subject_name == "李**" and "*" in result.subject_number
    assert result.audience_label == "本人版"
    assert verify_file(session, issued.html).matched == "html"
    by_code = verify_code(session, report.verification_code.lower())
    assert by_code.report_number == report.report_number and by_code.matched is None
    assert by_code.as_dict()["issued_at"] == report.issued_at.isoformat()


@pytest.mark.parametrize("where", [0.5, 0.1, 0.9, -1])
def test_one_changed_byte_anywhere_fails(
    session: Session, issued: IssuedReport, where: float, caplog: pytest.LogCaptureFixture
) -> None:
    data = issued.pdf
    at = len(data) - 2 if where == -1 else int(len(data) * where)
    with (
        caplog.at_level(logging.WARNING, logger="xinyong.reports"),
        pytest.raises(ReportTampered) as exc,
    ):
        verify_file(session, flipped(data, at))
    assert exc.value.message == "报告内容已被篡改" and exc.value.http_status == 409
    assert issued.report.report_number in caplog.text and "does not match" in caplog.text


def test_a_changed_byte_inside_the_code_itself_still_fails(
    session: Session, issued: IssuedReport
) -> None:
    code = issued.report.verification_code.encode()
    at = issued.pdf.index(b"/Subject (xinyong-report ") + len(b"/Subject (xinyong-report XY")
    at = issued.pdf.index(code, at)
    other = b"3" if code[:1] == b"2" else b"2"  # a different base32 character
    with pytest.raises(ReportTampered):
        verify_file(session, issued.pdf[:at] + other + issued.pdf[at + 1 :])


def test_changed_html_fails(session: Session, issued: IssuedReport) -> None:
    html = issued.html.replace("本人版".encode(), "社会公开版".encode(), 1)
    with pytest.raises(ReportTampered):
        verify_file(session, html)


def test_unknown_code_is_refused_and_logged_without_the_code(
    session: Session, issued: IssuedReport, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="xinyong.reports"),
        pytest.raises(NotFound) as exc,
    ):
        verify_code(session, "AAAAAAAAAAAAAAAA")
    assert exc.value.message == "报告不存在"
    assert "unknown code AAAA…" in caplog.text and "AAAAAAAAAAAAAAAA" not in caplog.text
    forged = issued.pdf.replace(issued.report.verification_code.encode(), b"BBBBBBBBBBBBBBBB")
    with pytest.raises(NotFound):
        verify_file(session, forged)


def test_a_file_that_is_no_report_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput) as exc:
        verify_file(session, b"%PDF-1.4\n%%EOF\n")
    assert exc.value.code == "report_unrecognised"
    with pytest.raises(InvalidInput):
        verify_file(session, b"<html>hello</html>")
