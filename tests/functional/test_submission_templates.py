"""Submission templates (报送模板): one per catalog item, XLSX and CSV, whose example row the
pipeline accepts as downloaded, also re-saved as GBK as departments' Excel does."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import World
from tests.functional.test_web_pages import _login
from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import issue_api_key
from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.submissions.jobs import run_pending_jobs
from xinyong.submissions.templates import SGS_LICENSE_HEADERS, SGS_PENALTY_HEADERS


def test_every_catalog_item_has_a_template_the_pipeline_accepts(
    https_client: TestClient, world: World, session: Session
) -> None:
    _login(https_client, "clerk1")
    page = https_client.get("/workbench/templates")
    assert page.status_code == 200
    items = current_catalog(session).items
    for code in items:
        assert f"/workbench/templates/{code}.xlsx" in page.text
        assert f"/workbench/templates/{code}.csv" in page.text
    keys: dict[int, str] = {}

    def key_of(dept: Department) -> dict[str, str]:
        """The API key of a department that provides the item (a department sends only its
        items)."""
        if dept.id not in keys:
            keys[dept.id] = issue_api_key(session, KeyRole.DEPARTMENT, dept.code, dept)
            session.commit()
        return {"Authorization": f"Bearer {keys[dept.id]}"}

    for number, (code, item) in enumerate(sorted(items.items())):
        xlsx = https_client.get(f"/workbench/templates/{code}.xlsx")
        assert xlsx.status_code == 200, code
        assert "attachment" in xlsx.headers["content-disposition"]
        book = load_workbook(io.BytesIO(xlsx.content))
        assert book.sheetnames == ["报送数据", "填写说明"]
        rows = list(book["报送数据"].iter_rows(values_only=True))
        assert len(rows) == 2, code  # headers and one example row
        headers = [str(h) for h in rows[0]]
        guide = [str(r[0]) for r in book["填写说明"].iter_rows(min_row=2, values_only=True) if r[0]]
        assert set(headers) <= set(guide), code
        for spec in item.fields:
            assert spec.label in headers, (code, spec.label)
        if item.record_format == "sgs_penalty":
            assert tuple(headers) == SGS_PENALTY_HEADERS
        if item.record_format == "sgs_license":
            assert tuple(headers) == SGS_LICENSE_HEADERS

        csv_file = https_client.get(f"/workbench/templates/{code}.csv")
        text = csv_file.content.decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text)))
        assert lines[0] == headers and len(lines) == 2
        # The department re-saves it in GBK with its own document number and submits it.
        example = dict(zip(lines[0], lines[1], strict=True))
        for key in ("文书号", "行政处罚决定书文号", "行政许可决定文书号"):
            if key in example:
                example[key] = f"模板测试〔2026〕{number}号"
        sender = factories.provider_of(session, code)
        if "部门代码" in example:  # the department that provides the item sends it
            example["部门代码"] = sender.code
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(lines[0])
        writer.writerow([example[h] for h in lines[0]])
        resp = https_client.post(
            "/api/v1/submissions",
            headers=key_of(sender),
            files={"file": (f"{code}.csv", out.getvalue().encode("gbk"), "text/csv")},
        )
        assert resp.status_code == 202, (code, resp.text[:300])
        run_pending_jobs()
        body = https_client.get(resp.json()["status_url"], headers=key_of(sender)).json()
        assert (body["accepted"], body["rejected"]) == (1, 0), (code, body)


def test_an_unknown_item_has_no_template(https_client: TestClient, world: World) -> None:
    _login(https_client, "clerk1")
    assert https_client.get("/workbench/templates/NOPE.xlsx").status_code == 404
    assert https_client.get("/workbench/templates/SGS_PENALTY.pdf").status_code == 404


@pytest.mark.parametrize("username", ["reviewer1", "admin1"])
def test_templates_open_for_every_workbench_role(
    https_client: TestClient, world: World, username: str
) -> None:
    _login(https_client, username)
    assert https_client.get("/workbench/templates/SGS_LICENSE.csv").status_code == 200
