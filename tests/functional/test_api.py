"""The HTTP API end to end through FastAPI's test client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import issue_api_key
from xinyong.queries.services import queries_of
from xinyong.records.models import Record
from xinyong.submissions.jobs import run_pending_jobs
from xinyong.web.app import create_app


@pytest.fixture()
def client(session: Session) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def keys(session: Session) -> dict[str, str]:
    dept = factories.department(session, code="APIDEPT")
    other = factories.department(session, code="OTHER")
    session.commit()
    return {
        "admin": issue_api_key(session, KeyRole.ADMIN, "admin"),
        "dept": issue_api_key(session, KeyRole.DEPARTMENT, "dept", dept),
        "other": issue_api_key(session, KeyRole.DEPARTMENT, "other", other),
        "dept_credit": dept.credit_code or "",
    }


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_json_rows_submission_then_archive(
    client: TestClient, keys: dict[str, str], session: Session
) -> None:
    number = factories.resident_id()
    good = factories.penalty_row(id_number=number, name="钱七")
    good["数据来源单位统一社会信用代码"] = keys["dept_credit"]
    bad = dict(good, **{"证件号码": "123", "行政处罚决定书文号": "X-2"})
    resp = client.post(
        "/api/v1/submissions", json={"rows": [good, bad]}, headers=auth(keys["dept"])
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["errors"][0]["row"] == 2 and body["errors"][0]["code"] == "id_length"

    # A department reads under its legal duty (共享), the office to manage the archive; both
    # reads are logged with their basis.
    lookup = client.post(
        "/api/v1/subjects/lookup", json={"id_number": number}, headers=auth(keys["dept"])
    )
    assert lookup.status_code == 200
    no_matter = client.get(
        f"/api/v1/subjects/{lookup.json()['id']}/archive", headers=auth(keys["dept"])
    )
    assert no_matter.status_code == 422
    assert no_matter.json()["error"]["code"] == "business_reference_required"
    dept_read = client.get(
        f"/api/v1/subjects/{lookup.json()['id']}/archive",
        params={"purpose": "行政处罚案件办理", "reference": "市监罚〔2026〕17号"},
        headers=auth(keys["dept"]),
    )
    assert dept_read.status_code == 200
    lookup = client.post(
        "/api/v1/subjects/lookup", json={"id_number": number}, headers=auth(keys["admin"])
    )
    assert lookup.status_code == 200
    subject_id = lookup.json()["id"]
    archive = client.get(f"/api/v1/subjects/{subject_id}/archive", headers=auth(keys["admin"]))
    assert archive.status_code == 200
    data = archive.json()
    assert data["subject"]["name"] == "钱七"
    assert number not in archive.text  # masked even for the office's API
    record = data["records"][0]
    assert {"id", "document_number", "item", "state", "grade", "display_until"} <= set(record)
    bases = [
        (q.basis, q.purpose, q.reference)
        for q in queries_of(session, subject_id)
        if q.action.startswith("archive")
    ]
    assert ("legal_duty", "行政处罚案件办理", "市监罚〔2026〕17号") in bases
    assert ("administration", "信用办档案管理", None) in bases


def test_file_upload_submission(client: TestClient, keys: dict[str, str], tmp_path) -> None:
    row = factories.penalty_row()
    row["数据来源单位统一社会信用代码"] = keys["dept_credit"]
    path = factories.write_csv(tmp_path / "up.csv", [row], encoding="gb18030")
    with path.open("rb") as fh:
        resp = client.post(
            "/api/v1/submissions",
            files={"file": ("处罚.csv", fh, "text/csv")},
            headers=auth(keys["dept"]),
        )
    # Stored and queued at once (202); the job runner imports it (submissions.jobs).
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "queued"
    assert resp.headers["Location"] == f"/api/v1/submissions/{resp.json()['batch_id']}"
    assert run_pending_jobs() == 1
    batch = client.get(f"/api/v1/submissions/{resp.json()['batch_id']}", headers=auth(keys["dept"]))
    assert batch.status_code == 200 and batch.json()["status"] == "done"
    assert batch.json()["accepted"] == 1 and batch.json()["filename"] == "处罚.csv"
    hidden = client.get(
        f"/api/v1/submissions/{resp.json()['batch_id']}", headers=auth(keys["other"])
    )
    assert hidden.status_code == 404


def test_unreadable_upload_is_a_clear_error(client: TestClient, keys: dict[str, str]) -> None:
    resp = client.post(
        "/api/v1/submissions",
        files={"file": ("x.xlsx", b"PK\x03\x04truncated", "application/octet-stream")},
        headers=auth(keys["dept"]),
    )
    assert resp.status_code == 202
    run_pending_jobs()
    batch = client.get(resp.json()["status_url"], headers=auth(keys["dept"])).json()
    assert batch["status"] == "failed"
    assert batch["failure"].split(":")[0] in ("corrupt_xlsx", "unreadable_file")


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer "])
def test_bad_or_missing_key_is_refused(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    resp = client.post("/api/v1/submissions", json={"rows": [{"a": "b"}]}, headers=headers)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] in (
        "not_authenticated",
        "missing_api_key",
        "invalid_api_key",
    )


def test_malformed_json_body(client: TestClient, keys: dict[str, str]) -> None:
    resp = client.post(
        "/api/v1/submissions",
        content=b"{not json",
        headers={**auth(keys["dept"]), "content-type": "application/json"},
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid_request"


def test_catalog_listing_and_home_page(client: TestClient, keys: dict[str, str]) -> None:
    items = client.get("/api/v1/catalog/items", headers=auth(keys["dept"]))
    assert items.status_code == 200
    assert any(i["code"] == "SGS_PENALTY" for i in items.json())
    home = client.get("/")
    assert home.status_code == 200 and "个人公共信用信息平台" in home.text


def test_score_and_lists_endpoints(client: TestClient, keys: dict[str, str]) -> None:
    number = factories.resident_id()
    row = factories.penalty_row(id_number=number, category="行政拘留")
    row["数据来源单位统一社会信用代码"] = keys["dept_credit"]
    assert (
        client.post("/api/v1/submissions", json={"rows": [row]}, headers=auth(keys["dept"])).json()[
            "accepted"
        ]
        == 1
    )
    sid = client.post(
        "/api/v1/subjects/lookup", json={"id_number": number}, headers=auth(keys["admin"])
    ).json()["id"]
    score = client.get(f"/api/v1/subjects/{sid}/score", headers=auth(keys["admin"]))
    assert score.status_code == 200, score.text
    body = score.json()
    assert body["score"] == 550 and body["band_name"] == "中等"
    assert body["reasons"][0]["points"] == -150 and "扣 150 分" in body["reasons"][0]["text"]
    assert (
        client.get(f"/api/v1/subjects/{sid}/score", headers=auth(keys["dept"])).status_code == 403
    )
    lists = client.get(f"/api/v1/subjects/{sid}/lists", headers=auth(keys["admin"]))
    assert lists.status_code == 200 and lists.json() == []
    missing = client.get("/api/v1/subjects/999999/score", headers=auth(keys["admin"]))
    assert missing.status_code == 404


def test_json_rows_with_keys_after_the_first_and_a_fifteen_digit_number(
    client: TestClient, keys: dict[str, str], session: Session
) -> None:
    number = factories.resident_id(birth=dt.date(1971, 1, 1))
    first = factories.penalty_row(name="许三", id_number=number[:6] + number[8:17])
    first["数据来源单位统一社会信用代码"] = keys["dept_credit"]
    second = dict(factories.penalty_row(name="许四"), 失信等级="严重", 内部编号="A-1")
    second["数据来源单位统一社会信用代码"] = keys["dept_credit"]
    resp = client.post(
        "/api/v1/submissions", json={"rows": [first, second]}, headers=auth(keys["dept"])
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["accepted"], body["rejected"]) == (2, 0)
    assert body["ignored_columns"] == ["内部编号"]
    assert [(n["row"], n["code"]) for n in body["notes"]] == [(1, "id_converted")]
    grades = {r.row_number: r.grade for r in session.scalars(select(Record))}
    assert grades[2] == "serious"
    batch = client.get(f"/api/v1/submissions/{body['batch_id']}", headers=auth(keys["dept"]))
    assert batch.json()["status"] == "done"
    assert batch.json()["notes"][0]["message"].startswith("证件号码已由 15 位号码转换")


def test_file_submission_progress_and_result(
    client: TestClient, keys: dict[str, str], tmp_path, session: Session
) -> None:
    """submit → queued → running (rows done so far) → done with counts, errors and notes."""
    from xinyong.db import session_factory
    from xinyong.records.models import SubmissionBatch
    from xinyong.submissions.jobs import claim_next, run_job

    rows = [factories.penalty_row() for _ in range(30)]
    for row in rows:
        row["数据来源单位统一社会信用代码"] = keys["dept_credit"]
    rows[4]["证件号码"] = "123"  # line 6 of the file (the header is line 1)
    path = factories.write_csv(tmp_path / "up.csv", rows, encoding="gb18030")
    resp = client.post(
        "/api/v1/submissions",
        files={"file": ("处罚.csv", path.read_bytes(), "text/csv")},
        headers=auth(keys["dept"]),
    )
    assert resp.status_code == 202
    url = resp.json()["status_url"]
    queued = client.get(url, headers=auth(keys["dept"])).json()
    assert (queued["status"], queued["total_rows"], queued["finished_at"]) == ("queued", 0, None)

    batch_id = claim_next(session)
    assert batch_id == resp.json()["batch_id"]
    # Half-way, as another request sees it after a chunk's commit.
    batch = session.get(SubmissionBatch, batch_id)
    assert batch is not None
    batch.total_rows, batch.accepted = 10, 10
    session.commit()
    running = client.get(url, headers=auth(keys["dept"])).json()
    assert (running["status"], running["total_rows"]) == ("running", 10)

    assert run_job(session_factory(), batch_id) == "done"
    done = client.get(url, headers=auth(keys["dept"])).json()
    assert done["status"] == "done" and done["finished_at"] is not None
    assert (done["total_rows"], done["accepted"], done["rejected"], done["created"]) == (
        30,
        29,
        1,
        29,
    )
    assert done["errors"][0]["row"] == 6 and done["errors"][0]["code"] == "id_length"
    assert done["errors_truncated"] is False
