"""A write that cannot take the database's lock in time is answered 503 系统繁忙 with
Retry-After (the API's error shape; a Chinese page for page URLs), never 500.

On SQLite the lock is the database's one write lock, held here by another connection
(as a running job's chunk would) in a database file of the test's own: the tests' shared
connection keeps a transaction open, which would itself hold that lock. On PostgreSQL a
writer waits for a table another connection has locked, past a ``lock_timeout``.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests import factories
from tests.functional.conftest import PASSWORD
from xinyong import db
from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import create_user, issue_api_key
from xinyong.config import get_settings
from xinyong.web.app import create_app


def _submission(session: Session) -> tuple[dict[str, str], list[dict[str, str]]]:
    dept = factories.department(session, code="BUSYDEPT", name="繁忙测试局")
    create_user(
        session, username="busyclerk", password=PASSWORD, role="clerk", department_code=dept.code
    )
    key = issue_api_key(session, KeyRole.DEPARTMENT, "busy", dept)
    session.commit()
    row = factories.penalty_row(dept=dept, name="赵忙")
    return {"Authorization": f"Bearer {key}"}, [row]


def _assert_busy_api(resp_status: int, headers: dict[str, str], body: dict[str, object]) -> None:
    assert resp_status == 503
    assert int(headers["retry-after"]) > 0
    assert body == {"error": {"code": "busy", "message": "系统繁忙，请稍后重试", "details": []}}


@contextmanager
def _own_copy(engine: Engine, tmp_path: Path, busy_seconds: float) -> Iterator[tuple[Engine, Path]]:
    if engine.dialect.name != "sqlite":
        pytest.skip(
            "needs a committed SQLite file of its own (its write lock, a second thread); the "
            "PostgreSQL test schema is one uncommitted transaction: test_a_lock_timeout_answers_503"
        )
    source = engine.url.database
    assert source
    target = tmp_path / "busy.sqlite3"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    settings = get_settings().model_copy(update={"db_busy_seconds": busy_seconds})
    own = db.make_engine(settings, url=f"sqlite:///{target}")
    saved = db._factory
    db._factory = sessionmaker(own, expire_on_commit=False)
    try:
        yield own, target
    finally:
        db._factory = saved
        own.dispose()


@pytest.fixture()
def own_sqlite(engine: Engine, tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    """A committed copy of the migrated test database, with a short busy bound (1 s)."""
    with _own_copy(engine, tmp_path, 1.0) as own:
        yield own


@pytest.fixture()
def patient_sqlite(engine: Engine, tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    """The same with a bound (10 s) that writers queued behind one another stay within."""
    with _own_copy(engine, tmp_path, 10.0) as own:
        yield own


def test_api_and_page_answer_503_while_another_connection_writes(
    own_sqlite: tuple[Engine, Path],
) -> None:
    own, path = own_sqlite
    with Session(own) as session:
        headers, rows = _submission(session)
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        login = client.get("/login")
        assert login.status_code == 200
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as a job's chunk holds it
        holder.execute("UPDATE departments SET name = name")
        try:
            resp = client.post("/api/v1/submissions", json={"rows": rows}, headers=headers)
            _assert_busy_api(resp.status_code, dict(resp.headers), resp.json())
            token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
            assert token is not None
            page = client.post(  # signing in writes the session
                "/login",
                data={"username": "busyclerk", "password": PASSWORD, "csrf_token": token[1]},
                follow_redirects=False,
            )
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert "系统繁忙" in page.text and "请稍后重试" in page.text
            assert int(page.headers["retry-after"]) > 0
        finally:
            holder.rollback()
            holder.close()
        # A lock released within the bound (a job's chunk committing): the writer waits.
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE departments SET name = name")
        release = threading.Timer(0.2, holder.rollback)
        release.start()
        try:
            resp = client.post("/api/v1/submissions", json={"rows": rows}, headers=headers)
        finally:
            release.join()
            holder.close()
        assert resp.status_code == 200, resp.text
        assert resp.json()["accepted"] == 1

        # An upload is stored before its session takes the lock (db.begin_writing); the
        # queued batch is written once the lock is free.
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE departments SET name = name")
        release = threading.Timer(0.2, holder.rollback)
        release.start()
        try:
            upload = client.post(
                "/api/v1/submissions",
                files={"file": ("处罚.csv", b"a,b\n1,2\n", "text/csv")},
                headers=headers,
            )
        finally:
            release.join()
            holder.close()
        assert upload.status_code == 202, upload.text
        assert upload.json()["status"] == "queued"


def test_a_request_waiting_for_the_lock_does_not_stop_the_server(
    patient_sqlite: tuple[Engine, Path],
) -> None:
    """While writers wait for SQLite's write lock (an API submission, an API upload, a
    page's upload form), the same server goes on answering: no database work runs on the
    event loop, where a wait for the lock would stop every request of the worker and keep
    the holder from committing (the server answered 503s and minutes-long uploads)."""
    own, path = patient_sqlite
    with Session(own) as session:
        headers, rows = _submission(session)
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        login = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token is not None
        signed_in = client.post(
            "/login",
            data={"username": "busyclerk", "password": PASSWORD, "csrf_token": token[1]},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        page = client.get("/workbench")
        page_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page_token is not None
        answers: dict[str, int] = {}

        def json_rows() -> None:
            resp = client.post("/api/v1/submissions", json={"rows": rows}, headers=headers)
            answers["json"] = resp.status_code

        def api_upload() -> None:
            resp = client.post(
                "/api/v1/submissions",
                files={"file": ("处罚.csv", b"a,b\n1,2\n", "text/csv")},
                headers=headers,
            )
            answers["upload"] = resp.status_code

        def page_upload() -> None:
            resp = client.post(
                "/workbench/upload",
                data={"csrf_token": page_token[1]},
                files={"file": ("处罚.csv", b"a,b\n1,2\n", "text/csv")},
                follow_redirects=False,
            )
            answers["page"] = resp.status_code

        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as a job's chunk holds it
        holder.execute("UPDATE departments SET name = name")
        release = threading.Timer(0.9, holder.rollback)
        writers = [threading.Thread(target=f) for f in (json_rows, api_upload, page_upload)]
        try:
            release.start()
            for writer in writers:
                writer.start()
            time.sleep(0.2)  # the three are waiting for the lock now
            started = time.monotonic()
            health = client.get("/healthz")
            elapsed = time.monotonic() - started
            waiting = [w.is_alive() for w in writers]
        finally:
            release.join()
            for writer in writers:
                writer.join(10)
            holder.close()
        assert health.status_code == 200
        assert waiting == [True, True, True]  # they were still waiting when it answered
        assert elapsed < 0.4, f"/healthz took {elapsed:.2f} s while writers waited"
        assert answers == {"json": 200, "upload": 202, "page": 303}


HOLD_SECONDS = 1.5


def _while_another_commits(path: Path, request: Callable[[], Response]) -> tuple[Response, float]:
    """``request``'s answer, and how long it took, while another connection holds the
    write lock, then commits a change HOLD_SECONDS later (a job's chunk)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE departments SET name = name")
    commit = threading.Timer(HOLD_SECONDS, holder.commit)
    commit.start()
    try:
        started = time.monotonic()
        answer = request()
        return answer, time.monotonic() - started
    finally:
        commit.join()
        holder.close()


def test_a_read_that_is_recorded_waits_for_the_lock_instead_of_failing(
    patient_sqlite: tuple[Engine, Path],
) -> None:
    """A request with a credential records what it read (the audit chain's checkpoint, a
    check's journal): it takes the write lock when it begins, so another writer's commit
    while it waits is not a stale snapshot (SQLITE_BUSY_SNAPSHOT, answered 503 at once);
    an anonymous portal page reads without waiting at all."""
    own, path = patient_sqlite
    with Session(own) as session:
        headers, rows = _submission(session)
        admin = {"X-Api-Key": issue_api_key(session, KeyRole.ADMIN, "busy-admin")}
        session.commit()
    check = {
        "id_number": rows[0]["证件号码"],
        "scenario": "ADMIN_LICENSING",
        "operator": "王经办",
        "business_ref": "XK-BUSY",
    }
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        portal, portal_seconds = _while_another_commits(path, lambda: client.get("/"))
        verified, verified_seconds = _while_another_commits(
            path, lambda: client.get("/api/v1/audit/verification", headers=admin)
        )
        checked, _ = _while_another_commits(
            path, lambda: client.post("/api/v1/checks", json=check, headers=headers)
        )
    assert portal.status_code == 200 and portal_seconds < HOLD_SECONDS * 0.8
    assert verified_seconds >= HOLD_SECONDS * 0.9  # it waited for the commit
    assert verified.status_code == 200, verified.text
    assert verified.json()["rows_checked"] > 0
    assert checked.status_code == 200, checked.text
    assert checked.json()["verdict"] == "clear"


def test_a_request_that_writes_takes_the_lock_before_it_reads(
    own_sqlite: tuple[Engine, Path],
) -> None:
    """A deferred transaction that read, then meets another writer's commit, cannot wait
    for the lock (SQLITE_BUSY_SNAPSHOT); a request's writing transaction begins IMMEDIATE."""
    _own, path = own_sqlite
    other = sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)
    other.execute("CREATE TABLE busy_probe (x integer)")
    update = "INSERT INTO busy_probe VALUES (1)"
    try:
        deferred = db.request_session(writes=False)
        deferred.execute(text("SELECT count(*) FROM busy_probe")).scalar()
        other.execute(update)  # another writer commits after the read
        with pytest.raises(OperationalError, match="locked"):
            deferred.execute(text(update))
        deferred.close()

        immediate = db.request_session(writes=True)
        immediate.execute(text("SELECT count(*) FROM busy_probe")).scalar()
        done = threading.Event()

        def write_elsewhere() -> None:
            other.execute(update)  # waits for the request's commit
            done.set()

        thread = threading.Thread(target=write_elsewhere)
        thread.start()
        immediate.execute(text(update))
        assert not done.is_set()
        immediate.commit()
        immediate.close()
        thread.join(5)
        assert done.is_set()
        assert other.execute("SELECT count(*) FROM busy_probe").fetchone() == (3,)
    finally:
        other.close()


