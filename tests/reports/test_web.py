"""Reports over HTTP: issue, download, verify by code and by upload, the verification page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories
from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import issue_api_key
from xinyong.web.app import create_app


@pytest.fixture()
def client(session: Session) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def admin(session: Session) -> dict[str, str]:
    key = issue_api_key(session, KeyRole.ADMIN, "admin")
    session.commit()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def dept(session: Session) -> dict[str, str]:
    key = issue_api_key(session, KeyRole.DEPARTMENT, "dept", factories.department(session))
    session.commit()
    return {"Authorization": f"Bearer {key}"}


def test_issue_download_and_verify_over_the_api(
    client: TestClient, admin: dict[str, str], person: tuple[str, object], session: Session
) -> None:
    number, _ = person
    session.commit()
    resp = client.post(
        "/api/v1/reports", json={"id_number": number, "audience": "public"}, headers=admin
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert number not in resp.text
    assert body["audience_label"] == "社会公开版" and body["subject"]["name"] == "李**"
    assert body["verify_url"].endswith(f"/reports/verify/{body['verification_code']}")
    pdf = client.get(body["pdf_url"], headers=admin)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    html = client.get(body["html_url"], headers=admin)
    assert html.status_code == 200 and "社会公开版" in html.text
    assert client.get(body["pdf_url"]).status_code == 401

    # The recipient needs no key.
    check = client.get(f"/api/v1/reports/verify/{body['verification_code']}")
    assert check.status_code == 200
    assert check.json()["report_number"] == body["report_number"]
    assert check.json()["pdf_sha256"] == body["pdf_sha256"]
    upload = client.post(
        "/api/v1/reports/verify", files={"file": ("r.pdf", pdf.content, "application/pdf")}
    )
    assert upload.status_code == 200 and upload.json()["matched"] == "pdf"
    raw = client.post(
        "/api/v1/reports/verify",
        content=pdf.content,
        headers={"Content-Type": "application/pdf"},
    )
    assert raw.status_code == 200 and raw.json()["report_number"] == body["report_number"]
    empty = client.post("/api/v1/reports/verify", files={"other": ("x", b"1", "text/plain")})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "missing_file"

    data = pdf.content
    bad = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
    refused = client.post(
        "/api/v1/reports/verify", files={"file": ("r.pdf", bad, "application/pdf")}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "报告内容已被篡改"
    unknown = client.get("/api/v1/reports/verify/ZZZZZZZZZZZZZZZZ")
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "报告不存在"


def test_department_may_issue_public_reports_only(
    client: TestClient, dept: dict[str, str], person: tuple[str, object], session: Session
) -> None:
    number, _ = person
    session.commit()
    ok = client.post(
        "/api/v1/reports", json={"id_number": number, "audience": "public"}, headers=dept
    )
    assert ok.status_code == 201, ok.text
    refused = client.post(
        "/api/v1/reports", json={"id_number": number, "audience": "self"}, headers=dept
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "无权出具该版本的信用报告"
    bad = client.post(
        "/api/v1/reports", json={"id_number": number, "audience": "everyone"}, headers=dept
    )
    assert bad.status_code == 422


def test_verification_page_by_code_and_by_upload(
    client: TestClient, admin: dict[str, str], person: tuple[str, object], session: Session
) -> None:
    number, _ = person
    session.commit()
    body = client.post(
        "/api/v1/reports", json={"id_number": number, "audience": "self"}, headers=admin
    ).json()
    page = client.get(f"/reports/verify/{body['verification_code']}")
    assert page.status_code == 200
    assert body["report_number"] in page.text and body["pdf_sha256"] in page.text
    assert number not in page.text and "李**" in page.text
    missing = client.get("/reports/verify/QQQQQQQQQQQQQQQQ")
    assert missing.status_code == 404 and "报告不存在" in missing.text
    form = client.get("/reports/verify")
    assert form.status_code == 200 and 'type="file"' in form.text
    redirect = client.get(
        "/reports/verify", params={"code": body["verification_code"]}, follow_redirects=False
    )
    assert redirect.status_code == 303
    assert redirect.headers["location"] == f"/reports/verify/{body['verification_code']}"
    odd = client.get(
        "/reports/verify", params={"code": " //evil.example/ab "}, follow_redirects=False
    )
    assert odd.headers["location"] == "/reports/verify/EVILEXAMPLEAB"
    pdf = client.get(body["pdf_url"], headers=admin).content
    good = client.post("/reports/verify", files={"file": ("报告.pdf", pdf, "application/pdf")})
    assert good.status_code == 200 and "完全一致" in good.text
    tampered = pdf.replace(b"/Producer", b"/Producex", 1)
    bad = client.post("/reports/verify", files={"file": ("报告.pdf", tampered, "application/pdf")})
    assert bad.status_code == 409 and "报告内容已被篡改" in bad.text
