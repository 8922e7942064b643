"""A person logged in asks for their own report: API with a token, page with a cookie."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories
from xinyong.accounts.models import SessionKind
from xinyong.accounts.services import open_session, register_person
from xinyong.identity.protection import IdentityProtector
from xinyong.subjects.models import Subject
from xinyong.web.app import create_app

PASSWORD = "Test-password-2026"


@pytest.fixture()
def client(session: Session) -> Iterator[TestClient]:
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as c:
        yield c


@pytest.fixture()
def logged_in(
    session: Session, person: tuple[str, Subject], protector: IdentityProtector
) -> dict[str, str]:
    number, subject = person
    user = register_person(
        session,
        protector,
        id_number=number,
        name="李小明",
        username="lixiaoming",
        password=PASSWORD,
    )
    bearer = open_session(session, user, SessionKind.BEARER)
    cookie = open_session(session, user, SessionKind.COOKIE)
    other = factories.person_archive(session, records=2, name="王五")
    session.commit()
    return {
        "number": number,
        "bearer": bearer.token,
        "cookie": cookie.token,
        "csrf": cookie.csrf_token,
        "other": other,
        "subject_id": str(subject.id),
    }


def test_person_issues_own_report_over_the_api_only(
    client: TestClient, logged_in: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {logged_in['bearer']}"}
    own = client.post("/api/v1/reports", json={"audience": "self"}, headers=auth)
    assert own.status_code == 201, own.text
    body = own.json()
    assert body["audience_label"] == "本人版" and body["subject"]["name"] == "李**"
    pdf = client.get(body["pdf_url"], headers=auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    other = client.post(
        "/api/v1/reports", json={"id_number": logged_in["other"], "audience": "self"}, headers=auth
    )
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_own_report"
    authorized = client.post("/api/v1/reports", json={"audience": "authorized"}, headers=auth)
    assert authorized.status_code == 403


def test_person_page_issues_and_lists_reports_with_csrf(
    client: TestClient, logged_in: dict[str, str]
) -> None:
    client.cookies.set("xy_session", logged_in["cookie"], domain="testserver.local")
    page = client.get("/me/reports")
    assert page.status_code == 200 and "尚未出具信用报告" in page.text
    forged = client.post("/me/reports", data={"audience": "self"}, follow_redirects=False)
    assert forged.status_code == 403
    done = client.post(
        "/me/reports",
        data={"audience": "public", "csrf_token": logged_in["csrf"]},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    listed = client.get(done.headers["location"])
    assert "已出具信用报告 XY" in listed.text and "社会公开版" in listed.text
    assert logged_in["number"] not in listed.text
    link = listed.text.split('href="/api/v1/reports/')[1].split('"')[0]
    pdf = client.get(f"/api/v1/reports/{link}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_pages_for_people_only(client: TestClient, session: Session) -> None:
    assert client.get("/me/reports", follow_redirects=False).status_code == 303  # to /login


def test_logged_in_person_can_upload_on_the_verification_page(
    client: TestClient, logged_in: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {logged_in['bearer']}"}
    body = client.post("/api/v1/reports", json={"audience": "self"}, headers=auth).json()
    pdf = client.get(body["pdf_url"], headers=auth).content
    client.cookies.set("xy_session", logged_in["cookie"], domain="testserver.local")
    form = client.get("/reports/verify")
    assert f'value="{logged_in["csrf"]}"' in form.text
    checked = client.post(
        "/reports/verify",
        data={"csrf_token": logged_in["csrf"]},
        files={"file": ("r.pdf", pdf, "application/pdf")},
    )
    assert checked.status_code == 200 and "完全一致" in checked.text
