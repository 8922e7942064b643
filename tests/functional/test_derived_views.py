"""Derived views (score reasons, lists) show an institution no more than its archive view."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.functional.conftest import World
from tests.functional.test_accounts import grant, query
from xinyong.records.models import Record


def _government_only_record(session: Session, world: World) -> Record:
    factories.department(session, code="JJZD", name="市公安局交通警察支队")
    result = factories.submit_rows(
        session,
        [
            factories.generic_row(
                "SERIOUS_TRAFFIC_VIOLATION",
                session=session,
                id_number=world.person_number,
                name=world.person_name,
                部门代码="JJZD",
            )
        ],
    )
    assert result.accepted == 1, result.errors
    session.commit()
    record = session.scalars(
        select(Record).where(
            Record.subject_id == world.subject_id,
            Record.item_code == "SERIOUS_TRAFFIC_VIOLATION",
        )
    ).one()
    assert record.open_level == "government"
    return record


def test_authorized_score_and_lists_name_no_government_only_record(
    https_client: TestClient, world: World, session: Session
) -> None:
    record = _government_only_record(session, world)
    auth = grant(https_client, world, repeated=True, scope=["archive", "score", "lists"])
    archive = query(https_client, world, auth["id"]).json()
    shown = {r["id"] for r in archive["records"]}
    assert record.id not in shown and shown
    score = query(https_client, world, auth["id"], what="score")
    assert score.status_code == 200, score.text
    reasons = {r["record"] for r in score.json()["reasons"]}
    assert reasons <= shown and record.id not in reasons
    assert score.json()["hidden_reasons"] == 1
    assert "严重交通违法" not in score.text
    lists = query(https_client, world, auth["id"], what="lists")
    assert lists.status_code == 200
    assert all(e["record_id"] in shown for e in lists.json() if e["record_id"] is not None)
    assert "严重交通违法" not in lists.text
    # The person sees it all: the reason and the watch-list entry.
    mine = https_client.get("/api/v1/me/score", headers=world.auth("person")).json()
    assert record.id in {r["record"] for r in mine["reasons"]} and mine["hidden_reasons"] == 0
    my_lists = https_client.get("/api/v1/me/lists", headers=world.auth("person")).json()
    assert record.id in {e["record_id"] for e in my_lists}
