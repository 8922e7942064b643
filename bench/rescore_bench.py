"""Integrity score: ``xinyong rescore`` against a bare aggregate over the same records.

Builds a synthetic city set-based in SQL (``generate_series``) on a fresh PostgreSQL
database — N persons, M records over the catalog's items, grades, dates and states — then
in one run times the bare ``INSERT … SELECT subject_id, sum(points) … GROUP BY subject_id``
and ``xinyong rescore`` (first run and steady state), and ``xinyong expire``.

    .venv/bin/python bench/rescore_bench.py --persons 1000000 --records 10000000
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import psycopg

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.loader import default_catalog_files, parse_catalog_file
from xinyong.scoring.engine import points_table

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
XINYONG = ROOT / ".venv" / "bin" / "xinyong"
PG = "postgresql://postgres@127.0.0.1:5432"
DB = "xinyong_rescore_bench"


def catalog() -> Catalog:
    result = Catalog()
    for path in default_catalog_files():
        for parsed in parse_catalog_file(path):
            result.section(parsed.section)[parsed.entry.code] = parsed.entry
    return result


def build(conn: psycopg.Connection, persons: int, records: int, cat: Catalog) -> float:
    start = time.perf_counter()
    negative = [i.code for i in cat.items.values() if i.nature.value == "negative"][:30]
    positive = [i.code for i in cat.items.values() if i.nature.value == "positive"][:6]
    neutral = [i.code for i in cat.items.values() if i.nature.value == "neutral"][:6]
    items = negative + positive + neutral
    natures = (
        ["negative"] * len(negative) + ["positive"] * len(positive) + ["neutral"] * len(neutral)
    )
    conn.execute(
        "INSERT INTO departments (code, name, kind, created_at) VALUES ('B', '基准部门', 'government', now())"
    )
    conn.execute(
        """INSERT INTO subjects (kind, id_type, id_index, id_cipher, name, created_at, updated_at)
           SELECT 'person', '身份证', left(md5(g::text), 32), '\\x00'::bytea, '测试' || g, now(), now()
           FROM generate_series(1, %s) g""",
        (persons,),
    )
    step = 1_000_000
    for lo in range(0, records, step):
        hi = min(records, lo + step)
        conn.execute(
            """
            INSERT INTO records (subject_id, department_id, item_code, item_version, document_number,
                nature, decision_date, facts, grade, open_level, display_from, display_until, state,
                version, content_hash, created_at, updated_at)
            SELECT 1 + (g %% %(persons)s), (SELECT id FROM departments WHERE code = 'B'),
                (%(items)s::text[])[1 + (h %% %(n)s)], 1, 'B' || g,
                (%(natures)s::text[])[1 + (h %% %(n)s)], d, '{}'::jsonb,
                CASE WHEN (%(natures)s::text[])[1 + (h %% %(n)s)] = 'negative'
                     THEN (ARRAY['minor','general','serious'])[1 + (h / 7) %% 3] END,
                'government', d,
                CASE WHEN (%(natures)s::text[])[1 + (h %% %(n)s)] = 'negative'
                     THEN d + ((ARRAY[3, 12, 36])[1 + (h / 7) %% 3] || ' months')::interval
                     WHEN (%(natures)s::text[])[1 + (h %% %(n)s)] = 'positive'
                     THEN d + interval '36 months' END,
                CASE WHEN h %% 100 < 97 THEN 'active' ELSE
                    (ARRAY['disputed','repaired','revoked'])[1 + h %% 3] END,
                1, left(md5(g::text), 32), now(), now()
            FROM (SELECT g, abs(hashint4(g)) AS h,
                         current_date - (abs(hashint4(g + 7)) %% 1460) AS d
                  FROM generate_series(%(lo)s + 1, %(hi)s) g) s
            """,
            {
                "persons": persons,
                "items": items,
                "natures": natures,
                "n": len(items),
                "lo": lo,
                "hi": hi,
            },
        )
        print(f"  records {hi:,}", flush=True)
    conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def bare(conn: psycopg.Connection) -> float:
    conn.execute("DROP TABLE IF EXISTS bare_scores")
    conn.execute("CREATE TABLE bare_scores (subject_id bigint, score bigint)")
    start = time.perf_counter()
    conn.execute(
        "INSERT INTO bare_scores SELECT r.subject_id, sum(p.points) FROM records r "
        "JOIN bare_points p ON p.item_code = r.item_code AND p.grade = coalesce(r.grade, '') "
        "GROUP BY r.subject_id"
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=10_000_000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    env = dict(
        os.environ,
        XINYONG_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB}",
        XINYONG_BLIND_INDEX_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        XINYONG_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        XINYONG_HOME=str(OUT / "home-rescore"),
    )
    subprocess.run([str(XINYONG), "init"], env=env, check=True, capture_output=True)
    cat = catalog()
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        built = build(conn, args.persons, args.records, cat)
        table = points_table(cat.scoring_models["default"], cat.items)
        conn.execute("CREATE TABLE bare_points (item_code text, grade text, points integer)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO bare_points VALUES (%s, %s, %s)",
                [(item, grade, points) for (item, grade), points in table.items()],
            )
        bare_before = bare(conn)
        first = timed([str(XINYONG), "rescore"], env)
        steady = timed([str(XINYONG), "rescore"], env)
        bare_after = bare(conn)
        expire = timed([str(XINYONG), "expire"], env)
        scored = conn.execute("SELECT count(*) FROM subject_scores").fetchone()
    baseline = min(bare_before, bare_after)
    report = {
        "date": dt.date.today().isoformat(), "persons": args.persons, "records": args.records,
        "build_seconds": built, "bare_seconds": [bare_before, bare_after],
        "rescore_first_seconds": first, "rescore_steady_seconds": steady,
        "ratio_first": first / baseline, "ratio_steady": steady / baseline,
        "expire_seconds": expire, "scored_subjects": scored[0] if scored else 0,
    }  # fmt: skip
    (OUT / "rescore_bench.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(
        f"{args.persons:,} persons / {args.records:,} records (built in {built:.0f} s)\n"
        f"bare aggregate {baseline:.1f} s; rescore first {first:.1f} s "
        f"(ratio {first / baseline:.2f}, target ≤ 2), steady {steady:.1f} s "
        f"(ratio {steady / baseline:.2f}); expire {expire:.1f} s"
    )


if __name__ == "__main__":
    main()
