"""Integrity score: ``xinyong rescore`` against a bare aggregate, and ``xinyong expire``.

Issue "archive rules": on PostgreSQL with a synthetic city of 1,000,000 persons and
10,000,000 records, time ``xinyong rescore`` against a bare
``INSERT … SELECT subject_id, sum(points) … GROUP BY subject_id`` over the same records in
the same run (target: rescore ≤ 2× the bare aggregate), and time ``xinyong expire``.

The city is generated set-based in SQL on a fresh database ``xinyong_rescore_bench``
(``xinyong init`` first, for the schema and the default catalog), not through the import
pipeline: N persons, M records drawn from a weighted mix of 42 catalog items (negative
ones in all three grades, positive, neutral), decision dates over the last four years,
display windows from the project's own rules, 3 % of records disputed, repaired or revoked,
and the list entries that the import would have created for list items in use. Then, in
one run: the bare aggregate (twice before and once after the rescores; the minimum is the
baseline), ``xinyong rescore`` (first run: everyone new; then steady state), a correctness
check against ``score_subject`` for random persons, and ``xinyong expire`` (catch-up for
yesterday, then today's daily run). ``--explain`` adds EXPLAIN (ANALYZE, BUFFERS) of the
bare aggregate and an auto_explain'd, unmeasured extra first-run rescore.

    .venv/bin/python bench/rescore_bench.py --persons 1000000 --records 10000000
    .venv/bin/python bench/rescore_bench.py --reuse --explain   # keep the city

Results go to ``bench/out/rescore_bench.json``; statements slower than 250 ms in the
measured commands are read back from the PostgreSQL server log when it is readable.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
XINYONG = ROOT / ".venv" / "bin" / "xinyong"
PG = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_DB = "xinyong_rescore_bench"
HOME = OUT / "rescore-home"
ENV_FILE = OUT / "rescore-env.json"
RESULT_FILE = OUT / "rescore_bench.json"
SERVER_LOG = Path("/var/log/postgresql/postgresql-15-main.log")
SLOW_MS = 250
DEPARTMENT = "BENCH_RESCORE"

# Weighted item mix of a personal credit archive: mostly administrative and neutral
# information, many minor negative records (traffic, arrears, overdue loans), some positive
# ones, few serious ones. 42 items; weights are per mille-ish, not exact shares.
ITEM_MIX: dict[str, int] = {
    # neutral
    "SGS_LICENSE": 120,
    "INDIVIDUAL_BUSINESS_REG": 40,
    "CREDIT_COMMITMENT": 60,
    "CREDIT_EVALUATION": 30,
    "VOLUNTARY_INFO": 20,
    "PROFESSIONAL_QUALIFICATION": 50,
    "PRACTICE_REGISTRATION": 20,
    "PROFESSIONAL_TITLE": 30,
    "SPECIAL_OPERATION_CERT": 20,
    "DRIVING_LICENCE_STATUS": 40,
    "IP_RIGHTS": 10,
    "PERSON_BASIC": 10,
    # positive
    "ADMIN_REWARD": 10,
    "VOLUNTEER_SERVICE": 50,
    "BLOOD_DONATION": 30,
    "CHARITY_DONATION": 20,
    "COMMENDATION": 15,
    "STUDENT_HONOUR": 15,
    "OUTSTANDING_VOLUNTEER": 5,
    "MORAL_MODEL": 2,
    "GOOD_SAMARITAN": 3,
    # negative
    "TRAFFIC_VIOLATION": 120,
    "SGS_PENALTY": 60,
    "UTILITY_ARREARS": 40,
    "LOAN_OVERDUE": 40,
    "TAX_ARREARS": 20,
    "CONTRACT_BREACH": 15,
    "ADMIN_ENFORCEMENT": 15,
    "COURIER_VIOLATION": 5,
    "COMMITMENT_BREACH": 10,
    "CONSUMPTION_RESTRICTED": 10,
    "JUDGMENT_NOT_PERFORMED": 10,
    "DISHONEST_JUDGMENT_DEBTOR": 10,
    "SERIOUS_TRAFFIC_VIOLATION": 10,
    "STUDENT_LOAN_DEFAULT": 8,
    "FOOD_DRUG_VIOLATION": 5,
    "LABOUR_VIOLATION": 5,
    "SOCIAL_INSURANCE_ARREARS": 5,
    "CRIMINAL_JUDGMENT": 5,
    "EXAM_CHEATING": 3,
    "TELECOM_FRAUD": 2,
    "MAJOR_TAX_VIOLATION": 2,
}
# A negative record has its item's default grade 8 times in 10, each other grade 1 in 10.
DEFAULT_GRADE_WEIGHT, OTHER_GRADE_WEIGHT = 8, 1

BARE_SQL = (
    "INSERT INTO bare_scores SELECT r.subject_id, sum(p.points) FROM records r "
    "JOIN bare_points p ON p.item_code = r.item_code AND p.grade = coalesce(r.grade, '') "
    "GROUP BY r.subject_id"
)
# The same aggregate restricted to the records in use (what rescore must also filter).
BARE_IN_USE_SQL = (
    "INSERT INTO bare_scores SELECT r.subject_id, sum(p.points) FROM records r "
    "JOIN bare_points p ON p.item_code = r.item_code AND p.grade = coalesce(r.grade, '') "
    "WHERE r.state = 'active' AND r.display_from <= current_date "
    "AND (r.display_until IS NULL OR r.display_until >= current_date) "
    "GROUP BY r.subject_id"
)


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------- environment


def bench_env(db: str) -> dict[str, str]:
    """Environment of the xinyong commands; keys are created once and kept for --reuse."""
    OUT.mkdir(parents=True, exist_ok=True)
    HOME.mkdir(parents=True, exist_ok=True)
    saved: dict[str, Any] = {}
    if ENV_FILE.exists():
        saved = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    if "XINYONG_BLIND_INDEX_KEY" not in saved:
        saved = {
            "XINYONG_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "XINYONG_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "XINYONG_AUDIT_CHAIN_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        ENV_FILE.write_text(json.dumps(saved, indent=2), encoding="utf-8")
        ENV_FILE.chmod(0o600)
    env = dict(os.environ)
    env.update(
        {
            "XINYONG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
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


def load_meta() -> dict[str, Any]:
    if not ENV_FILE.exists():
        return {}
    data: dict[str, Any] = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    return data


def save_meta(**values: Any) -> None:
    saved = load_meta()
    saved.update(values)
    ENV_FILE.write_text(json.dumps(saved, indent=2, ensure_ascii=False), encoding="utf-8")


def connect(db: str) -> psycopg.Connection[Any]:
    return psycopg.connect(f"{PG}/{db}", autocommit=True)


def db_exists(db: str) -> bool:
    with connect("postgres") as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
    return row is not None


def recreate_db(db: str) -> None:
    with connect("postgres") as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")


def scalar(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


@contextmanager
def project_session(env: dict[str, str]) -> Iterator[Any]:
    """A session of the project on the bench database (settings come from the env)."""
    for key in (
        "XINYONG_DATABASE_URL",
        "XINYONG_BLIND_INDEX_KEY",
        "XINYONG_ENCRYPTION_KEY",
        "XINYONG_AUDIT_CHAIN_KEY",
    ):
        os.environ[key] = env[key]
    os.environ["XINYONG_HOME"] = env["XINYONG_HOME"]
    from xinyong.db import session_factory

    session = session_factory()()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


# ---------------------------------------------------------------------------- generation


def mix_rows(catalog: Any, profile: str) -> list[tuple[int, str, str, str | None, int | None, str]]:
    """Slots (k, item, nature, grade, display months or None, open level) of the mix."""
    from xinyong.catalog.schemas import Nature
    from xinyong.records.display import period_bounds

    rows: list[tuple[int, str, str, str | None, int | None, str]] = []
    for code, weight in ITEM_MIX.items():
        item = catalog.items[code]
        level = str(getattr(item.open_level, "value", item.open_level))
        variants: list[tuple[str | None, int | None, int]] = []
        if item.nature is Nature.NEGATIVE:
            for grade in catalog.grades.values():
                share = (
                    DEFAULT_GRADE_WEIGHT if grade.code == item.default_grade else OTHER_GRADE_WEIGHT
                )
                bounds = period_bounds(item, grade, profile)
                variants.append((grade.code, bounds.max_months, weight * share))
        else:
            total = DEFAULT_GRADE_WEIGHT + 2 * OTHER_GRADE_WEIGHT
            variants.append((None, item.validity_months, weight * total))
        for grade_code, months, count in variants:
            for _ in range(count):
                rows.append((len(rows), code, item.nature.value, grade_code, months, level))
    return rows


def generate(
    db: str, env: dict[str, str], persons: int, records: int, slice_rows: int
) -> dict[str, float]:
    timings: dict[str, float] = {}
    recreate_db(db)
    start = time.perf_counter()
    subprocess.run([str(XINYONG), "init"], env=env, check=True, capture_output=True)
    timings["init_s"] = time.perf_counter() - start
    log(f"xinyong init: {timings['init_s']:.1f} s")

    from xinyong.catalog.services import current_catalog
    from xinyong.config import get_settings
    from xinyong.lists.services import list_items

    with project_session(env) as session:
        catalog = current_catalog(session)
        profile = get_settings().profile
        mix = mix_rows(catalog, profile)
        lists = sorted(
            {(kind, code) for kind, codes in list_items(catalog).items() for code in codes}
        )

    gen_start = time.perf_counter()
    with connect(db) as conn:
        # Consistent by construction: skip the per-row foreign-key triggers of the load.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        department = scalar(
            conn,
            "INSERT INTO departments (code, name, kind, created_at) "
            "VALUES (%s, '积分基准测试部门', 'government', now()) RETURNING id",
            (DEPARTMENT,),
        )
        conn.execute(
            "CREATE TABLE bench_mix (k integer PRIMARY KEY, item_code text, nature text, "
            "grade text, months integer, open_level text)"
        )
        with conn.cursor() as cur, cur.copy("COPY bench_mix FROM STDIN") as copy:
            for row in mix:
                copy.write_row(row)
        conn.execute(
            "CREATE TABLE bench_list_items (list_kind text, item_code text, "
            "PRIMARY KEY (list_kind, item_code))"
        )
        with conn.cursor() as cur, cur.copy("COPY bench_list_items FROM STDIN") as copy:
            for pair in lists:
                copy.write_row(pair)

        step = time.perf_counter()
        conn.execute(
            """
            INSERT INTO subjects (id, kind, id_type, id_index, id_cipher, name, birth_date, sex,
                                  region_code, created_at, updated_at)
            SELECT i, 'person', '身份证', left(md5(i::text), 32), '\\x00'::bytea, '测试' || i,
                   date '1950-01-01' + ((hashint8extended(i, 11) & 2147483647) %% 20000)::int,
                   CASE WHEN i %% 2 = 0 THEN '2' ELSE '1' END, '430102', now(), now()
            FROM generate_series(1, %(n)s::bigint) i
            """,
            {"n": persons},
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('subjects', 'id'), %s)", (persons,))
        timings["subjects_s"] = time.perf_counter() - step
        log(f"subjects: {persons:,} in {timings['subjects_s']:.1f} s")

        step = time.perf_counter()
        for lo in range(1, records + 1, slice_rows):
            hi = min(records, lo + slice_rows - 1)
            t0 = time.perf_counter()
            conn.execute(
                """
                INSERT INTO records (subject_id, department_id, item_code, item_version,
                    document_number, nature, decision_date, facts, grade, open_level,
                    display_from, display_until, state, version, content_hash,
                    created_at, updated_at)
                SELECT s.subject_id, %(dept)s, m.item_code, 1, 'B' || s.g, m.nature, s.d,
                       '{}'::jsonb, m.grade, m.open_level, s.d,
                       CASE WHEN m.months IS NOT NULL
                            THEN (s.d + make_interval(months => m.months))::date - 1 END,
                       CASE WHEN s.st < 970 THEN 'active' WHEN s.st < 980 THEN 'disputed'
                            WHEN s.st < 990 THEN 'repaired' ELSE 'revoked' END,
                       1, left(md5(s.g::text), 32), now(), now()
                FROM (
                    SELECT g,
                           1 + (hashint8extended(g, 1) & 2147483647) %% %(persons)s AS subject_id,
                           (hashint8extended(g, 2) & 2147483647) %% %(slots)s AS k,
                           current_date - ((hashint8extended(g, 3) & 2147483647) %% 1461)::int
                               AS d,
                           (hashint8extended(g, 4) & 2147483647) %% 1000 AS st
                    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
                ) s JOIN bench_mix m ON m.k = s.k
                """,
                {
                    "dept": department,
                    "persons": persons,
                    "slots": len(mix),
                    "lo": lo,
                    "hi": hi,
                },
            )
            log(f"  records {hi:,} / {records:,} ({time.perf_counter() - t0:.1f} s)")
        timings["records_s"] = time.perf_counter() - step

        # The list entries the import pipeline creates for list items in use (so that the
        # daily job's set-based sync finds nothing new, as in a running city).
        step = time.perf_counter()
        created = conn.execute(
            """
            INSERT INTO list_entries (subject_id, list_kind, status, source, record_id, item_code,
                department_id, reasons, basis, decided_on, start_date, end_date,
                created_at, updated_at)
            SELECT r.subject_id, l.list_kind, 'listed', 'record', r.id, r.item_code,
                   r.department_id, r.item_code, '基准测试', r.decision_date, r.decision_date,
                   r.display_until, now(), now()
            FROM records r JOIN bench_list_items l ON l.item_code = r.item_code
            WHERE r.state = 'active' AND r.display_from <= current_date
              AND (r.display_until IS NULL OR r.display_until >= current_date)
            """
        ).rowcount
        timings["list_entries_s"] = time.perf_counter() - step
        log(f"list entries: {created:,} in {timings['list_entries_s']:.1f} s")
        conn.execute("SET session_replication_role = DEFAULT")

        step = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        timings["vacuum_s"] = time.perf_counter() - step
        log(f"VACUUM ANALYZE: {timings['vacuum_s']:.1f} s")
    timings["generation_s"] = time.perf_counter() - gen_start
    return timings


def reset_for_rerun(db: str) -> None:
    """Undo what the measured commands changed, so a --reuse run measures the same work."""
    with connect(db) as conn:
        conn.execute("TRUNCATE subject_scores, score_history")
        restored = conn.execute(
            "UPDATE records SET state = 'active' WHERE state = 'expired'"
        ).rowcount
        conn.execute("DELETE FROM notices WHERE kind = 'display:ending'")
        conn.execute(
            "UPDATE list_entries SET status = 'listed', ended_on = NULL, end_reason = NULL "
            "WHERE status = 'ended' AND end_reason = 'period_over'"
        )
        # Rewrite the table so the rerun reads as many pages as the freshly generated city.
        if restored:
            conn.execute("VACUUM FULL records")
        conn.execute("VACUUM ANALYZE")


# ---------------------------------------------------------------------------- measurement


def server_log_size() -> int | None:
    try:
        return SERVER_LOG.stat().st_size if os.access(SERVER_LOG, os.R_OK) else None
    except OSError:
        return None


def server_log_since(offset: int | None) -> str:
    if offset is None:
        return ""
    with SERVER_LOG.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", errors="replace")


DURATION = re.compile(r"duration: ([0-9.]+) ms\s+(?:statement|execute [^:]*): (.*)")


def slow_statements(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        match = DURATION.search(line)
        if match:
            sql = " ".join(match.group(2).split())
            found.append({"ms": round(float(match.group(1))), "sql": sql[:160]})
    return found


def statement_s(slow: list[dict[str, Any]]) -> float:
    """Server time of the rescore statement (the one WITH agg …), 0 if not logged."""
    return float(sum(item["ms"] for item in slow if item["sql"].startswith("WITH agg"))) / 1000


def xinyong(
    args: list[str], env: dict[str, str], *, pg_options: str = ""
) -> tuple[float, str, list[dict[str, Any]]]:
    """Run a command; wall clock, its output, and its statements slower than SLOW_MS."""
    run_env = dict(env)
    run_env["PGOPTIONS"] = f"-c log_min_duration_statement={SLOW_MS} {pg_options}".strip()
    offset = server_log_size()
    start = time.perf_counter()
    proc = subprocess.run(
        [str(XINYONG), *args], env=run_env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"xinyong {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    time.sleep(0.2)  # let the server flush its log
    slow = slow_statements(server_log_since(offset))
    output = proc.stdout.strip()
    log(f"$ xinyong {' '.join(args)}: {took:.2f} s — {output}")
    for item in slow:
        log(f"    {item['ms']:>8,} ms  {item['sql'][:110]}")
    return took, output, slow


def bare_points(env: dict[str, str], db: str) -> int:
    """bare_points: (item, grade) → points from the scoring model in force, as rescore uses."""
    from xinyong.catalog.services import current_catalog
    from xinyong.scoring.engine import points_table
    from xinyong.scoring.services import active_model

    with project_session(env) as session:
        catalog = current_catalog(session)
        model, _version = active_model(catalog)
        table = points_table(model, catalog.items)
    with connect(db) as conn:
        conn.execute("DROP TABLE IF EXISTS bare_points")
        conn.execute(
            "CREATE TABLE bare_points (item_code varchar(64), grade varchar(32), points integer)"
        )
        with conn.cursor() as cur, cur.copy("COPY bare_points FROM STDIN") as copy:
            for (item, grade), points in table.items():
                copy.write_row((item, grade, points))
        conn.execute("ANALYZE bare_points")
    return len(table)


def bare(db: str, sql: str = BARE_SQL) -> tuple[float, int]:
    with connect(db) as conn:
        conn.execute("DROP TABLE IF EXISTS bare_scores")
        conn.execute("CREATE TABLE bare_scores (subject_id bigint, score bigint)")
        start = time.perf_counter()
        rows = conn.execute(sql).rowcount
        took = time.perf_counter() - start
    return took, rows


def check_scores(env: dict[str, str], db: str, persons: int, samples: int) -> dict[str, Any]:
    """Stored scores against the pure engine (score_subject) for random persons."""
    from xinyong.catalog.services import current_catalog
    from xinyong.scoring.services import active_model, score_subject, stored_score

    with connect(db) as conn:
        stored = scalar(conn, "SELECT count(*) FROM subject_scores")
        expected = scalar(
            conn,
            "SELECT count(DISTINCT r.subject_id) FROM records r JOIN bare_points p "
            "ON p.item_code = r.item_code AND p.grade = coalesce(r.grade, '') "
            "WHERE r.state = 'active' AND r.display_from <= current_date "
            "AND (r.display_until IS NULL OR r.display_until >= current_date)",
        )
        history = scalar(conn, "SELECT count(*) FROM score_history")
    rng = random.Random(2026)
    picks = rng.sample(range(1, persons + 1), min(samples, persons))
    mismatches = []
    on = dt.date.today()
    with project_session(env) as session:
        model, _ = active_model(current_catalog(session))
        for sid in picks:
            engine_score = score_subject(session, sid, on).score
            row = stored_score(session, sid)
            db_score = row.score if row is not None else model.base
            if engine_score != db_score:
                mismatches.append({"subject_id": sid, "engine": engine_score, "stored": db_score})
    result = {
        "subject_scores": stored,
        "subjects_with_counting_records": expected,
        "score_history": history,
        "sampled": len(picks),
        "mismatches": mismatches,
    }
    ok = stored == expected and not mismatches
    log(
        f"check: {stored:,} stored scores vs {expected:,} subjects with counting records; "
        f"{len(picks)} sampled persons, {len(mismatches)} mismatches — {'ok' if ok else 'FAIL'}"
    )
    return result


def explain_bare(db: str) -> str:
    with connect(db) as conn:
        conn.execute("DROP TABLE IF EXISTS bare_scores")
        conn.execute("CREATE TABLE bare_scores (subject_id bigint, score bigint)")
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {BARE_SQL}").fetchall()
    return "\n".join(str(r[0]) for r in rows)


def explain_rescore(db: str, env: dict[str, str]) -> str:
    """An extra, unmeasured first-run rescore with auto_explain (ANALYZE, BUFFERS) on."""
    with connect(db) as conn:
        conn.execute("TRUNCATE subject_scores, score_history")
    offset = server_log_size()
    if offset is None:
        return "(server log not readable)"
    options = (
        "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=1000 "
        "-c auto_explain.log_analyze=on -c auto_explain.log_buffers=on "
        "-c auto_explain.log_triggers=on"
    )
    xinyong(["rescore"], env, pg_options=options)
    text = server_log_since(offset)
    start = text.find("Query Text")
    return text[start:] if start >= 0 else text


EXPIRE_INDEX = "ix_records_display_until_active"


def expire_statements(on: dt.date) -> dict[str, str]:
    """The daily job's searches of ``records``, as ``xinyong expire`` issues them."""
    horizon = on + dt.timedelta(days=30)
    due = f"state = 'active' AND display_until IS NOT NULL AND display_until < DATE '{on}'"
    return {
        "expire records (one chunk)": (
            "UPDATE records SET state = 'expired', updated_at = now() WHERE id IN "
            f"(SELECT id FROM records WHERE {due} ORDER BY display_until LIMIT 50000) "
            "RETURNING subject_id"
        ),
        "expire records (plain, before)": (
            f"UPDATE records SET state = 'expired', updated_at = now() WHERE {due}"
        ),
        "display-ending notices": (
            "SELECT r.id, r.subject_id, r.item_code, r.display_until FROM records r "
            "WHERE r.state = 'active' AND r.nature = 'negative' "
            f"AND r.display_until IS NOT NULL AND r.display_until >= DATE '{on}' "
            f"AND r.display_until <= DATE '{horizon}' AND NOT EXISTS (SELECT 1 FROM notices n "
            "WHERE n.record_id = r.id AND n.kind = 'display:ending')"
        ),
    }


