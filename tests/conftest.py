"""Test database set-up: SQLite by default, PostgreSQL when XINYONG_TEST_DATABASE_URL is set.

The schema is built once per run with the real Alembic migrations. Every test runs inside
a transaction that is rolled back at the end; services' and commands' commits become
savepoint releases, so tests never see each other's data.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="xinyong-test-home-"))
os.environ["XINYONG_HOME"] = str(_HOME)
os.environ["XINYONG_BLIND_INDEX_KEY"] = base64.b64encode(b"b" * 32).decode()
os.environ["XINYONG_ENCRYPTION_KEY"] = base64.b64encode(b"e" * 32).decode()
os.environ["XINYONG_AUDIT_CHAIN_KEY"] = base64.b64encode(b"c" * 32).decode()
# The keys above are placeholders: only demo mode accepts them (tests/unit/test_config.py
# checks that anything else refuses them).
os.environ["XINYONG_DEMO"] = "1"
# The check API's PostgreSQL fast path reads and writes on connections of its own, which
# cannot see a test's uncommitted data: tests/integration/measures/test_fast_path.py runs
# it against a committed schema; everything else takes the one-transaction path.
os.environ["XINYONG_CHECK_FAST_PATH"] = "0"
# Queued uploads are run by the tests themselves (submissions.jobs.run_pending_jobs), not by a
# background thread sharing the test's connection.
os.environ["XINYONG_JOB_WORKER"] = "0"
TEST_DATABASE_URL = os.environ.get("XINYONG_TEST_DATABASE_URL") or ""
if TEST_DATABASE_URL:
    os.environ["XINYONG_DATABASE_URL"] = TEST_DATABASE_URL
else:
    os.environ.pop("XINYONG_DATABASE_URL", None)

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from xinyong import db  # noqa: E402
from xinyong.config import get_settings  # noqa: E402


def pytest_report_header() -> str:
    return f"xinyong database: {'PostgreSQL' if TEST_DATABASE_URL else 'SQLite'}"


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Production argon2id costs ~0.1 s per hash; tests hash hundreds of passwords.

    The production parameters are asserted separately (tests/unit/accounts)."""
    from argon2 import PasswordHasher, Type

    from xinyong.accounts import passwords

    original = passwords._hasher
    passwords._hasher = PasswordHasher(
        time_cost=1, memory_cost=256, parallelism=1, hash_len=16, salt_len=16, type=Type.ID
    )
    yield
    passwords._hasher = original


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Every test starts with full buckets (the limiter lives in the process)."""
    from xinyong.web.ratelimit import limiter

    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    get_settings.cache_clear()
    settings = get_settings()
    schema = None
    if TEST_DATABASE_URL:
        # A schema of its own per run, so concurrent runs on one server never collide.
        schema = f"xy_test_{os.getpid()}"
        admin = db.make_engine(settings)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        eng = create_engine(
            settings.effective_database_url,
            connect_args={"options": f"-csearch_path={schema}"},
            pool_size=5,
        )
    else:
        eng = db.make_engine(settings)
    from xinyong.catalog.services import load_defaults
    from xinyong.migrate import upgrade

    upgrade(eng)
    with Session(eng) as session:
        load_defaults(session)
        session.commit()
    db.set_engine(eng)
    yield eng
    eng.dispose()
    if schema is not None:
        admin = db.make_engine(settings)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    db._factory = factory
    try:
        yield conn
    finally:
        db._factory = None
        outer.rollback()
        conn.close()


@pytest.fixture()
def session(connection: Connection) -> Iterator[Session]:
    sess = db.session_factory()()
    try:
        yield sess
    finally:
        sess.close()


@pytest.fixture()
def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
