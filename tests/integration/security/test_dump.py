"""A database dump holds no identity number in clear: every number loaded is searched for
in the dump (pg_dump on PostgreSQL; on SQLite the database file, its WAL and iterdump())
and in every file the platform wrote under its home."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.integration.security.conftest import Instance, identity_numbers, penalty_csv

PERSONS = 300


def _wrong_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def _found(numbers: list[str], blob: bytes) -> list[str]:
    hits = []
    for n in numbers:
        variants = {n, n.lower()}
        if any(v.encode() in blob or v.encode("utf-16-le") in blob for v in variants):
            hits.append(n)
    return hits


@pytest.mark.slow
def test_dump_contains_no_identity_number(instance: Instance, tmp_path: Path) -> None:
    numbers = identity_numbers(PERSONS)
    rejected = [_wrong_check_digit(n) for n in identity_numbers(20, start=PERSONS)]
    done = instance.run(
        "import",
        str(penalty_csv(tmp_path / "in.csv", numbers + rejected)),
        "--department",
        "SECDEPT",
        "--json",
        check=False,
    )
    assert done.returncode == 2, done.stderr  # the rejected rows
    for n in numbers[:2]:
        instance.run("archive", n, "--json")
        instance.run("check", n, "--scenario", "ADMIN_LICENSING")
    instance.run("check", rejected[0], "--scenario", "ADMIN_LICENSING", check=False)
    assert instance.scalar("SELECT count(*) FROM subjects") == PERSONS
    assert instance.scalar("SELECT count(*) FROM submission_errors") == 20
    assert instance.scalar("SELECT count(*) FROM audit_events") >= 5
    everything = numbers + rejected

    if TEST_DATABASE_URL:
        if shutil.which("pg_dump") is None:
            pytest.skip("pg_dump not installed")
        from sqlalchemy.engine import make_url

        url = make_url(TEST_DATABASE_URL)
        dump = subprocess.run(
            [
                "pg_dump",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                "-n",
                instance.schema or "",
                url.database or "test",
            ],
            capture_output=True,
            check=True,
        ).stdout
        assert b"COPY " in dump and len(dump) > 100_000
        assert _found(everything, dump) == []
    else:
        database = instance.home / "xinyong.sqlite3"
        conn = sqlite3.connect(database)
        try:
            text_dump = "\n".join(conn.iterdump()).encode()
        finally:
            conn.close()
        assert b"INSERT INTO" in text_dump
        assert _found(everything, text_dump) == []
    # Every file the platform keeps (database, WAL, error log…), except the key file.
    for path in instance.home.rglob("*"):
        if path.is_file() and path.name != "keys.json":
            assert _found(everything, path.read_bytes()) == [], path.name
