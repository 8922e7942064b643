"""A PostgreSQL demo city for the check and batch benchmarks.

Builds (or with ``--reuse`` keeps) the database ``xinyong_city_bench`` holding N persons
(about ten records each) through the project's own route: ``xinyong init`` then
``xinyong demo --persons N`` (the demo imports through the real submission pipeline), then
``xinyong rescore`` and ``VACUUM ANALYZE``. Keys are kept in ``bench/out/city-env.json``
so later runs reuse them; the persons' identity numbers (regenerated with the demo's seed
and build date, exactly as ``build_demo_city`` draws them) go to ``bench/out/city-ids.txt``.

    .venv/bin/python bench/city.py --persons 1000000
    .venv/bin/python bench/city.py --reuse          # keep the city, rewrite ids if missing

Other scripts use ``city_env()`` for the environment of ``xinyong`` subprocesses.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
XINYONG = ROOT / ".venv" / "bin" / "xinyong"
PG = "postgresql://postgres@127.0.0.1:5432"
DB = "xinyong_city_bench"
ENV_FILE = OUT / "city-env.json"
IDS_FILE = OUT / "city-ids.txt"
HOME = OUT / "city-home"
SEED = 2026


def city_env() -> dict[str, str]:
    """Environment for xinyong subprocesses against the bench city (keys created once)."""
    OUT.mkdir(parents=True, exist_ok=True)
    if ENV_FILE.exists():
        saved = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    else:
        saved = {
            "XINYONG_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "XINYONG_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        ENV_FILE.write_text(json.dumps(saved, indent=2), encoding="utf-8")
        ENV_FILE.chmod(0o600)
    HOME.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "XINYONG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}",
            "XINYONG_BLIND_INDEX_KEY": saved["XINYONG_BLIND_INDEX_KEY"],
            "XINYONG_ENCRYPTION_KEY": saved["XINYONG_ENCRYPTION_KEY"],
            "XINYONG_HOME": str(HOME),
        }
    )
    return env


def save_meta(**values: object) -> None:
    saved = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    saved.update(values)
    ENV_FILE.write_text(json.dumps(saved, indent=2, ensure_ascii=False), encoding="utf-8")


def load_meta() -> dict[str, object]:
    return json.loads(ENV_FILE.read_text(encoding="utf-8")) if ENV_FILE.exists() else {}


def db_exists() -> bool:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone()
            is not None
        )


def recreate_db() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")


def run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    print("$ xinyong", " ".join(args), flush=True)
    subprocess.run([str(XINYONG), *args], env=env, check=True)
    took = time.perf_counter() - start
    print(f"  ({took:.1f} s)", flush=True)
    return took


def write_ids(persons: int, seed: int, built_on: dt.date) -> dict[str, str]:
    from faker import Faker

    from xinyong.demo import make_people

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    people = make_people(persons, random.Random(seed), fake, built_on)
    tmp = IDS_FILE.with_suffix(".part")
    tmp.write_text("".join(p.number + "\n" for p in people), encoding="ascii")
    tmp.rename(IDS_FILE)
    print(f"wrote {len(people):,} identity numbers to {IDS_FILE}", flush=True)
    return {p.number: p.name for p in people}


def verify_ids(env: dict[str, str], names: dict[str, str], count: int = 5) -> None:
    """The regenerated numbers are the imported ones: found, with the same name."""
    ids = list(names)
    picks = [ids[0], ids[-1], *random.Random(1).sample(ids, count - 2)]
    found = 0
    for number in picks:
        proc = subprocess.run(
            [str(XINYONG), "archive", number, "--json"], env=env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(f"archive {number} failed ({proc.returncode}): {proc.stderr[-500:]}")
        data = json.loads(proc.stdout)
        subject = data.get("subject")
        name = subject.get("name") if subject else None
        ok = subject is not None and name == names[number]
        found += ok
        print(
            f"  archive {number[:6]}…: {'ok' if ok else 'MISMATCH'} "
            f"(name {name!r} vs {names[number]!r}, {len(data.get('records') or [])} records)"
        )
    if found < count - 1:  # a person may, rarely, have drawn no record at all
        raise SystemExit("the regenerated identity numbers do not match the city")


def counts() -> dict[str, int]:
    with psycopg.connect(f"{PG}/{DB}") as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("subjects", "records", "list_entries", "subject_scores")
        }


def vacuum() -> float:
    start = time.perf_counter()
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--reuse", action="store_true", help="keep an existing city")
    args = parser.parse_args()
    env = city_env()
    meta = load_meta()
    if args.reuse and db_exists() and meta.get("persons"):
        print(f"reusing {DB}: {meta.get('persons'):,} persons built on {meta.get('built_on')}")
        if not IDS_FILE.exists():
            write_ids(
                int(meta["persons"]),
                int(meta["seed"]),
                dt.date.fromisoformat(str(meta["built_on"])),
            )  # type: ignore[arg-type]
        return
    recreate_db()
    save_meta(persons=None)
    timings: dict[str, float] = {}
    built_on = dt.date.today()
    timings["init_s"] = run(["init"], env)
    timings["demo_s"] = run(["demo", "--persons", str(args.persons), "--seed", str(args.seed)], env)
    if dt.date.today() != built_on:
        print("warning: the build crossed midnight; identity numbers use the start date")
    start = time.perf_counter()
    names = write_ids(args.persons, args.seed, built_on)
    timings["ids_s"] = time.perf_counter() - start
    verify_ids(env, names)
    del names
    timings["rescore_s"] = run(["rescore"], env)
    timings["vacuum_s"] = vacuum()
    sizes = counts()
    with psycopg.connect(f"{PG}/{DB}") as conn:
        db_size = conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", (DB,)).fetchone()[0]  # type: ignore[index]
    save_meta(
        persons=args.persons,
        seed=args.seed,
        built_on=built_on.isoformat(),
        timings=timings,
        counts=sizes,
        db_size=db_size,
    )
    print(json.dumps({"persons": args.persons, **timings, **sizes, "db_size": db_size}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
