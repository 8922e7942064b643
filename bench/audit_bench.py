"""Cost of the audit trail on the check service (联合奖惩核查), with and without, in one run.

Builds (or with ``--reuse`` keeps) a PostgreSQL city ``xinyong_audit_bench`` of N persons
through the project's own route (``xinyong init``, ``xinyong demo --persons N``), then runs
``measures.services.run_check`` in-process on random persons of the city, one transaction
per check as the API does, alternating rounds with the audit trail on and off
(``xinyong.runtime.AUDIT_ENABLED``, not a setting) so that both see the same machine load. Sequential (one
caller) and concurrent (``--threads`` callers, where appends queue on the chain head's
lock) runs. Prints checks/s per mode, the ratio, and writes ``bench/out/audit_bench.json``.

    .venv/bin/python bench/audit_bench.py [--persons 20000] [--reuse] [--rounds 30]
        [--checks 80] [--threads 4]

Target (issue "audit trail"): the audit trail costs ≤ 15 % of check throughput.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
XINYONG = ROOT / ".venv" / "bin" / "xinyong"
PG = "postgresql://postgres@127.0.0.1:5432"
DB = "xinyong_audit_bench"
ENV_FILE = OUT / "audit-env.json"
HOME = OUT / "audit-home"
SEED = 2026
SCENARIO = "ADMIN_LICENSING"


def bench_env() -> dict[str, str]:
    OUT.mkdir(parents=True, exist_ok=True)
    if ENV_FILE.exists():
        saved = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    else:
        saved = {
            "XINYONG_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "XINYONG_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "XINYONG_AUDIT_CHAIN_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        ENV_FILE.write_text(json.dumps(saved, indent=2), encoding="utf-8")
        ENV_FILE.chmod(0o600)
    HOME.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(
        {
            "XINYONG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}",
            "XINYONG_BLIND_INDEX_KEY": saved["XINYONG_BLIND_INDEX_KEY"],
            "XINYONG_ENCRYPTION_KEY": saved["XINYONG_ENCRYPTION_KEY"],
            # A city saved before the keyed audit chain: any fixed key will do for a benchmark.
            "XINYONG_AUDIT_CHAIN_KEY": saved.get(
                "XINYONG_AUDIT_CHAIN_KEY", saved["XINYONG_ENCRYPTION_KEY"]
            ),
            "XINYONG_HOME": str(HOME),
        }
    )
    return env


def build(persons: int, env: dict[str, str]) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    for args in (["init"], ["demo", "--persons", str(persons), "--seed", str(SEED)]):
        start = time.perf_counter()
        subprocess.run([str(XINYONG), *args], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"$ xinyong {' '.join(args)}  ({time.perf_counter() - start:.1f} s)", flush=True)
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    saved = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    saved.update(persons=persons, built_on=dt.date.today().isoformat())
    ENV_FILE.write_text(json.dumps(saved, indent=2), encoding="utf-8")


def numbers(persons: int, built_on: dt.date) -> list[str]:
    """The city's identity numbers, drawn again exactly as the demo drew them."""
    from faker import Faker

    from xinyong.demo import make_people

    fake = Faker("zh_CN")
    fake.seed_instance(SEED)
    return [p.number for p in make_people(persons, random.Random(SEED), fake, built_on)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--rounds", type=int, default=30, help="rounds per mode, alternating")
    parser.add_argument("--checks", type=int, default=80, help="checks per round")
    parser.add_argument("--threads", type=int, default=4, help="callers in the concurrent run")
    args = parser.parse_args()
    env = bench_env()
    saved = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    if not (args.reuse and saved.get("persons")):
        build(args.persons, env)
        saved = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    os.environ.update(env)

    from xinyong import runtime
    from xinyong.actors import Actor, Role
    from xinyong.config import get_settings
    from xinyong.db import session_factory
    from xinyong.identity.protection import protector_for
    from xinyong.measures.services import run_check

    settings = get_settings()
    protector = protector_for(settings)
    ids = numbers(int(saved["persons"]), dt.date.fromisoformat(saved["built_on"]))
    actor = Actor(
        name="apikey:bench", role=Role.DEPARTMENT, department_id=None, organisation="基准测试"
    )
    factory = session_factory()

    def one_check(rng: random.Random, n: int) -> None:
        session = factory()
        try:
            run_check(
                session,
                actor,
                protector,
                id_number=rng.choice(ids),
                scenario=SCENARIO,
                operator="基准",
                business_ref=f"B-{n}",
            )
            session.commit()
        finally:
            session.close()

    cpu_ms: dict[str, list[float]] = {"on": [], "off": []}

    def sequential(checks: int, seed: int) -> float:
        rng = random.Random(seed)
        start, cpu = time.perf_counter(), time.process_time()
        for n in range(checks):
            one_check(rng, n)
        cpu_ms["on" if runtime.AUDIT_ENABLED else "off"].append(
            1000 * (time.process_time() - cpu) / checks
        )
        return checks / (time.perf_counter() - start)

    def concurrent(checks: int, seed: int) -> float:
        per = checks // args.threads
        barrier = threading.Barrier(args.threads + 1)

        def work(t: int) -> None:
            rng = random.Random(seed * 100 + t)
            barrier.wait()
            for n in range(per):
                one_check(rng, n)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
        for w in workers:
            w.start()
        barrier.wait()
        start = time.perf_counter()
        for w in workers:
            w.join()
        return per * args.threads / (time.perf_counter() - start)

    def events() -> int:
        with psycopg.connect(f"{PG}/{DB}") as conn:
            return int(conn.execute("SELECT seq FROM audit_head").fetchone()[0])  # type: ignore[index]

    sequential(100, 0)  # warm-up: caches, prepared plans, catalog
    cpu_ms["on"].clear()
    results: dict[str, dict[str, list[float]]] = {
        "sequential": {"on": [], "off": []},
        "concurrent": {"on": [], "off": []},
    }
    before = events()
    for r in range(args.rounds):
        order = ("on", "off") if r % 2 == 0 else ("off", "on")
        for mode in order:
            runtime.AUDIT_ENABLED = mode == "on"
            for kind, run in (("sequential", sequential), ("concurrent", concurrent)):
                rate = run(args.checks, r * 10 + (mode == "on"))
                results[kind][mode].append(rate)
                print(f"round {r + 1} {kind:10} audit {mode:3}: {rate:7.1f} checks/s", flush=True)
    runtime.AUDIT_ENABLED = True
    appended = events() - before
    summary: dict[str, object] = {
        "persons": saved["persons"],
        "rounds": args.rounds,
        "checks_per_round": args.checks,
        "threads": args.threads,
        "events_appended": appended,
    }
    for kind, modes in results.items():
        # Overall rate per mode: total checks over total time (harmonic mean of the rounds),
        # less sensitive than the median to a burst of load from elsewhere on the machine.
        on = len(modes["on"]) / sum(1 / x for x in modes["on"])
        off = len(modes["off"]) / sum(1 / x for x in modes["off"])
        # Each round runs both modes back to back: their ratio cancels most outside load.
        paired = [a / b for a, b in zip(modes["on"], modes["off"], strict=True)]
        summary[kind] = {
            "on_checks_per_s": round(on, 1),
            "off_checks_per_s": round(off, 1),
            "cost_pct": round(100 * (1 - on / off), 1),
            "paired_median_cost_pct": round(100 * (1 - statistics.median(paired)), 1),
            "on_all": [round(x, 1) for x in modes["on"]],
            "off_all": [round(x, 1) for x in modes["off"]],
        }
        print(
            f"{kind:10}: on {on:.1f}/s, off {off:.1f}/s → audit costs {100 * (1 - on / off):.1f} %"
        )
    on_cpu, off_cpu = statistics.median(cpu_ms["on"]), statistics.median(cpu_ms["off"])
    summary["client_cpu_ms_per_check"] = {
        "on": round(on_cpu, 3),
        "off": round(off_cpu, 3),
        "cost_pct": round(100 * (on_cpu / off_cpu - 1), 1),
    }
    print(f"client CPU per check: on {on_cpu:.3f} ms, off {off_cpu:.3f} ms")
    with psycopg.connect(f"{PG}/{DB}") as conn:
        ok = conn.execute("SELECT count(*) = max(seq) FROM audit_events").fetchone()[0]  # type: ignore[index]
    summary["chain_without_gaps"] = bool(ok)
    (OUT / "audit_bench.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    sys.exit(main())
