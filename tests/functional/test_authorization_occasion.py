"""A one-time authorization is one query occasion; the authorized report needs no identity
number when the authorization names the person, and names the institution and purpose."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.functional.conftest import World
from tests.functional.test_accounts import grant, query
from xinyong.authorizations.models import Authorization
from xinyong.db import utcnow


def test_one_time_authorization_reads_its_scopes_together_once(
    https_client: TestClient, world: World, session: Session
) -> None:
    auth = grant(https_client, world, scope=["archive", "score"])
    assert query(https_client, world, auth["id"]).status_code == 200
    # The score of the same occasion is not refused by the archive read before it.
    score = query(https_client, world, auth["id"], what="score")
    assert score.status_code == 200, score.text
    # Each scope once: the archive again is a second occasion.
    again = query(https_client, world, auth["id"])
    assert again.status_code == 403 and again.json()["error"]["code"] == "authorization_used"
    # Out of scope stays out of scope.
    lists = query(https_client, world, auth["id"], what="lists")
    assert lists.json()["error"]["code"] == "authorization_out_of_scope"


def test_the_occasion_closes_after_its_window(
    https_client: TestClient, world: World, session: Session
) -> None:
    auth = grant(https_client, world, scope=["archive", "score"])
    assert query(https_client, world, auth["id"]).status_code == 200
    session.execute(
        update(Authorization)
        .where(Authorization.id == auth["id"])
        .values(first_used_at=utcnow() - dt.timedelta(minutes=31))
    )
    session.commit()
    late = query(https_client, world, auth["id"], what="score")
    assert late.status_code == 403 and late.json()["error"]["code"] == "authorization_used"


@pytest.mark.parametrize("with_number", [False, True])
def test_authorized_report_needs_no_identity_number(
    https_client: TestClient, world: World, with_number: bool
) -> None:
    auth = grant(
        https_client, world, scope=["report"], purpose="other", purpose_text="房屋租赁审核"
    )
    body: dict[str, object] = {"audience": "authorized", "authorization_id": auth["id"]}
    if with_number:
        body["id_number"] = world.person_number
    made = https_client.post("/api/v1/reports", json=body, headers=world.auth("institution"))
    assert made.status_code == 201, made.text
    html = https_client.get(made.json()["html_url"], headers=world.auth("institution")).text
    assert "测试银行" in html and f"第 {auth['id']} 号" in html and "其他：房屋租赁审核" in html
    assert world.person_number not in html
    # Another institution cannot use it, with or without a number.
    other = https_client.post(
        "/api/v1/reports",
        json={"audience": "authorized", "authorization_id": auth["id"]},
        headers=world.auth("person"),
    )
    assert other.status_code == 403
