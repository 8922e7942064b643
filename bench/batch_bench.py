"""批量比对 (batch comparison) of a department's list of people against the bench city.

Writes a CSV of N rows (姓名,证件号码) drawn from the city's identity numbers
(``bench/out/city-ids.txt``, repeated if the city is smaller than N, shuffled), then runs
``xinyong check --file F --scenario ADMIN_LICENSING --out bench/out/batch-result.xlsx --json``
under ``/usr/bin/time -v`` and reports wall time, peak RSS and the CPU the city's PostgreSQL
backends used. Target (issue "joint reward and punishment"): 1,000,000 rows in ≤ 60 s.

    .venv/bin/python bench/batch_bench.py --rows 100000 1000000
    .venv/bin/python bench/batch_bench.py --explain 1000000   # plans of the set-based path

Batches of ``Settings.batch_set_based_rows`` rows or more take the set-based path;
``--set-based-rows N`` passes another threshold to the CLI (XINYONG_BATCH_SET_BASED_ROWS),
e.g. a large N to time the chunked path on the same file.

``--explain N`` runs the set-based statements of ``measures.services`` on N random persons
of the city (their blind indexes taken from ``subjects``, no file), each under
``EXPLAIN (ANALYZE, BUFFERS, TIMING OFF)`` with the settings the batch uses, then EXPLAINs
the final ordered read, and rolls back; the plans go to ``bench/out/batch-explain.txt``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import CLK_TCK, city_backends, cpu_ticks
from city import DB, IDS_FILE, OUT, XINYONG, city_env, load_meta

SCENARIO = "ADMIN_LICENSING"


def write_input(rows: int) -> Path:
    path = OUT / f"batch-{rows}.csv"
    if path.exists():
        return path
    ids = IDS_FILE.read_text(encoding="ascii").split()
    rng = random.Random(11)
    picks: list[str] = []
    while len(picks) < rows:
        take = min(rows - len(picks), len(ids))
        picks += rng.sample(ids, take)
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["姓名", "证件号码"])
        writer.writerows(("比对对象", number) for number in picks)
    tmp.rename(path)
    return path


class BackendCpu(threading.Thread):
    """Polls the city's PostgreSQL backends; keeps the last CPU ticks seen per pid."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, int] = {}
        self.base = {pid: cpu_ticks(pid) for pid in city_backends(DB)}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            for pid in city_backends(DB):
                ticks = cpu_ticks(pid)
                if ticks:
                    self.seen[pid] = ticks

    def seconds(self) -> float:
        self.stopped.set()
        self.join()
        return sum(t - self.base.get(pid, 0) for pid, t in self.seen.items()) / CLK_TCK


