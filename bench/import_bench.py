"""Import (归集) against PostgreSQL COPY of the same file, in one run.

Generates N rows in the national 双公示 administrative penalty format with the project's
own generator (about N/4 persons and N/40 organisations, ten departments), written once to
``bench/out/`` and reused. Then, on a fresh PostgreSQL database, times

1. ``COPY`` of the file into a bare table (one text column per header) with one btree
   index on 证件号码, created before the COPY — the baseline;
2. ``xinyong import FILE --json`` as a subprocess: wall clock from start to exit and the
   child's own peak RSS (``wait4``);

and prints both rates, the ratio and the verdict against the targets (ratio ≥ 0.2, peak
RSS ≤ 300 MB; issue 20 §2). ``--db sqlite`` reports the import's rate and peak RSS on the
embedded default. ``--profile`` runs the import in-process under cProfile on a smaller file.

``--baseline PATH`` also runs another checkout's ``xinyong`` (e.g. main's
``/work/main/.venv/bin/xinyong``) on the same file and database kind, right after this
one's, and prints the rate of this checkout against it (target on SQLite: ≥ 2×).
``--database NAME`` names the PostgreSQL database the run recreates.

    .venv/bin/python bench/import_bench.py --rows 1000000 --db postgresql
    .venv/bin/python bench/import_bench.py --rows 1000000 --db sqlite \
        --baseline /work/main/.venv/bin/xinyong
    .venv/bin/python bench/import_bench.py --profile --profile-rows 200000
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import csv
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg
from faker import Faker
from sqlalchemy import Engine, event

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
DEPARTMENTS = 10
TARGET_RATIO = 0.2
TARGET_SQLITE_SPEEDUP = 2.0
TARGET_RSS_MB = 300.0
PG_ENCODING = {"utf-8": "UTF8", "gb18030": "GB18030"}


def departments() -> list[tuple[str, str, str]]:
    """(code, name, credit code) of the departments the file's rows come from."""
    return [
        (code, name, credit_code_for(SEED * 100 + i))
        for i, (code, name, _) in enumerate(DEMO_DEPARTMENTS[:DEPARTMENTS])
    ]


