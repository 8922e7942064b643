"""The check API's PostgreSQL fast path (reads on the event loop, records written behind in
group commits) answers exactly as the one-transaction path and records the same rows.

The fast path works on connections of its own, so these tests run against a schema whose
data is committed (not the rolled-back transaction of the other tests), built here and
dropped afterwards. PostgreSQL only: SQLite always takes the one-transaction path.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.integration.measures.test_check_facts import city
from xinyong import db
from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import issue_api_key
from xinyong.actors import Actor
from xinyong.audit import services as audit
from xinyong.audit.models import AuditEvent
from xinyong.catalog import services as catalog_services
from xinyong.catalog.models import Department
from xinyong.catalog.services import load_defaults
from xinyong.config import get_settings
from xinyong.identity.protection import protector_for
from xinyong.measures import fastpath
from xinyong.measures.models import Check
from xinyong.measures.services import run_check
from xinyong.migrate import upgrade
from xinyong.queries.models import QueryLog
from xinyong.web.api import checks
from xinyong.web.app import create_app
from xinyong.web.ratelimit import limiter

SCENARIOS = ("ADMIN_LICENSING", "SOE_EXECUTIVE", "GOV_PROCUREMENT")


@dataclass
class FastCity:
    engine: Engine
    numbers: list[str]
    key: str
    department_id: int
    department_code: str
    department_name: str


@pytest.fixture(scope="module")
def fast_city(engine: Engine) -> Iterator[FastCity]:
    if engine.dialect.name != "postgresql":
        pytest.skip("the fast path is PostgreSQL's; SQLite takes the one-transaction path")
    schema = f"xy_fast_{os.getpid()}"
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        conn.commit()
    base = get_settings().effective_database_url
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    city_engine = create_engine(url)
    upgrade(city_engine)
    with Session(city_engine) as session:
        load_defaults(session)
        session.commit()
    db.set_engine(city_engine)
    saved = {k: os.environ.get(k) for k in ("XINYONG_DATABASE_URL", "XINYONG_CHECK_FAST_PATH")}
    os.environ["XINYONG_DATABASE_URL"] = url
    os.environ["XINYONG_CHECK_FAST_PATH"] = "1"
    get_settings.cache_clear()
    try:
        with Session(city_engine) as session:
            numbers = city(session)
            dept = session.scalars(select(Department).order_by(Department.id)).first()
            assert dept is not None
            key = issue_api_key(session, KeyRole.DEPARTMENT, "fast", dept)
            session.commit()
            yield FastCity(city_engine, numbers, key, dept.id, dept.code, dept.name)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        db.set_engine(engine)
        city_engine.dispose()
        with engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.commit()


def _body(number: str, scenario: str = "ADMIN_LICENSING", ref: str = "YW-1") -> dict[str, str]:
    return {"id_number": number, "scenario": scenario, "operator": "王科员", "business_ref": ref}


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_answers_and_records_equal_the_one_transaction_path(fast_city: FastCity) -> None:
    actor = Actor("apikey:fast", "department", fast_city.department_id, fast_city.department_code)
    with TestClient(create_app(), base_url="https://testserver") as client:
        for number in fast_city.numbers:
            for scenario in SCENARIOS:
                resp = client.post(
                    "/api/v1/checks",
                    json=_body(number, scenario),
                    headers={"X-API-Key": fast_city.key},
                )
                assert resp.status_code == 200, resp.text
                fast = resp.json()
                with Session(fast_city.engine) as session:
                    slow = run_check(
                        session,
                        actor,
                        protector_for(),
                        id_number=number,
                        scenario=scenario,
                        operator="王科员",
                        business_ref="YW-1",
                    ).as_dict()
                    session.rollback()
                    assert {k: v for k, v in fast.items() if k != "check_id"} == {
                        k: v for k, v in slow.items() if k != "check_id"
                    }
                    check = session.get(Check, fast["check_id"])
                    assert check is not None
                    assert (check.verdict, check.decisions, check.scenario) == (
                        fast["verdict"],
                        fast["decisions"],
                        scenario,
                    )
                    assert (check.operator, check.business_ref) == ("王科员", "YW-1")
                    assert check.department_id == fast_city.department_id
                    logs = session.scalars(
                        select(QueryLog).where(
                            QueryLog.returned["check_id"].as_integer() == fast["check_id"]
                        )
                    ).all()
                    events = session.scalars(
                        select(AuditEvent).where(
                            AuditEvent.details.contains(f'"check_id":{fast["check_id"]}')
                        )
                    ).all()
                    if check.subject_id is None:  # not in the archive: no query log
                        assert logs == [] and fast["verdict"] == "clear"
                        [event] = session.scalars(
                            select(AuditEvent).where(
                                AuditEvent.action == "query:check:not_found",
                                AuditEvent.target_id == str(fast["check_id"]),
                            )
                        ).all()
                        continue
                    [log] = logs
                    assert (log.subject_id, log.action, log.basis, log.channel) == (
                        check.subject_id,
                        "check:run",
                        "legal_duty",
                        "api",
                    )
                    assert log.organisation == fast_city.department_name
                    assert log.returned == {
                        "check_id": fast["check_id"],
                        "verdict": fast["verdict"],
                        "measures": [d["measure"] for d in fast["decisions"]],
                    }
                    [event] = events
                    assert event.action == "query:check:run"
                    assert event.target_id == str(check.subject_id)
        assert len(fastpath._instances) == 1  # answered by the fast path, not the fallback
    with Session(fast_city.engine) as session:
        assert audit.verify(session).ok


def test_concurrent_checks_share_transactions_and_all_are_recorded(
    fast_city: FastCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    write = fastpath.CheckJournal._write

    async def counting(self: fastpath.CheckJournal, batch: list[Any]) -> list[int]:
        batches.append(len(batch))
        return await write(self, batch)

    monkeypatch.setattr(fastpath.CheckJournal, "_write", counting)
    checks_before = _count(fast_city.engine, Check)
    n = 120

    async def run() -> list[httpx.Response]:
        app = create_app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            try:
                return await asyncio.gather(
                    *(
                        c.post(
                            "/api/v1/checks",
                            json=_body(fast_city.numbers[i % 4], ref=f"YW-{i}"),
                            headers={"X-API-Key": fast_city.key},
                        )
                        for i in range(n)
                    )
                )
            finally:
                await fastpath.close_for_this_loop()

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * n
    ids = [r.json()["check_id"] for r in responses]
    assert len(set(ids)) == n
    assert sum(batches) == n
    assert len(batches) < n  # checks in flight together were written together
    assert _count(fast_city.engine, Check) == checks_before + n
    with Session(fast_city.engine) as session:
        refs = dict(
            session.execute(select(Check.id, Check.business_ref).where(Check.id.in_(ids))).all()
        )
        assert refs == {r.json()["check_id"]: f"YW-{i}" for i, r in enumerate(responses)}
        logged = session.scalar(
            select(func.count())
            .select_from(QueryLog)
            .where(QueryLog.returned["check_id"].as_integer().in_(ids))
        )
        assert logged == sum(1 for i in range(n) if i % 4 != 3)  # the fourth is unknown
        assert audit.verify(session).ok


def test_a_failed_write_is_answered_with_an_error_and_leaves_nothing(
    fast_city: FastCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks_before = _count(fast_city.engine, Check)
    events_before = _count(fast_city.engine, AuditEvent)
    # The statement fails after its inserts: the whole transaction must go.
    broken = fastpath.RECORD_AND_AUDIT_SQL.replace(
        "SELECT 1", "SELECT 1 / (count(*) - count(*)) FROM audit_moved"
    )
    assert broken != fastpath.RECORD_AND_AUDIT_SQL
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        monkeypatch.setattr(fastpath, "RECORD_AND_AUDIT_SQL", broken)
        resp = client.post(
            "/api/v1/checks", json=_body(fast_city.numbers[0]), headers={"X-API-Key": fast_city.key}
        )
        assert resp.status_code == 503
        assert resp.json()["error"]["code"] == "check_not_recorded"
        assert "核查记录未能保存" in resp.json()["error"]["message"]
        assert _count(fast_city.engine, Check) == checks_before
        assert _count(fast_city.engine, AuditEvent) == events_before
        monkeypatch.undo()
        resp = client.post(
            "/api/v1/checks", json=_body(fast_city.numbers[0]), headers={"X-API-Key": fast_city.key}
        )
        assert resp.status_code == 200
        assert _count(fast_city.engine, Check) == checks_before + 1


def test_bad_requests_are_refused_as_on_the_other_path_and_write_nothing(
    fast_city: FastCity,
) -> None:
    checks_before = _count(fast_city.engine, Check)
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        key = {"X-API-Key": fast_city.key}
        cases = [
            (_body(fast_city.numbers[0], scenario="NO_SUCH"), key, 422, "unknown_scenario"),
            (_body("110101199001011234"), key, 422, None),
            ({**_body(fast_city.numbers[0]), "operator": "  "}, key, 422, "missing_operator"),
            (_body(fast_city.numbers[0]), {"X-API-Key": "xk_wrong"}, 401, None),
        ]
        for body, headers, status, code in cases:
            resp = client.post("/api/v1/checks", json=body, headers=headers)
            assert resp.status_code == status, resp.text
            if code:
                assert resp.json()["error"]["code"] == code
            assert "110101199001011234" not in resp.text
    assert _count(fast_city.engine, Check) == checks_before


def test_the_check_route_answers_the_common_case_as_the_framework_does(
    fast_city: FastCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CheckRoute`` answers a check with a recently authenticated key before the
    framework's routing; the same answer, headers and records as ``create_check``, and
    everything unusual handed on to it."""
    # The key stays cached for the whole test: on a loaded machine its steps can take longer
    # than the cache's few seconds, and a key past them is handed on (tested apart).
    monkeypatch.setattr(checks, "AUTH_TTL_SECONDS", 3600.0)
    monkeypatch.setattr(catalog_services, "STAMP_TTL_SECONDS", 3600.0)
    answered: list[bool] = []
    answer = checks.CheckRoute._answer

    async def spying(self: checks.CheckRoute, *args: Any) -> bool:
        answered.append(await answer(self, *args))
        return answered[-1]

    monkeypatch.setattr(checks.CheckRoute, "_answer", spying)
    monkeypatch.setattr(checks, "_authenticated", {})  # the first check authenticates
    key = {"X-API-Key": fast_city.key}
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        first = client.post("/api/v1/checks", json=_body(fast_city.numbers[0]), headers=key)
        second = client.post(
            "/api/v1/checks",
            json=_body(fast_city.numbers[0]),
            headers={"Authorization": f"Bearer {fast_city.key}"},
        )
        assert answered == [False, True]
        assert first.status_code == second.status_code == 200
        assert first.json()["verdict"] != "clear"  # a person with facts
        assert {k: v for k, v in first.json().items() if k != "check_id"} == {
            k: v for k, v in second.json().items() if k != "check_id"
        }
        assert second.json()["check_id"] > first.json()["check_id"]
        for name in ("content-security-policy", "x-content-type-options", "cache-control"):
            assert second.headers[name] == first.headers[name]
        assert second.headers["content-type"] == "application/json"
        with Session(fast_city.engine) as session:
            check = session.get(Check, second.json()["check_id"])
            assert check is not None and check.decisions == second.json()["decisions"]

        # A body the model refuses, and the wrong method: handed on, answered as before.
        answered.clear()
        bad = client.post(
            "/api/v1/checks",
            content=b'{"id_number": "',
            headers=key | {"content-type": "application/json"},
        )
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request")
        short = client.post(
            "/api/v1/checks", json={**_body(fast_city.numbers[0]), "operator": ""}, headers=key
        )
        assert (
            short.status_code == 422 and short.json()["error"]["details"][0]["field"] == "operator"
        )
        assert client.get("/api/v1/checks", headers=key).status_code == 405
        # Not declared JSON: the framework does not read it as JSON, nor does the route.
        plain = client.post(
            "/api/v1/checks",
            content=json.dumps(_body(fast_city.numbers[0])),
            headers=key | {"content-type": "text/plain"},
        )
        assert plain.status_code == 422
        # The first Authorization header counts, as in the framework: not a Bearer one.
        odd = client.post(
            "/api/v1/checks",
            json=_body(fast_city.numbers[0]),
            headers=[("authorization", "Basic eA=="), ("authorization", f"Bearer {fast_city.key}")],
        )
        assert (odd.status_code, odd.json()["error"]["code"]) == (401, "bad_authorization")
        assert answered == [False, False, False, False]

        # Errors of the check itself come from the route, in the API's shape.
        answered.clear()
        unknown = client.post(
            "/api/v1/checks", json=_body(fast_city.numbers[0], scenario="NO_SUCH"), headers=key
        )
        assert unknown.json() == {
            "error": {"code": "unknown_scenario", "message": "应用场景 NO_SUCH 不存在"}
        }
        monkeypatch.setenv("XINYONG_RATE_CHECK_PER_MINUTE", "1")
        get_settings.cache_clear()
        limiter.reset()
        try:
            client.post("/api/v1/checks", json=_body(fast_city.numbers[0]), headers=key)
            limited = client.post("/api/v1/checks", json=_body(fast_city.numbers[0]), headers=key)
        finally:
            monkeypatch.delenv("XINYONG_RATE_CHECK_PER_MINUTE")
            get_settings.cache_clear()
            limiter.reset()
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        assert answered == [True, True, True]
