"""The batch page of an uploaded file: 排队中, then the rows done so far, then the result."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import World
from tests.functional.test_web_pages import _csrf, _login
from xinyong.db import session_factory
from xinyong.records.models import SubmissionBatch
from xinyong.submissions.jobs import claim_next, run_job


def test_the_batch_page_follows_the_job(
    https_client: TestClient, world: World, session: Session, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    rows = [
        factories.penalty_row(name="吴六", id_number=factories.resident_id(seq=600 + i))
        for i in range(12)
    ]
    for row in rows:
        row["数据来源单位"] = "世界市场监管局"
    path = factories.write_csv(tmp_path / "处罚.csv", rows, encoding="gbk")
    _login(https_client, "clerk1")
    page = https_client.get("/workbench")
    resp = https_client.post(
        "/workbench/upload",
        data={"csrf_token": _csrf(page.text)},
        files={"file": ("处罚.csv", path.read_bytes(), "text/csv")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    location = resp.headers["location"]
    status_url = f"{location}/status"

    queued = https_client.get(status_url)
    assert "排队中" in queued.text and "hx-get" in queued.text
    assert "HX-Refresh" not in queued.headers
    assert "排队中" in https_client.get("/workbench/batches").text

    batch_id = claim_next(session)
    assert batch_id is not None and location.endswith(f"/{batch_id}")
    batch = session.get(SubmissionBatch, batch_id)
    assert batch is not None
    batch.total_rows = 5  # a chunk merged and committed
    session.commit()
    running = https_client.get(status_url)
    assert "已处理 5 行" in running.text and "hx-get" in running.text

    assert run_job(session_factory(), batch_id) == "done"
    done = https_client.get(status_url)
    assert done.headers.get("HX-Refresh") == "true"  # reload for the error list
    shown = https_client.get(location).text
    assert "处理完成：共 12 行，接收 12 行（新增 12" in shown
