"""Two xinyong instances on loopback: a city pushes to its province, is interrupted
mid-way, resumes, and the province holds every record exactly once."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import factories
from xinyong.demo import credit_code_for

XINYONG = [sys.executable, "-m", "xinyong.cli.main"]
ROWS = 1200  # three requests of 500 changes


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_HOME"] = str(home)
    return env


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*XINYONG, *args], env=_env(home), capture_output=True, text=True, timeout=300
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_city_pushes_to_province_interrupted_and_resumed(tmp_path: Path) -> None:
    province, city = tmp_path / "province", tmp_path / "city"
    assert _run(province, "init").returncode == 0
    key = _run(province, "apikey", "create", "--platform", "430100").stdout.strip()
    assert key.startswith("xy_")
    port = _free_port()
    server = subprocess.Popen(
        [*XINYONG, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=_env(province),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

        assert _run(city, "init").returncode == 0
        code = credit_code_for(4242)
        assert (
            _run(city, "department", "add", "XCITY", "市测试局", "--credit-code", code).returncode
            == 0
        )
        dept = SimpleNamespace(name="市测试局", credit_code=code)
        rows = [
            factories.penalty_row(
                id_number=factories.resident_id(
                    birth=dt.date(1980 + i // 1000, 3, 9), seq=i % 1000
                ),
                dept=dept,  # type: ignore[arg-type]
            )
            for i in range(ROWS)
        ]
        csv_path = factories.write_csv(tmp_path / "penalties.csv", rows)
        imported = json.loads(_run(city, "import", str(csv_path), "--json").stdout)
        assert imported["accepted"] == ROWS

        url = f"http://127.0.0.1:{port}"
        first = _run(
            city, "exchange", "push", "--url", url, "--key", key, "--max-requests", "1", "--json"
        )
        assert first.returncode == 0, first.stderr
        paused = json.loads(first.stdout)
        assert (paused["finished"], paused["requests"], paused["applied"]) == (False, 1, 500)

        second = _run(city, "exchange", "push", "--url", url, "--key", key, "--json")
        resumed = json.loads(second.stdout)
        assert resumed["finished"] is True
        # The half-sent batch is resent from the watermark: 500 recognised, 700 new.
        assert (resumed["duplicates"], resumed["applied"]) == (500, ROWS - 500)

        status = json.loads(_run(city, "exchange", "status", "--json").stdout)
        assert status["pending"] == 0

        wrong_key = _run(city, "exchange", "push", "--url", url, "--key", "xy_wrong", "--json")
        assert wrong_key.returncode == 0  # nothing pending: nothing sent
    finally:
        server.terminate()
        server.wait(timeout=30)

    with sqlite3.connect(province / "xinyong.sqlite3") as conn:
        held = conn.execute(
            "SELECT count(*), count(DISTINCT r.document_number) FROM records r "
            "JOIN departments d ON d.id = r.department_id WHERE d.code = 'PT-430100'"
        ).fetchone()
        inbox = conn.execute("SELECT count(*), count(DISTINCT key) FROM exchange_inbox").fetchone()
    assert held == (ROWS, ROWS)
    assert inbox == (ROWS, ROWS)
