"""Two xinyong instances on loopback: a city pushes to its province, is interrupted
mid-way, resumes, and the province holds every record exactly once; the city pulls the
province's national lists, crashes mid-page, resumes, and holds every entry exactly once."""

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


def _serve(home: Path) -> tuple[int, subprocess.Popen[bytes]]:
    port = _free_port()
    server = subprocess.Popen(
        [*XINYONG, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return port, server
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_city_pushes_to_province_interrupted_and_resumed(tmp_path: Path) -> None:
    province, city = tmp_path / "province", tmp_path / "city"
    assert _run(province, "init").returncode == 0
    key = _run(province, "apikey", "create", "--platform", "430100").stdout.strip()
    assert key.startswith("xy_")
    port, server = _serve(province)
    try:
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


DEBTORS = 5


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


@pytest.mark.slow
def test_city_pulls_national_lists_interrupted_resumed_and_removed(tmp_path: Path) -> None:
    province, city = tmp_path / "province", tmp_path / "city"
    assert _run(province, "init").returncode == 0
    code = credit_code_for(4343)
    assert _run(province, "department", "add", "COURT", "示范市中级人民法院", "--credit-code", code).returncode == 0  # fmt: skip
    numbers = [
        factories.resident_id(birth=dt.date(1970, 6, 1), seq=100 + i) for i in range(DEBTORS)
    ]
    rows = [
        factories.generic_row(
            "DISHONEST_JUDGMENT_DEBTOR",
            id_number=number,
            name="钱七",
            document=f"（2026）最高法执{i}号",
            部门代码="COURT",
            执行法院="最高人民法院",
            执行案号=f"（2026）最高法执{i}号",
        )
        for i, number in enumerate(numbers)
    ]
    csv_path = factories.write_csv(tmp_path / "debtors.csv", rows)
    assert _json(_run(province, "import", str(csv_path), "--json"))["accepted"] == DEBTORS
    key = _run(province, "apikey", "create", "--platform", "430100").stdout.strip()
    port, server = _serve(province)
    url = f"http://127.0.0.1:{port}"
    pull = ["exchange", "pull", "--url", url, "--key", key, "--limit", "2", "--json"]
    try:
        assert _run(city, "init").returncode == 0
        assert _json(_run(city, "check", numbers[0], "--scenario", "HIGH_CONSUMPTION", "--json"))["verdict"] == "clear"  # fmt: skip

        # One page, then a crash after the first entry of the second page.
        first = _json(_run(city, *pull, "--max-pages", "1"))
        assert (first["pages"], first["listed"], first["finished"]) == (1, 2, False)
        crashed = _run(city, *pull, "--fail-after", "1")
        assert crashed.returncode == 1 and "模拟崩溃" in crashed.stderr
        status = _json(_run(city, "exchange", "status", "--json"))
        assert status["pull_watermark"] == first["watermark"]  # the crashed page left no trace

        resumed = _json(_run(city, *pull))
        assert (resumed["listed"], resumed["finished"]) == (DEBTORS - 2, True)
        again = _json(_run(city, *pull))
        assert (again["entries"], again["finished"]) == (0, True)

        verdict = _json(_run(city, "check", numbers[0], "--scenario", "HIGH_CONSUMPTION", "--json"))  # fmt: skip
        assert verdict["verdict"] == "blocked"
        measures = {d["measure"] for d in verdict["decisions"]}  # type: ignore[attr-defined]
        assert "P_RESTRICT_HIGH_CONSUMPTION" in measures
        civil = _json(_run(city, "check", numbers[0], "--scenario", "CIVIL_SERVANT_RECRUITMENT", "--json"))  # fmt: skip
        assert civil["verdict"] == "blocked"

        # Upstream the entries end (display period over): downstream they end too.
        assert _run(province, "expire", "--date", "2100-01-01").returncode == 0
        removed = _json(_run(city, *pull))
        assert removed["ended"] == DEBTORS
        after = _json(_run(city, "check", numbers[0], "--scenario", "HIGH_CONSUMPTION", "--json"))  # fmt: skip
        assert after["verdict"] == "clear"

        # Nothing pulled is pushed back up.
        pushed = _json(_run(city, "exchange", "push", "--url", url, "--key", key, "--json"))
        assert pushed["changes"] == 0
    finally:
        server.terminate()
        server.wait(timeout=30)

    with sqlite3.connect(city / "xinyong.sqlite3") as conn:
        held = conn.execute(
            "SELECT count(*), count(DISTINCT r.document_number), min(d.name) FROM records r "
            "JOIN departments d ON d.id = r.department_id WHERE d.code LIKE 'UP-%'"
        ).fetchone()
        entries = conn.execute(
            "SELECT count(*), count(DISTINCT record_id), min(status), max(status), min(source) "
            "FROM list_entries"
        ).fetchone()
        pulled = conn.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'exchange:lists:pulled'"
        ).fetchone()
    assert held[:2] == (DEBTORS, DEBTORS) and held[2].startswith("上级信用平台")
    assert entries == (DEBTORS, DEBTORS, "ended", "ended", "upper_platform")
    assert pulled[0] >= 4
    assert _run(city, "audit", "verify").returncode == 0
    assert _run(province, "audit", "verify").returncode == 0
