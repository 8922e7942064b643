"""Import (归集) against PostgreSQL COPY of the same file, in one run.

Generates N rows in the national 双公示 penalty format with the project's own generator,
then on a fresh PostgreSQL database times (1) ``COPY`` of the file into a bare table with
one btree index on the identity column and (2) ``xinyong import FILE --json`` as a
subprocess (wall clock and peak RSS), and prints both rates and the ratio. ``--db sqlite``
reports the import rate on the embedded default.

    .venv/bin/python bench/import_bench.py --rows 1000000 --db both
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import json
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from faker import Faker

from xinyong.demo import (
    DEMO_DEPARTMENTS,
    SGS_PENALTY_HEADERS,
    credit_code_for,
    make_people,
    penalty_rows,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
XINYONG = ROOT / ".venv" / "bin" / "xinyong"
PG = "postgresql://postgres@127.0.0.1:5432"
DB = "xinyong_import_bench"
SEED = 2026


def departments() -> list[tuple[str, str, str]]:
    return [
        (code, name, credit_code_for(SEED * 100 + i))
        for i, (code, name, _) in enumerate(DEMO_DEPARTMENTS)
    ]


def generate(rows: int, encoding: str) -> Path:
    path = OUT / f"penalties-{rows}-{encoding}.csv"
    if path.exists():
        return path
    rng = random.Random(SEED)
    fake = Faker("zh_CN")
    fake.seed_instance(SEED)
    today = dt.date.today()
    people = make_people(max(1000, rows // 4), rng, fake, today)
    orgs = [
        (fake.company(), credit_code_for(9_000_000 + k), rng.choice(people))
        for k in range(max(10, rows // 40))
    ]
    depts = [(name, code) for _, name, code in departments()]
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SGS_PENALTY_HEADERS)
        writer.writerows(penalty_rows(people, orgs, rows, rng, today, depts))
    tmp.rename(path)
    return path


def run_import(path: Path, env: dict[str, str], rows: int) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [str(XINYONG), "import", str(path), "--json"], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 2):
        sys.exit(f"import failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout)
    assert summary["accepted"] + summary["rejected"] == rows, summary
    return {"seconds": seconds, "rows_per_s": rows / seconds, "peak_rss_mb": peak_kb / 1024,
            "accepted": summary["accepted"]}  # fmt: skip


def prepare(env: dict[str, str]) -> None:
    subprocess.run([str(XINYONG), "init"], env=env, check=True, capture_output=True)
    for code, name, credit in departments():
        subprocess.run(
            [str(XINYONG), "department", "add", code, name, "--credit-code", credit],
            env=env, check=True, capture_output=True,
        )  # fmt: skip


def bench_postgres(path: Path, rows: int, encoding: str) -> dict[str, object]:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        columns = ", ".join(f"c{i} text" for i in range(len(SGS_PENALTY_HEADERS)))
        conn.execute(f"CREATE TABLE bare ({columns})")
        conn.execute(f"CREATE INDEX ON bare (c{SGS_PENALTY_HEADERS.index('证件号码')})")
        start = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                f"COPY bare FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING '{'GB18030' if encoding != 'utf-8' else 'UTF8'}')"
            ) as copy,
            path.open("rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        copy_seconds = time.perf_counter() - start
        conn.execute("DROP TABLE bare")
    env = dict(
        os.environ,
        XINYONG_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}",
        XINYONG_BLIND_INDEX_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        XINYONG_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        XINYONG_HOME=str(OUT / "home-pg"),
    )
    prepare(env)
    result = run_import(path, env, rows)
    return {"copy_seconds": copy_seconds, "copy_rows_per_s": rows / copy_seconds, **result,
            "ratio": result["rows_per_s"] / (rows / copy_seconds)}  # fmt: skip


def bench_sqlite(path: Path, rows: int) -> dict[str, object]:
    home = OUT / "home-sqlite"
    shutil.rmtree(home, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_HOME"] = str(home)
    prepare(env)
    return run_import(path, env, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["postgresql", "sqlite", "both"], default="postgresql")
    parser.add_argument("--encoding", choices=["utf-8", "gb18030"], default="utf-8")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = generate(args.rows, args.encoding)
    report: dict[str, object] = {"rows": args.rows, "encoding": args.encoding,
                                 "date": dt.date.today().isoformat()}  # fmt: skip
    if args.db in ("postgresql", "both"):
        pg = bench_postgres(path, args.rows, args.encoding)
        report["postgresql"] = pg
        print(
            f"PostgreSQL  COPY {pg['copy_rows_per_s']:>10,.0f} rows/s ({pg['copy_seconds']:.1f} s)   "
            f"import {pg['rows_per_s']:>8,.0f} rows/s ({pg['seconds']:.1f} s)   "
            f"ratio {pg['ratio']:.3f} (target ≥ 0.5)   peak RSS {pg['peak_rss_mb']:.0f} MB (≤ 300)"
        )
    if args.db in ("sqlite", "both"):
        lite = bench_sqlite(path, args.rows)
        report["sqlite"] = lite
        print(
            f"SQLite      import {lite['rows_per_s']:>8,.0f} rows/s ({lite['seconds']:.1f} s)   "
            f"peak RSS {lite['peak_rss_mb']:.0f} MB"
        )
    (OUT / "import_bench.json").write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
