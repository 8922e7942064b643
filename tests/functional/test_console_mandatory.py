"""The console's 应查必查 table: the office sees, per month, who checked and who did not."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import PASSWORD, World
from xinyong.actors import Actor, Role
from xinyong.identity.protection import protector_for
from xinyong.measures.services import run_check


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert resp.status_code == 303


def test_console_flags_a_named_department_that_made_no_mandatory_check(
    https_client: TestClient, world: World, session: Session
) -> None:
    factories.department(session, code="CZJ", name="市财政局")
    trading = factories.department(session, code="GGZY", name="市公共资源交易中心")
    actor = Actor("user:ggzy", Role.CLERK, trading.id, trading.code)
    run_check(session, actor, protector_for(), id_number=factories.resident_id(),
              scenario="GOV_PROCUREMENT", operator="乙", business_ref="CG-7")  # fmt: skip
    session.commit()
    month = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")

    _login(https_client, "admin1")
    page = https_client.get(f"/console?month={month}")
    assert page.status_code == 200
    flagged = re.search(
        r'<p class="notice" role="status" id="mandatory-flagged">(.*?)</p>', page.text
    )
    assert flagged is not None
    # each department with the scenarios it named and left unchecked this month
    assert "市财政局（财政资金支持和政策扶持、政府采购、职业人群执业）" in flagged.group(1)
    assert "市公共资源交易中心（招标投标）" in flagged.group(1)
    rows = re.findall(
        r'<td data-label="场景">([^<]+)</td><td data-label="部门">([^<]+)</td>'
        r'<td data-label="核查次数" class="num">(\d+)</td><td data-label="情况">(.*?)</td>',
        page.text,
    )
    got = {(s, d): (int(n), "未核查" in state) for s, d, n, state in rows}
    assert got[("政府采购", "市公共资源交易中心")] == (1, False)
    assert got[("政府采购", "市财政局")] == (0, True)
    # a month with no checks at all: the trading centre is flagged too; a bad month is ignored
    empty = https_client.get("/console?month=2020-01").text
    assert "2020-01 未开展应查必查核查的部门" in empty
    assert (
        "市公共资源交易中心（招标投标、政府采购）" in empty
        or "市公共资源交易中心（政府采购、招标投标）" in empty
    )
    assert https_client.get("/console?month=abc").status_code == 200
