"""How the platform's costs grow with the city: two or three sizes on one machine.

For each size (persons; ≈ 10 records a person) the city is built in its own database
``xinyong_scale_<persons>`` with ``bench/city.py --synthetic``'s generator (migrations to
head, so PostgreSQL's partitioned tables), then measured:

- build time; table and index sizes (partitions summed);
- in-process latency, p50/p99 over random persons of the city: the archive read
  (``read_archive``, logged, committed) and the joint reward and punishment check
  (``run_check`` with a department's API key, committed);
- ``xinyong rescore`` (steady state: the build already scored everyone), ``xinyong expire
  --date <yesterday>`` (catch-up: everything whose display ended) then ``xinyong expire``
  (the next day's run);
- ``xinyong purge-queries`` over a query log of one entry per person spread over twelve
  years (yearly partitions: two whole years dropped, the boundary year deleted from),
  against ``DELETE`` of the same rows from an unpartitioned, indexed copy;
- ``xinyong import`` of 100,000 双公示 penalty rows (``bench/import_bench.py``'s file, new
  persons) into the city, then the same file again (a resubmission: keyed merge).

``--compare`` (for one size) then downgrades the city to the unpartitioned schema (migration
0013's downgrade, timed), measures the same again (with another 100,000-row file), and
upgrades back (the conversion, timed). Results: ``bench/out/scale_bench.json`` (merged
across runs, keyed by size and schema) and a Markdown table on stdout.

    .venv/bin/python bench/scale_bench.py --persons 100000 300000 --compare 300000
    .venv/bin/python bench/scale_bench.py --persons 1000000 --keep
    .venv/bin/python bench/scale_bench.py --table            # print the table from the JSON
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import city

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = OUT / "scale_bench.json"
XINYONG = ROOT / ".venv" / "bin" / "xinyong"
PYTHON = ROOT / ".venv" / "bin" / "python"
PG = "postgresql://postgres@127.0.0.1:5432"
IMPORT_ROWS = 100_000
SAMPLES = 400
QUERY_LOG_PER_PERSON = 3  # entries over twelve years


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def db_name(persons: int) -> str:
    return f"xinyong_scale_{persons}"


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [str(XINYONG), *args], env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - start
    if proc.returncode not in (0, 2):
        raise SystemExit(f"xinyong {' '.join(args)} failed: {proc.stderr[-2000:]}")
    log(f"xinyong {' '.join(args)}: {took:.1f} s")
    return took, proc.stdout


def sizes(db: str) -> dict[str, Any]:
    """Bytes of each table (heap+TOAST) and of each index, partitions summed."""
    with psycopg.connect(f"{PG}/{db}") as conn:
        # Leaf partitions of a partitioned table, or the table itself.
        leaves = (
            "CROSS JOIN LATERAL (SELECT t.oid AS relid WHERE t.relkind IN ('r', 'i') "
            "UNION ALL SELECT relid FROM pg_partition_tree(t.oid) "
            "WHERE isleaf AND t.relkind IN ('p', 'I')) p JOIN pg_class l ON l.oid = p.relid"
        )
        tables = conn.execute(
            f"""
            SELECT t.relname, sum(pg_table_size(l.oid)), sum(pg_indexes_size(l.oid)),
                   sum(greatest(l.reltuples, 0))::bigint
            FROM pg_class t {leaves}
            WHERE t.relname IN ('records', 'query_log', 'audit_events', 'subjects',
                                'list_entries', 'subject_scores', 'score_history', 'notices')
              AND t.relnamespace = 'public'::regnamespace
            GROUP BY t.relname ORDER BY t.relname
            """
        ).fetchall()
        indexes = conn.execute(
            f"""
            SELECT t.relname, x.indrelid::regclass::text, sum(pg_relation_size(l.oid))
            FROM pg_index x JOIN pg_class t ON t.oid = x.indexrelid {leaves}
            WHERE x.indrelid::regclass::text IN ('records', 'query_log', 'audit_events')
            GROUP BY t.relname, x.indrelid ORDER BY 2, 1
            """
        ).fetchall()
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return {
        "database_bytes": database[0] if database else None,
        "tables": {
            name: {"table_bytes": int(t), "index_bytes": int(i), "rows": int(n)}
            for name, t, i, n in tables
        },
        "indexes": {name: {"table": table, "bytes": int(b)} for name, table, b in indexes},
    }


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "n": len(ordered),
    }


def latencies(db: str, samples: int) -> dict[str, Any]:
    """Runs in a child process (``--latency DB``): the archive read and the check, in-process."""
    city.use_database(db)
    env = city.city_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith("XINYONG_")})
    from xinyong.accounts.models import KeyRole
    from xinyong.accounts.services import authenticate_api_key, issue_api_key
    from xinyong.actors import cli_operator
    from xinyong.catalog.services import get_department
    from xinyong.db import session_factory
    from xinyong.identity.masking import Audience
    from xinyong.identity.protection import protector_for
    from xinyong.measures.services import run_check
    from xinyong.queries.models import QueryBasis
    from xinyong.records.services import read_archive
    from xinyong.subjects.services import find_subject

    ids = city.IDS_FILE.read_text(encoding="ascii").split()
    rng = random.Random(11)
    protector = protector_for()
    factory = session_factory()
    with factory() as session:
        secret = issue_api_key(
            session, KeyRole.DEPARTMENT, "scale", get_department(session, "SCJGJ")
        )
        session.commit()
    operator = cli_operator("scale-bench")

    def archive(number: str) -> int:
        with factory() as session:
            subject = find_subject(session, protector, number)
            if subject is None:
                return 0
            result = read_archive(
                session, operator, protector, subject, audience=Audience.GOVERNMENT,
                purpose="规模基准", basis=QueryBasis.ADMINISTRATION,
            )  # fmt: skip
            session.commit()
            return len(result.entries)

    def check(number: str, i: int) -> str:
        with factory() as session:
            actor = authenticate_api_key(session, secret)
            result = run_check(
                session, actor, protector, id_number=number, scenario="ADMIN_LICENSING",
                operator="scale", business_ref=f"S-{i}",
            )  # fmt: skip
            session.commit()
            return result.verdict

    for i in range(30):  # warm-up: connections, catalog, prepared statements
        archive(rng.choice(ids))
        check(rng.choice(ids), i)
    out: dict[str, Any] = {}
    for name in ("archive", "check"):
        times: list[float] = []
        shown = 0
        for i in range(samples):
            number = rng.choice(ids)
            start = time.perf_counter()
            if name == "archive":
                shown += archive(number)
            else:
                check(number, i)
            times.append(time.perf_counter() - start)
        out[name] = percentiles(times)
        if name == "archive":
            out[name]["records_shown_mean"] = round(shown / samples, 1)
        log(f"{name}: {out[name]}")
    return out


def measure_latencies(db: str, samples: int) -> dict[str, Any]:
    proc = subprocess.run(
        [str(PYTHON), __file__, "--latency", db, "--samples", str(samples)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    sys.stderr.write(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def purge(db: str, env: dict[str, str], persons: int) -> dict[str, Any]:
    """A twelve-year query log (one entry a person), then the ten-year purge, partitioned and
    as DELETE from an unpartitioned indexed copy."""
    today = dt.date.today()
    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        partitioned = (
            conn.execute(
                "SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'query_log'::regclass"
            ).fetchone()
            is not None
        )
        if partitioned:
            subprocess.run(
                [str(PYTHON), "-c", (
                    "import datetime as dt; from xinyong import partitions; "
                    "from xinyong.db import get_engine\n"
                    "with get_engine().begin() as c: partitions.ensure(c, dt.date.today(), 3, "
                    f"since=dt.date({today.year - 12}, 1, 1), tables=(partitions.QUERY_LOG,))"
                )],
                env=env, check=True,
            )  # fmt: skip
        start = time.perf_counter()
        conn.execute(
            """
            INSERT INTO query_log (subject_id, actor, organisation, channel, action, purpose,
                                   basis, returned, queried_at)
            SELECT 1 + (i %% %(p)s), 'api_key:bench', '规模基准', 'api', 'check:run', '规模基准',
                   'legal_duty', '{}'::jsonb,
                   now() - make_interval(secs => (hashint8extended(i, 5) & 2147483647)
                                                 %% (12 * 365 * 86400))
            FROM generate_series(1, %(n)s::bigint) i
            """,
            {"n": QUERY_LOG_PER_PERSON * persons, "p": persons},
        )
        load_s = time.perf_counter() - start
        conn.execute("VACUUM ANALYZE query_log")
        conn.execute("DROP TABLE IF EXISTS bench_query_log_plain")
        conn.execute("CREATE TABLE bench_query_log_plain AS SELECT * FROM query_log")
        conn.execute("CREATE INDEX ON bench_query_log_plain (queried_at)")
        conn.execute("CREATE INDEX ON bench_query_log_plain (subject_id)")
        conn.execute("VACUUM ANALYZE bench_query_log_plain")
        cutoff = dt.datetime.combine(
            today.replace(year=today.year - 10), dt.time.min, tzinfo=dt.UTC
        )
        total = conn.execute("SELECT count(*) FROM query_log").fetchone()[0]  # type: ignore[index]
        start = time.perf_counter()
        with conn.transaction():
            deleted = conn.execute(
                "DELETE FROM bench_query_log_plain WHERE queried_at < %s", (cutoff,)
            ).rowcount
        plain_s = time.perf_counter() - start
        start = time.perf_counter()
        conn.execute("VACUUM bench_query_log_plain")  # the deferred cost of a DELETE
        plain_vacuum_s = time.perf_counter() - start
        conn.execute("DROP TABLE bench_query_log_plain")
    # The service itself, in-process (the command adds its start-up, see cli_startup_s).
    code = (
        "import datetime as dt, time; from xinyong.db import transaction; "
        "from xinyong.queries.services import purge_query_log\n"
        "t = time.perf_counter()\n"
        "with transaction() as s: n = purge_query_log(s, dt.date.today(), 10)\n"
        "print(n, time.perf_counter() - t)"
    )
    proc = subprocess.run(
        [str(PYTHON), "-c", code], env=env, capture_output=True, text=True, check=True
    )
    removed, took = proc.stdout.split()
    log(f"purge_query_log: {removed} entries in {float(took):.2f} s")
    return {
        "entries": total,
        "load_s": round(load_s, 2),
        "past_retention": deleted,
        "purge_s": round(float(took), 2),
        "purged": int(removed),
        "plain_delete_s": round(plain_s, 2),
        "plain_vacuum_s": round(plain_vacuum_s, 2),
        "partitioned": partitioned,
    }


def explain(db: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the queries each index of the three tables serves;
    writes into a rolled-back transaction. Returns the path of the report."""
    with psycopg.connect(f"{PG}/{db}") as conn:
        pick = (
            conn.execute(
                "SELECT subject_id, id, batch_id FROM records WHERE batch_id IS NOT NULL "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
            or conn.execute("SELECT subject_id, id, 0 FROM records LIMIT 1").fetchone()
        )
        assert pick is not None
        subject, record, batch = pick
        actor = conn.execute("SELECT actor FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
        today = dt.date.today()
        cutoff = f"{today.year - 10}-{today:%m-%d} 00:00:00+00"
        queries = {
            "records: a subject's archive (ix_records_subject_id)": (
                f"SELECT * FROM records WHERE subject_id = {subject} "
                "ORDER BY decision_date DESC, id DESC"
            ),
            "records: one record by id (pk_records)": (
                f"SELECT * FROM records WHERE id = {record}"
            ),
            "records: one record by id and subject (pk_records)": (
                f"SELECT * FROM records WHERE id = {record} AND subject_id = {subject}"
            ),
            "records: a batch's records (ix_records_batch_id: list sync, notices, exchange push)": (
                f"SELECT id, subject_id FROM records WHERE batch_id = {batch}"
            ),
            "records: resubmission upsert (uq_records_department_id as arbiter)": (
                "INSERT INTO records SELECT * FROM records WHERE id = "
                f"{record} AND subject_id = {subject} ON CONFLICT (department_id, item_code, "
                "document_number, subject_id) DO UPDATE SET version = records.version + 1"
            ),
            "records: the daily job's chunk (ix_records_display_until_active)": (
                "SELECT id FROM records WHERE state = 'active' AND display_until < "
                f"'{today}' ORDER BY display_until LIMIT 50000"
            ),
            "query_log: who read my file (ix_query_log_subject_id, every year)": (
                f"SELECT * FROM query_log WHERE subject_id = {subject} ORDER BY id DESC LIMIT 50"
            ),
            "query_log: purge of the boundary year (ix_query_log_queried_at + pruning)": (
                f"DELETE FROM query_log WHERE queried_at < '{cutoff}'"
            ),
            "audit_events: verification walk (pk_audit_events, merge append)": (
                "SELECT * FROM audit_events WHERE seq > 0 ORDER BY seq LIMIT 1000"
            ),
            "audit_events: an actor's events (ix_audit_events_actor)": (
                f"SELECT * FROM audit_events WHERE actor = '{actor[0] if actor else 'x'}' "
                "ORDER BY seq DESC LIMIT 100"
            ),
            "audit_events: events by action prefix (ix_audit_events_action?)": (
                "SELECT * FROM audit_events WHERE action LIKE 'records:%' "
                "ORDER BY seq DESC LIMIT 100"
            ),
            "audit_events: the abuse scan's day (pruning + ix_audit_events_occurred_at)": (
                "SELECT actor, role, count(*) FROM audit_events WHERE occurred_at >= "
                f"'{today} 00:00:00+00' AND occurred_at < '{today + dt.timedelta(days=1)} "
                "00:00:00+00' AND action LIKE 'query:%' GROUP BY actor, role"
            ),
        }
        from xinyong.measures.facts import facts_statement

        index = conn.execute("SELECT id_index FROM subjects WHERE id = %s", (subject,)).fetchone()
        queries["records, list_entries, scores: the check's facts statement"] = facts_statement(
            today
        ).replace("%(index)s", f"'{index[0] if index else ''}'")
        lines: list[str] = []
        for title, sql in queries.items():
            plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}").fetchall()
            conn.rollback()
            lines += [f"## {title}", "", sql, "", *(r[0] for r in plan), ""]
    with psycopg.connect(f"{PG}/{db}") as conn:
        kind = (
            "partitioned"
            if conn.execute("SELECT 1 FROM pg_partitioned_table").fetchone()
            else "unpartitioned"
        )
    path = OUT / f"scale-explain-{db}-{kind}.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    log(f"wrote {path}")
    return str(path)


def import_rows(env: dict[str, str], seed: int) -> dict[str, Any]:
    import import_bench

    path = import_bench.generate(IMPORT_ROWS, "utf-8", seed=seed)
    db = env["XINYONG_DATABASE_URL"].rsplit("/", 1)[-1]
    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        for code, name, credit in import_bench.departments():
            # The city made SCJGJ without a credit code; the file's rows name it by one.
            conn.execute("UPDATE departments SET credit_code = %s WHERE code = %s", (credit, code))
            if not conn.execute("SELECT 1 FROM departments WHERE code = %s", (code,)).fetchone():
                subprocess.run(
                    [str(XINYONG), "department", "add", code, name, "--credit-code", credit],
                    env=env, capture_output=True, check=True,
                )  # fmt: skip
    first, out = timed(["import", str(path), "--json"], env)
    again, out2 = timed(["import", str(path), "--json"], env)
    one, two = json.loads(out), json.loads(out2)
    return {
        "rows": IMPORT_ROWS,
        "new_s": round(first, 1),
        "new_rows_per_s": round(IMPORT_ROWS / first),
        "accepted": one.get("accepted"),
        "resubmitted_s": round(again, 1),
        "resubmitted_rows_per_s": round(IMPORT_ROWS / again),
        "resubmission": {k: two.get(k) for k in ("created", "updated", "unchanged")},
    }


def jobs(env: dict[str, str]) -> dict[str, float]:
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    # The command's own start-up (interpreter, imports, settings, one query): in every job.
    out = {"cli_startup_s": round(timed(["partitions", "list", "--json"], env)[0], 1)}
    out["rescore_steady_s"] = round(timed(["rescore"], env)[0], 1)
    out["expire_catch_up_s"] = round(timed(["expire", "--date", yesterday], env)[0], 1)
    out["expire_daily_s"] = round(timed(["expire"], env)[0], 1)
    return out


def migrate(db: str, env: dict[str, str], target: str, down: bool) -> float:
    code = (
        "from alembic import command; from xinyong.migrate import alembic_config; "
        "from xinyong.db import get_engine\n"
        "with get_engine().begin() as c: "
        f"command.{'downgrade' if down else 'upgrade'}(alembic_config(c), {target!r})"
    )
    start = time.perf_counter()
    subprocess.run([str(PYTHON), "-c", code], env=env, check=True)
    took = time.perf_counter() - start
    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    log(f"migration {'down' if down else 'up'} to {target}: {took:.1f} s")
    return round(took, 1)


def measure(db: str, env: dict[str, str], persons: int, seed: int, samples: int) -> dict[str, Any]:
    result: dict[str, Any] = {"load_before": load_avg()}
    result["sizes"] = sizes(db)
    result["latency"] = measure_latencies(db, samples)
    result["jobs"] = jobs(env)
    result["purge"] = purge(db, env, persons)
    result["import"] = import_rows(env, seed)
    result["explain"] = explain(db)
    result["load_after"] = load_avg()
    return result


def save(key: str, value: dict[str, Any]) -> None:
    data = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    data[key] = value
    RESULTS.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def run_size(persons: int, compare: bool, keep: bool, samples: int) -> None:
    db = db_name(persons)
    city.use_database(db)
    env = city.city_env()
    start = time.perf_counter()
    log(f"building {persons:,} persons / {10 * persons:,} records in {db} (load {load_avg()})")
    city.synthetic(argparse.Namespace(persons=persons, records=10 * persons), env)
    build_s = time.perf_counter() - start
    meta = city.load_meta()
    result = {
        "persons": persons,
        "records": meta.get("counts", {}).get("records"),  # type: ignore[union-attr]
        "date": dt.datetime.now().isoformat(timespec="minutes"),
        "build_s": round(build_s, 1),
        "build": meta.get("timings"),
        **measure(db, env, persons, 2026, samples),
    }
    save(f"{persons}/partitioned", result)
    if compare:
        down = migrate(db, env, "0011", down=True)
        plain = {"downgrade_s": down, **measure(db, env, persons, 2027, samples)}
        plain["upgrade_s"] = migrate(db, env, "head", down=False)
        save(f"{persons}/unpartitioned", plain)
        # Both copies are now freshly written (no dead tuples from the first run's catch-up
        # expiry): this run, not the first, is the like-for-like partitioned figure.
        again = measure(db, env, persons, 2028, samples)
        save(f"{persons}/partitioned-again", again)
    if not keep:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        log(f"dropped {db}")


def mb(value: float | None) -> str:
    return "—" if value is None else f"{value / 2**20:,.0f}"


def table() -> str:
    data = json.loads(RESULTS.read_text(encoding="utf-8"))
    head = (
        "| size | schema | records | DB MB | records MB (table + indexes) | build s "
        "| archive p50 / p99 ms | check p50 / p99 ms | rescore (steady) s | expire catch-up s "
        "| expire daily s | purge s (plain DELETE + VACUUM s) | import 100k new s (rows/s) "
        "| re-import s | load |\n|" + "---|" * 15
    )
    lines = [head]
    order = {
        "partitioned": 0,
        "partitioned-loaded": 0,
        "unpartitioned": 1,
        "partitioned-again": 2,
        "records-hash16": 3,
        "plain": 4,
        "records-hash16-again": 5,
    }
    for key in sorted(data, key=lambda k: (int(k.split("/")[0]), order[k.split("/")[1]])):
        r = data[key]
        persons = int(key.split("/")[0])
        rec = r["sizes"]["tables"].get("records", {})
        lat, jobs_, pur, imp = r["latency"], r["jobs"], r["purge"], r["import"]
        lines.append(
            f"| {persons:,} | {key.split('/')[1]} | {rec.get('rows', 0):,} "
            f"| {mb(r['sizes']['database_bytes'])} "
            f"| {mb(rec.get('table_bytes'))} + {mb(rec.get('index_bytes'))} "
            f"| {r.get('build_s', '—')} "
            f"| {lat['archive']['p50_ms']} / {lat['archive']['p99_ms']} "
            f"| {lat['check']['p50_ms']} / {lat['check']['p99_ms']} "
            f"| {jobs_['rescore_steady_s']} | {jobs_['expire_catch_up_s']} "
            f"| {jobs_['expire_daily_s']} | {pur['purge_s']} "
            f"({pur['plain_delete_s']} + {pur.get('plain_vacuum_s', '—')}) "
            f"| {imp['new_s']} ({imp['new_rows_per_s']:,}) | {imp['resubmitted_s']} "
            f"| {r['load_before']} → {r['load_after']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, nargs="*", default=[100_000, 300_000])
    parser.add_argument("--compare", type=int, nargs="*", default=[], help="sizes to compare")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--latency", help=argparse.SUPPRESS)
    parser.add_argument("--table", action="store_true", help="print the table and stop")
    parser.add_argument("--explain", help="only write the EXPLAINs of database EXPLAIN")
    args = parser.parse_args()
    if args.explain:
        explain(args.explain)
        return 0
    if args.latency:
        print(json.dumps(latencies(args.latency, args.samples)))
        return 0
    if not args.table and len(args.persons) == 1:
        persons = args.persons[0]
        run_size(persons, persons in args.compare, args.keep, args.samples)
    elif not args.table:
        # One process per size: the project's settings and keys are cached per process.
        for persons in args.persons:
            subprocess.run(
                [str(PYTHON), __file__, "--persons", str(persons), "--samples", str(args.samples)]
                + (["--compare", str(persons)] if persons in args.compare else [])
                + (["--keep"] if args.keep else []),
                check=True,
            )
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