def generate(rows: int, encoding: str, seed: int = SEED) -> Path:
    """Write N penalty rows once; reuse the file when it exists for the same N and seed."""
    path = OUT / f"penalties-{rows}-s{seed}-{encoding}.csv"
    if path.exists():
        return path
    start = time.perf_counter()
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    today = dt.date.today()
    people = make_people(max(1_000, rows // 4), rng, fake, today)
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
    print(
        f"generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    return path


def fresh_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def pg_env(name: str) -> dict[str, str]:
    return dict(
        {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")},
        XINYONG_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        XINYONG_BLIND_INDEX_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        XINYONG_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        XINYONG_AUDIT_CHAIN_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        XINYONG_HOME=str(OUT / "home"),
    )


def sqlite_env() -> dict[str, str]:
    home = OUT / "home-sqlite"
    shutil.rmtree(home, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_HOME"] = str(home)
    return env


def prepare(env: dict[str, str], xinyong: Path = XINYONG) -> None:
    """``xinyong init`` and the departments whose credit codes the file carries."""
    Path(env["XINYONG_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run([str(xinyong), "init"], env=env, check=True, capture_output=True)
    for code, name, credit in departments():
        subprocess.run(
            [str(xinyong), "department", "add", code, name, "--credit-code", credit],
            env=env,
            check=True,
            capture_output=True,
        )


def copy_baseline(path: Path, encoding: str, db: str) -> float:
    """Seconds to COPY the file into a bare indexed table (dropped afterwards)."""
    columns = ", ".join(f'"{h}"' for h in SGS_PENALTY_HEADERS)
    typed = ", ".join(f'"{h}" text' for h in SGS_PENALTY_HEADERS)
    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bare")
        conn.execute(f"CREATE TABLE bare ({typed})")
        conn.execute('CREATE INDEX bare_identity ON bare ("证件号码")')
        options = f"FORMAT csv, HEADER true, ENCODING '{PG_ENCODING[encoding]}'"
        start = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY bare ({columns}) FROM STDIN WITH ({options})") as copy,
            path.open("rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - start
        conn.execute("DROP TABLE bare")
    return seconds


APP_NAME = "xinyong-import-bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(backends: dict[int, float]) -> None:
    """CPU seconds (user + system) so far of each PostgreSQL backend serving the import,
    found by its application name; read from /proc (the server runs on this machine)."""
    try:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            pids = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APP_NAME]
                )
            ]
    except psycopg.Error:
        return
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        backends[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def sample_rss(
    pid: int, stop: threading.Event, into: list[tuple[float, float]], backends: dict[int, float]
) -> None:
    """(seconds since start, RSS MB) of the child once a second, and the CPU its database
    backends used, until stopped."""
    start = time.perf_counter()
    status = Path(f"/proc/{pid}/status")
    while not stop.wait(1.0):
        backend_cpu(backends)
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS:"))
        except (OSError, StopIteration):
            return
        into.append((round(time.perf_counter() - start, 1), int(line.split()[1]) / 1024))


def run_import(
    path: Path, env: dict[str, str], rows: int, xinyong: Path = XINYONG
) -> dict[str, Any]:
    """Run ``xinyong import FILE --json``; wall clock, the child's peak RSS and CPU."""
    out = OUT / "import-stdout.json"
    err = OUT / "import-stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(xinyong), "import", str(path), "--json"],
            env=dict(env, PGAPPNAME=APP_NAME),
            stdout=stdout,
            stderr=stderr,
        )
        timeline: list[tuple[float, float]] = []
        backends: dict[int, float] = {}
        stop = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(proc.pid, stop, timeline, backends))
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 2):
        sys.exit(f"import failed ({proc.returncode}):\n{err.read_text(errors='replace')[-4000:]}")
    summary = json.loads(out.read_text(encoding="utf-8"))
    accepted, rejected = summary["accepted"], summary["rejected"]
    assert accepted + rejected == rows, (accepted, rejected, rows)
    return {
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_user_s": usage.ru_utime,
        "cpu_sys_s": usage.ru_stime,
        # sampled once a second: misses at most the last second of the server's work
        "db_backend_cpu_s": round(sum(backends.values()), 1) if backends else None,
        "accepted": accepted,
        "rejected": rejected,
        "exit_code": proc.returncode,
        "first_errors": summary.get("errors", [])[:5],
        "rss_timeline_mb": timeline[::5],
    }


def bench_postgres(
    path: Path, rows: int, encoding: str, db: str, baseline: Path | None
) -> dict[str, Any]:
    fresh_database(db)
    copy_seconds = copy_baseline(path, encoding, db)
    copy_rate = rows / copy_seconds
    print(f"COPY: {copy_seconds:.1f} s, {copy_rate:,.0f} rows/s", flush=True)
    env = pg_env(db)
    prepare(env)
    result = run_import(path, env, rows)
    ratio = result["rows_per_s"] / copy_rate
    report: dict[str, Any] = {
        "copy_seconds": copy_seconds,
        "copy_rows_per_s": copy_rate,
        "import": result,
        "ratio": ratio,
        "ratio_met": ratio >= TARGET_RATIO,
        "rss_met": result["peak_rss_mb"] <= TARGET_RSS_MB,
    }
    if baseline is not None:
        fresh_database(db)
        env = pg_env(db)
        prepare(env, baseline)
        report["baseline"] = run_import(path, env, rows, baseline)
        report["baseline"]["xinyong"] = str(baseline)
        report["baseline_ratio"] = report["baseline"]["rows_per_s"] / copy_rate
    return report


def bench_sqlite(path: Path, rows: int, baseline: Path | None) -> dict[str, Any]:
    env = sqlite_env()
    prepare(env)
    result = run_import(path, env, rows)
    report: dict[str, Any] = {
        "import": result,
        "rss_met": result["peak_rss_mb"] <= TARGET_RSS_MB,
    }
    if baseline is not None:  # the other checkout on a database of its own, same file
        env = sqlite_env()
        prepare(env, baseline)
        report["baseline"] = run_import(path, env, rows, baseline)
        report["baseline"]["xinyong"] = str(baseline)
        speedup = result["rows_per_s"] / report["baseline"]["rows_per_s"]
        report["speedup"] = speedup
        report["speedup_met"] = speedup >= TARGET_SQLITE_SPEEDUP
    return report


def machine() -> dict[str, Any]:
    with open("/proc/meminfo", encoding="ascii") as fh:
        mem_kb = int(fh.readline().split()[1])
    with psycopg.connect(f"{PG}/postgres") as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024**2, 1),
        "python": platform.python_version(),
        "postgresql": row[0] if row else None,
        "load_avg": os.getloadavg(),
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_table(report: dict[str, Any]) -> None:
    rows = report["rows"]
    print(
        f"\nrows {rows:,}  encoding {report['encoding']}  "
        f"machine {report['machine']['nproc']} cores, {report['machine']['memory_gib']} GiB"
    )
    print(f"{'':<12}{'seconds':>10}{'rows/s':>12}{'peak RSS':>12}")
    if pg := report.get("postgresql"):
        imp = pg["import"]
        print(f"{'PG COPY':<12}{pg['copy_seconds']:>10.1f}{pg['copy_rows_per_s']:>12,.0f}")
        print(
            f"{'PG import':<12}{imp['seconds']:>10.1f}{imp['rows_per_s']:>12,.0f}"
            f"{imp['peak_rss_mb']:>9.0f} MB   CPU: import {imp['cpu_user_s'] + imp['cpu_sys_s']:.1f} s,"
            f" PostgreSQL backend {imp['db_backend_cpu_s']} s"
        )
        print(
            f"ratio import/COPY {pg['ratio']:.3f} (target ≥ {TARGET_RATIO}): "
            f"{verdict(pg['ratio_met'])}; peak RSS {imp['peak_rss_mb']:.0f} MB "
            f"(target ≤ {TARGET_RSS_MB:.0f}): {verdict(pg['rss_met'])}"
        )
        if base := pg.get("baseline"):
            print(
                f"{'PG baseline':<12}{base['seconds']:>10.1f}{base['rows_per_s']:>12,.0f}"
                f"{base['peak_rss_mb']:>9.0f} MB   ratio {pg['baseline_ratio']:.3f}"
                f" ({base['xinyong']})"
            )
    if lite := report.get("sqlite"):
        imp = lite["import"]
        print(
            f"{'SQLite imp.':<12}{imp['seconds']:>10.1f}{imp['rows_per_s']:>12,.0f}"
            f"{imp['peak_rss_mb']:>9.0f} MB   RSS {verdict(lite['rss_met'])}; "
            f"CPU {imp['cpu_user_s'] + imp['cpu_sys_s']:.1f} s"
        )
        if base := lite.get("baseline"):
            print(
                f"{'SQLite base':<12}{base['seconds']:>10.1f}{base['rows_per_s']:>12,.0f}"
                f"{base['peak_rss_mb']:>9.0f} MB   ({base['xinyong']})"
            )
            print(
                f"SQLite rate against the baseline {lite['speedup']:.2f}× "
                f"(target ≥ {TARGET_SQLITE_SPEEDUP:.0f}×): {verdict(lite['speedup_met'])}"
            )


def time_statements(engine: Engine) -> dict[str, list[float]]:
    """Wall time per statement (first words), summed, through SQLAlchemy's cursor events."""
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info["bench_started"].pop()
        entry = spent[" ".join(statement.split())[:110]]
        entry[0] += 1
        entry[1] += time.perf_counter() - started

    return spent


def profile(rows: int, encoding: str, top: int, sqlite: bool, db: str) -> None:
    """The import in-process under cProfile (PostgreSQL unless asked); top functions printed."""
    path = generate(rows, encoding)
    if sqlite:
        env = sqlite_env()
    else:
        name = f"{db}_profile"
        fresh_database(name)
        env = pg_env(name)
    prepare(env)
    for key in [k for k in os.environ if k.startswith("XINYONG_")]:
        del os.environ[key]
    os.environ.update(env)

    from xinyong import runtime
    from xinyong.actors import cli_operator
    from xinyong.db import get_engine, session_factory
    from xinyong.submissions.ingest import ingest_file

    runtime.IN_BACKGROUND = False  # so that cProfile sees the validation too

    statements = time_statements(get_engine())
    session = session_factory()()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    try:
        result = ingest_file(session, cli_operator(), path, on_chunk=session.commit)
        session.commit()
    finally:
        profiler.disable()
        session.close()
    seconds = time.perf_counter() - start
    raw = OUT / "import-profile.prof"
    profiler.dump_stats(raw)
    text = io.StringIO()
    text.write(
        f"{rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s) under cProfile; "
        f"accepted {result.accepted:,}, rejected {result.rejected:,}\n"
    )
    for key in ("cumulative", "tottime"):
        text.write(f"\n=== top {top} by {key} ===\n")
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats(key).print_stats(top)
    text.write(
        "\n=== SQL statements through SQLAlchemy (wall, client side; COPY not included) ===\n"
    )
    ranked = sorted(statements.items(), key=lambda kv: -kv[1][1])
    for sql, (count, spent) in ranked[:top]:
        text.write(f"{spent:8.2f} s {100 * spent / seconds:5.1f} % {count:6d}x  {sql}\n")
    (OUT / "import-profile.txt").write_text(text.getvalue(), encoding="utf-8")
    print(text.getvalue())
    print(f"raw profile: {raw}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["postgresql", "sqlite", "both"], default="postgresql")
    parser.add_argument("--encoding", choices=["utf-8", "gb18030"], default="utf-8")
    parser.add_argument("--profile", action="store_true", help="cProfile the import in-process")
    parser.add_argument("--profile-rows", type=int, default=200_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database", default=DB, help="PostgreSQL database to recreate")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout's xinyong executable, run on the same file for comparison",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile(
            args.profile_rows, args.encoding, args.top, sqlite=args.db == "sqlite", db=args.database
        )
        return
    path = generate(args.rows, args.encoding)
    report: dict[str, Any] = {
        "rows": args.rows,
        "encoding": args.encoding,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
    }
    if args.db in ("postgresql", "both"):
        report["postgresql"] = bench_postgres(
            path, args.rows, args.encoding, args.database, args.baseline
        )
    if args.db in ("sqlite", "both"):
        report["sqlite"] = bench_sqlite(path, args.rows, args.baseline)
    print_table(report)
    (OUT / "import_bench.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