def run_batch(rows: int, env: dict[str, str]) -> dict[str, object]:
    source = write_input(rows)
    out = OUT / "batch-result.xlsx"
    out.unlink(missing_ok=True)
    cmd = [
        "/usr/bin/time",
        "-v",
        str(XINYONG),
        "check",
        "--file",
        str(source),
        "--scenario",
        SCENARIO,
        "--out",
        str(out),
        "--json",
    ]
    print(f"\n$ {' '.join(cmd[2:])}   ({rows:,} rows)", flush=True)
    meter = BackendCpu()
    meter.start()
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    pg_cpu = meter.seconds()
    if proc.returncode != 0:
        raise SystemExit(
            f"batch failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    summary = json.loads(proc.stdout)

    def field(label: str) -> str:
        found = re.search(rf"^\s*{re.escape(label)}: (.*)$", proc.stderr, re.M)
        return found.group(1).strip() if found else ""

    result = {
        "rows": rows,
        "wall_s": round(wall, 1),
        "rows_per_s": round(rows / wall),
        "peak_rss_mb": round(int(field("Maximum resident set size (kbytes)")) / 1024),
        "user_s": float(field("User time (seconds)")),
        "sys_s": float(field("System time (seconds)")),
        "postgres_cpu_s": round(pg_cpu, 1),
        "xlsx_mb": round(out.stat().st_size / 2**20, 1),
        "summary": summary,
        "meets_60s": wall <= 60,
    }
    print(
        f"  {rows:,} rows: {wall:.1f} s ({result['rows_per_s']:,} rows/s), peak RSS "
        f"{result['peak_rss_mb']} MB, CPU client {result['user_s'] + result['sys_s']:.1f} s, "
        f"PostgreSQL {pg_cpu:.1f} s; {summary}",
        flush=True,
    )
    return result


def explain(persons: int) -> None:
    import psycopg

    from xinyong.measures.batch import BATCH_WORK_MEM
    from xinyong.measures.facts import (
        BATCH_RESULT_SQL,
        BATCH_ROWS_DDL,
        batch_facts_statements,
    )

    lines: list[str] = [
        f"{persons:,} random persons of the city, {dt.datetime.now():%Y-%m-%d %H:%M}"
    ]
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB}") as conn:
        conn.execute(f"SET LOCAL work_mem = '{BATCH_WORK_MEM}'")
        conn.execute(BATCH_ROWS_DDL)
        start = time.perf_counter()
        conn.execute(
            "INSERT INTO batch_rows (seq, line, id_index, cells) SELECT row_number() OVER (), "
            "row_number() OVER () + 1, id_index, '[]' FROM (SELECT id_index FROM subjects "
            "WHERE kind = 'person' ORDER BY random() LIMIT %s) s",
            [persons],
        )
        conn.execute("ANALYZE batch_rows")
        lines.append(f"-- batch_rows filled in {time.perf_counter() - start:.1f} s")
        for statement, hash_joins_only in batch_facts_statements(dt.date.today()):
            if hash_joins_only:
                conn.execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_nestloop = off")
            start = time.perf_counter()
            if statement.startswith("ANALYZE"):
                conn.execute(statement)
                plan = []
            else:
                plan = [
                    row[0]
                    for row in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {statement}")
                ]
            lines += [f"-- {time.perf_counter() - start:.1f} s: {statement[:120]}…", *plan, ""]
            if hash_joins_only:
                conn.execute(
                    "SET LOCAL enable_mergejoin TO DEFAULT; SET LOCAL enable_nestloop TO DEFAULT"
                )
            print(lines[-len(plan) - 2], flush=True)
        start = time.perf_counter()
        plan = [
            row[0]
            for row in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {BATCH_RESULT_SQL}")
        ]
        lines += [f"-- {time.perf_counter() - start:.1f} s: {BATCH_RESULT_SQL}", *plan]
        conn.rollback()
    text = "\n".join(lines) + "\n"
    (OUT / "batch-explain.txt").write_text(text, encoding="utf-8")
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--explain", type=int, metavar="N", help="plans for N persons")
    parser.add_argument("--set-based-rows", type=int, metavar="N", help="the CLI's threshold")
    args = parser.parse_args()
    if args.explain:
        explain(args.explain)
        return
    if not Path("/usr/bin/time").exists():
        subprocess.run(["apt-get", "install", "-y", "time"], check=True)
    meta = load_meta()
    if not meta.get("persons") or not IDS_FILE.exists():
        raise SystemExit("no city: run bench/city.py first")
    env = city_env()
    if args.set_based_rows:
        env["XINYONG_BATCH_SET_BASED_ROWS"] = str(args.set_based_rows)
    top = subprocess.run(["top", "-bn1"], capture_output=True, text=True).stdout
    print("\n".join(top.splitlines()[:12]))
    runs = [run_batch(rows, env) for rows in args.rows]
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "persons": meta.get("persons"),
        "set_based_rows": env.get("XINYONG_BATCH_SET_BASED_ROWS", "default"),
        "city_counts": meta.get("counts"),
        "scenario": SCENARIO,
        "runs": runs,
        "top_before": top.splitlines()[:12],
    }
    (OUT / "batch_bench.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