def test_a_lock_timeout_answers_503(session: Session, engine: Engine) -> None:
    """PostgreSQL: another connection holds the table the submission writes first."""
    if engine.dialect.name != "postgresql":
        pytest.skip("lock_timeout is PostgreSQL's; SQLite: the test above")
    headers, rows = _submission(session)
    session.execute(text("SET LOCAL lock_timeout = '300ms'"))  # ends with the test
    schema = session.execute(text("SELECT current_schema()")).scalar()
    with engine.connect() as other:
        other.execute(text(f"SET search_path = {schema}"))
        other.execute(text("LOCK TABLE submission_batches IN ACCESS EXCLUSIVE MODE"))
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            resp = client.post("/api/v1/submissions", json={"rows": rows}, headers=headers)
        _assert_busy_api(resp.status_code, dict(resp.headers), resp.json())
        other.rollback()


def test_the_servers_job_runner_imports_an_upload_while_other_writes_succeed(
    patient_sqlite: tuple[Engine, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lifespan's runner thread (submissions.jobs.start_worker) imports a file in chunks
    while the same server answers other submissions: none of them gets a 5xx. The busy
    bound is the 10 s of a patient server: on a loaded machine a 200-row chunk can hold
    the lock past 1 s, and the test is about writes waiting a chunk, not about the bound."""
    own, _ = patient_sqlite
    with Session(own) as session:
        headers, rows = _submission(session)
        dept_credit = rows[0]["数据来源单位统一社会信用代码"]
    monkeypatch.setenv("XINYONG_JOB_WORKER", "1")
    monkeypatch.setenv("XINYONG_JOB_POLL_SECONDS", "0.05")
    monkeypatch.setenv("XINYONG_IMPORT_CHUNK_ROWS", "200")
    monkeypatch.setenv("XINYONG_DB_BUSY_SECONDS", "10")
    get_settings.cache_clear()
    try:
        many = [
            factories.penalty_row(
                name="钱多",
                id_number=factories.resident_id(
                    birth=dt.date(1970, 1, 1) + dt.timedelta(days=i // 900), seq=i % 900
                ),
                document=f"忙罚〔2026〕{i:05d}号",
                数据来源单位统一社会信用代码=dept_credit,
            )
            for i in range(2000)
        ]
        path = factories.write_csv(tmp_path / "大文件.csv", many, encoding="gb18030")
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            resp = client.post(
                "/api/v1/submissions",
                files={"file": ("大文件.csv", path.read_bytes(), "text/csv")},
                headers=headers,
            )
            assert resp.status_code == 202, resp.text
            url = resp.json()["status_url"]
            statuses: list[int] = []
            seen: list[tuple[str, int]] = []
            between: list[bool] = []  # a write that went through between two chunks
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                batch = client.get(url, headers=headers).json()
                seen.append((batch["status"], batch["total_rows"]))
                if batch["status"] not in ("queued", "running"):
                    break
                one = factories.penalty_row(dept=None, name="孙闲")
                one["数据来源单位统一社会信用代码"] = dept_credit
                statuses.append(
                    client.post(
                        "/api/v1/submissions", json={"rows": [one]}, headers=headers
                    ).status_code
                )
                after = client.get(url, headers=headers).json()
                between.append(after["status"] == "running" and after["total_rows"] < 2000)
        assert batch["status"] == "done", batch
        assert (batch["total_rows"], batch["accepted"], batch["created"]) == (2000, 2000, 2000)
        assert statuses and set(statuses) == {200}, statuses
        assert any(s == "running" and 0 < n < 2000 for s, n in seen), seen
        assert any(between), (seen, between)  # writes wait a chunk, not the whole job
    finally:
        get_settings.cache_clear()


def test_a_jobs_connection_waits_longer_than_a_requests_bound_and_gives_it_back(
    own_sqlite: tuple[Engine, Path],
) -> None:
    """A job has no client waiting: its transactions wait for the lock longer than a
    request's 1 s bound (requests taking the lock in turn must not make it give up), and
    the pooled connection it used waits the request's bound again afterwards."""
    own, path = own_sqlite
    job_factory = db.writing_factory(sessionmaker(own), busy_seconds=8)
    probe = "INSERT INTO busy_probe VALUES (1)"
    sqlite3.connect(path).execute("CREATE TABLE busy_probe (x integer)").connection.commit()

    def hold(seconds: float) -> threading.Timer:
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(seconds, lambda: (holder.commit(), holder.close()))
        release.start()
        return release

    release = hold(2.5)
    started = time.monotonic()
    with job_factory() as job:
        job.execute(text(probe))
        job.commit()
    waited = time.monotonic() - started
    release.join()
    assert 2.0 < waited < 8

    release = hold(2.5)
    try:
        # the same pool (the connection the job used), the default bound
        with pytest.raises(OperationalError, match="locked"), Session(own) as request:
            request.connection(execution_options={"sqlite_immediate": True})
            request.execute(text(probe))
    finally:
        release.join()
