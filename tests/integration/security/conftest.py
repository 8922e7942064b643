"""A throw-away platform instance driven through the real `xinyong` command, for tests that
need committed data on disk: database dumps, kill -9, backup and restore.

On SQLite it lives in its own XINYONG_HOME; on PostgreSQL (XINYONG_TEST_DATABASE_URL) in
its own schema of the test database, dropped afterwards.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests import factories
from tests.conftest import TEST_DATABASE_URL

XINYONG = Path(sys.executable).parent / "xinyong"
DEPT = SimpleNamespace(code="SECDEPT", name="安全测试局", credit_code=None)
_counter = itertools.count()


@dataclass
class Instance:
    home: Path
    env: dict[str, str]
    url: str
    schema: str | None

    def run(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(XINYONG), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"xinyong {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(XINYONG), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def engine(self) -> Engine:
        if self.schema is None:
            return create_engine(self.url)
        return create_engine(
            TEST_DATABASE_URL, connect_args={"options": f"-csearch_path={self.schema}"}
        )

    def scalar(self, sql: str) -> Any:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar()
        finally:
            engine.dispose()


@pytest.fixture()
def instance(tmp_path: Path) -> Iterator[Instance]:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_HOME"] = str(home)
    env["XINYONG_IMPORT_CHUNK_ROWS"] = "5000"
    schema = None
    if TEST_DATABASE_URL:
        schema = f"xy_sec_{os.getpid()}_{next(_counter)}"
        admin = create_engine(TEST_DATABASE_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        sep = "&" if "?" in TEST_DATABASE_URL else "?"
        url = f"{TEST_DATABASE_URL}{sep}options=-csearch_path%3D{schema}"
        env["XINYONG_DATABASE_URL"] = url
        env["XINYONG_BLIND_INDEX_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
        env["XINYONG_ENCRYPTION_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
        env["XINYONG_AUDIT_CHAIN_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    else:
        url = f"sqlite:///{home / 'xinyong.sqlite3'}"
    inst = Instance(home, env, url, schema)
    inst.run("init")
    inst.run("department", "add", DEPT.code, DEPT.name)
    try:
        yield inst
    finally:
        if schema is not None:
            admin = create_engine(TEST_DATABASE_URL)
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()


def identity_numbers(n: int, start: int = 0) -> list[str]:
    """n distinct valid resident identity numbers."""
    base = dt.date(1960, 1, 1)
    return [
        factories.resident_id(birth=base + dt.timedelta(days=i // 900), seq=100 + i % 900)
        for i in range(start, start + n)
    ]


def penalty_csv(path: Path, numbers: list[str], documents: str = "安罚") -> Path:
    rows = [
        factories.penalty_row(
            id_number=number,
            name="测试人",
            dept=DEPT,  # type: ignore[arg-type]
            document=f"{documents}〔2026〕{i:06d}号",
        )
        for i, number in enumerate(numbers)
    ]
    return factories.write_csv(path, rows)