def explain_expire(db: str, on: dt.date) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the daily searches, with the partial index and with it
    dropped inside the same rolled-back transaction (what the daily job did before 0008)."""
    parts = []
    with connect(db) as conn:
        for label, drop in (("with the index", False), ("without the index", True)):
            for name, sql in expire_statements(on).items():
                with conn.transaction(force_rollback=True):
                    if drop:
                        conn.execute(f"DROP INDEX {EXPIRE_INDEX}")
                    rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
                parts.append(f"-- {name}, {label}\n" + "\n".join(str(r[0]) for r in rows))
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    with connect("postgres") as conn:
        version = scalar(conn, "SELECT version()")
        settings = dict(
            conn.execute(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'jit')"
            ).fetchall()
        )
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "postgres": version,
        "pg_settings": settings,
    }


def time_expire(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """``xinyong expire`` for yesterday (catch-up: everything whose display ended in four
    years at once), then today's run; --explain adds the daily searches' plans."""
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    catch_up, catch_out, catch_slow = xinyong(["expire", "--date", yesterday], env)
    if args.explain:
        text = explain_expire(args.db, dt.date.today())
        (OUT / "expire-explain.txt").write_text(text + "\n", encoding="utf-8")
        log(f"EXPLAIN of the daily job's searches: bench/out/expire-explain.txt\n{text}")
    daily, daily_out, daily_slow = xinyong(["expire"], env)
    log(
        f"expire, catch-up {catch_up:8.2f} s ({catch_out})\nexpire, daily {daily:8.2f} s ({daily_out})"
    )
    return {
        "expire_catch_up": {"s": catch_up, "output": catch_out, "slow": catch_slow},
        "expire_daily": {"s": daily, "output": daily_out, "slow": daily_slow},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--slice", type=int, default=1_000_000, help="records per INSERT")
    parser.add_argument("--reuse", action="store_true", help="keep an already generated city")
    parser.add_argument("--samples", type=int, default=20, help="persons checked by the engine")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the aggregates too")
    parser.add_argument(
        "--expire-only", action="store_true", help="with --reuse: time only the expire runs"
    )
    args = parser.parse_args()

    env = bench_env(args.db)
    meta = load_meta()
    report: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": machine()}
    city = meta.get("city") or {}
    if args.reuse and db_exists(args.db) and city.get("db") == args.db:
        args.persons, args.records = int(city["persons"]), int(city["records"])
        log(f"reusing {args.db}: {args.persons:,} persons, {args.records:,} records")
        reset_for_rerun(args.db)
        took, _out, _slow = xinyong(["init"], env)  # schema migrations since the city was built
        report["migrate_s"] = took
        report["generation"] = city.get("timings", {})
    else:
        save_meta(city=None)
        log(f"generating {args.persons:,} persons, {args.records:,} records in {args.db}")
        timings = generate(args.db, env, args.persons, args.records, args.slice)
        city = {
            "db": args.db,
            "persons": args.persons,
            "records": args.records,
            "built_on": dt.date.today().isoformat(),
            "timings": timings,
        }
        save_meta(city=city)
        report["generation"] = timings
        log(f"generation: {timings['generation_s']:.1f} s")
    report.update(persons=args.persons, records=args.records)

    with connect(args.db) as conn:
        report["counts"] = {
            "records_in_use": scalar(
                conn,
                "SELECT count(*) FROM records WHERE state = 'active' "
                "AND display_from <= current_date "
                "AND (display_until IS NULL OR display_until >= current_date)",
            ),
            "list_entries": scalar(conn, "SELECT count(*) FROM list_entries"),
            "db_size": scalar(conn, "SELECT pg_size_pretty(pg_database_size(current_database()))"),
            "records_size": scalar(conn, "SELECT pg_size_pretty(pg_table_size('records'))"),
        }
    log(f"counts: {report['counts']}")
    report["points_rows"] = bare_points(env, args.db)
    if args.expire_only:
        report.update(time_expire(args, env))
        (OUT / "rescore_bench-expire.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        return 0

    bare_runs: list[float] = []
    for label in ("before (1)", "before (2)"):
        took, rows = bare(args.db)
        bare_runs.append(took)
        log(f"bare aggregate {label}: {took:.2f} s ({rows:,} subjects)")
    took, rows = bare(args.db, BARE_IN_USE_SQL)
    report["bare_in_use_s"] = took
    log(f"bare aggregate with the in-use filter: {took:.2f} s ({rows:,} subjects)")

    first, first_out, first_slow = xinyong(["rescore"], env)
    steady, steady_out, steady_slow = xinyong(["rescore"], env)
    took, rows = bare(args.db)
    bare_runs.append(took)
    log(f"bare aggregate after: {took:.2f} s ({rows:,} subjects)")
    report["check"] = check_scores(env, args.db, args.persons, args.samples)

    baseline = min(bare_runs)
    report["bare_s"] = bare_runs
    report["bare_baseline_s"] = baseline
    report["bare_median_s"] = statistics.median(bare_runs)
    report["rescore_first"] = {"s": first, "output": first_out, "slow": first_slow}
    report["rescore_steady"] = {"s": steady, "output": steady_out, "slow": steady_slow}
    report["ratio_first"] = first / baseline
    report["ratio_steady"] = steady / baseline
    # The rescore statement alone (server side), without the command's start-up and catalog.
    first_sql, steady_sql = statement_s(first_slow), statement_s(steady_slow)
    report["rescore_first"]["statement_s"] = first_sql
    report["rescore_steady"]["statement_s"] = steady_sql

    if args.explain:
        text = explain_bare(args.db)
        (OUT / "rescore-explain-bare.txt").write_text(text + "\n", encoding="utf-8")
        log(f"EXPLAIN of the bare aggregate: bench/out/rescore-explain-bare.txt\n{text}")
        text = explain_rescore(args.db, env)
        (OUT / "rescore-explain-rescore.txt").write_text(text + "\n", encoding="utf-8")
        log(f"auto_explain of rescore: bench/out/rescore-explain-rescore.txt\n{text}")

    report.update(time_expire(args, env))
    catch_up = report["expire_catch_up"]["s"]
    catch_out = report["expire_catch_up"]["output"]
    daily = report["expire_daily"]["s"]
    daily_out = report["expire_daily"]["output"]

    RESULT_FILE.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    verdict = "met" if first <= 2 * baseline else "NOT met"
    log(
        f"\n{args.persons:,} persons, {args.records:,} records\n"
        f"bare aggregate       {baseline:8.2f} s  (runs: "
        + ", ".join(f"{b:.2f}" for b in bare_runs)
        + ")\n"
        f"rescore, first run   {first:8.2f} s  ratio {first / baseline:.2f}"
        f"  (statement {first_sql:.2f} s, ratio {first_sql / baseline:.2f})\n"
        f"rescore, steady      {steady:8.2f} s  ratio {steady / baseline:.2f}"
        f"  (statement {steady_sql:.2f} s, ratio {steady_sql / baseline:.2f})\n"
        f"target rescore ≤ 2× bare: {verdict}\n"
        f"expire, catch-up     {catch_up:8.2f} s  ({catch_out})\n"
        f"expire, daily        {daily:8.2f} s  ({daily_out})\n"
        f"results: {RESULT_FILE.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
