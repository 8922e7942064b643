"""Password hashing and login: argon2id parameters, time per hash, time per login request.

Measures, in one run on this machine:

- ``hash``: ``xinyong.accounts.passwords.hash_password`` with the production parameters;
- ``verify``: checking a correct password against a stored hash (what a login costs);
- ``login``: ``POST /api/v1/auth/token`` end to end through the app (in-process client,
  embedded SQLite in a temporary home), which adds the user lookup and the session insert.

Prints medians and p95 in milliseconds and writes ``bench/out/login_bench.json``.

    .venv/bin/python bench/login_bench.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="xinyong-login-bench-")
    os.environ["XINYONG_HOME"] = home
    from fastapi.testclient import TestClient

    from xinyong.accounts import passwords
    from xinyong.accounts.services import create_user
    from xinyong.cli.setup import initialize
    from xinyong.db import session_factory
    from xinyong.web.app import create_app

    initialize()
    password = "Bench-password-2026"
    hashes, verifies = [], []
    stored = passwords.hash_password(password)
    for _ in range(args.rounds):
        start = time.perf_counter()
        passwords.hash_password(password)
        hashes.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert passwords.verify_password(stored, password)
        verifies.append(time.perf_counter() - start)

    with session_factory()() as session:
        create_user(session, username="bench", password=password, role="auditor")
        session.commit()
    logins = []
    with TestClient(create_app(), base_url="https://testserver") as client:
        for _ in range(args.rounds):
            start = time.perf_counter()
            resp = client.post(
                "/api/v1/auth/token", json={"username": "bench", "password": password}
            )
            logins.append(time.perf_counter() - start)
            assert resp.status_code == 200, resp.text

    result = {
        "argon2": {
            "type": "argon2id",
            "time_cost": passwords.TIME_COST,
            "memory_cost_kib": passwords.MEMORY_COST_KIB,
            "parallelism": passwords.PARALLELISM,
            "encoded_prefix": stored.split("$")[1:4],
        },
        "rounds": args.rounds,
        "hash": _ms(hashes),
        "verify": _ms(verifies),
        "login_request": _ms(logins),
        "cpus": os.cpu_count(),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "login_bench.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
