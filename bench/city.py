"""A PostgreSQL demo city for the check and batch benchmarks.

Builds (or with ``--reuse`` keeps) the database ``xinyong_city_bench`` holding N persons
(about ten records each) through the project's own route: ``xinyong init`` then
``xinyong demo --persons N`` (the demo imports through the real submission pipeline), then
``xinyong rescore`` and ``VACUUM ANALYZE``. Keys are kept in ``bench/out/city-env.json``
so later runs reuse them; the persons' identity numbers (regenerated with the demo's seed
and build date, exactly as ``build_demo_city`` draws them) go to ``bench/out/city-ids.txt``.

    .venv/bin/python bench/city.py --persons 1000000
    .venv/bin/python bench/city.py --reuse          # keep the city, rewrite ids if missing
    .venv/bin/python bench/city.py --synthetic --persons 1000000 --records 10000000

``--synthetic`` builds the same database set-based in SQL instead, in minutes rather than
the 30–40 minutes the demo's import takes at 1,000,000 persons: the generator of
``bench/rescore_bench.py`` (persons, a weighted mix of 42 catalog items with display
windows from the project's own rules, 3 % of records disputed/repaired/revoked, the list
entries the import would have made), then every person gets a real, valid resident
identity number (region 430102, the generated birth date and sex, a sequence number, the
GB 11643 check digit) with the project's own blind index and AES-GCM ciphertext, one
organisation per 50 persons is linked to a person as 法定代表人 and given three records of
its own, then ``xinyong rescore`` and ``VACUUM ANALYZE``.

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


def use_database(name: str) -> None:
    """Build or reuse the city in database ``name`` (keys, ids and home beside the default's:
    ``bench/out/<name>-env.json`` …); ``bench/scale_bench.py`` builds several sizes this way."""
    global DB, ENV_FILE, IDS_FILE, HOME
    DB = name
    if name != "xinyong_city_bench":
        ENV_FILE = OUT / f"{name}-env.json"
        IDS_FILE = OUT / f"{name}-ids.txt"
        HOME = OUT / f"{name}-home"


def city_env() -> dict[str, str]:
    """Environment for xinyong subprocesses against the bench city (keys created once)."""
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
    env = dict(os.environ)
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


def protect_subjects(env: dict[str, str]) -> int:
    """Real identity numbers for the generated persons: blind index and ciphertext under the
    city's keys, numbers written to IDS_FILE in subject id order."""
    for key in (
        "XINYONG_DATABASE_URL",
        "XINYONG_BLIND_INDEX_KEY",
        "XINYONG_ENCRYPTION_KEY",
        "XINYONG_AUDIT_CHAIN_KEY",
    ):
        os.environ[key] = env[key]
    from xinyong.identity.numbers import IdType, resident_id_check_char
    from xinyong.identity.protection import protector_for

    protector = protector_for()
    kind = IdType.RESIDENT_ID.value
    counters: dict[tuple[dt.date, str], int] = {}
    numbers: list[str] = []
    with psycopg.connect(f"{PG}/{DB}") as conn:
        rows = conn.execute(
            "SELECT id, birth_date, sex, region_code FROM subjects WHERE kind = 'person' "
            "ORDER BY id"
        ).fetchall()
        conn.execute(
            "CREATE TEMP TABLE ident (id bigint PRIMARY KEY, id_index varchar(32), id_cipher bytea)"
        )
        with (
            conn.cursor() as cur,
            cur.copy("COPY ident (id, id_index, id_cipher) FROM STDIN") as copy,
        ):
            for sid, birth, sex, region in rows:
                n = counters.get((birth, sex), 0)
                counters[(birth, sex)] = n + 1
                # 17th digit odd for men, even for women (GB 11643).
                seq = (n % 500) * 2 + (1 if sex == "1" else 0)
                first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
                number = first17 + resident_id_check_char(first17)
                index = protector.blind_index(kind, number)
                copy.write_row((sid, index, protector.encrypt(number, index)))
                numbers.append(number)
        conn.execute(
            "UPDATE subjects s SET id_index = i.id_index, id_cipher = i.id_cipher "
            "FROM ident i WHERE i.id = s.id"
        )
        conn.commit()
    tmp = IDS_FILE.with_suffix(".part")
    tmp.write_text("".join(n + "\n" for n in numbers), encoding="ascii")
    tmp.rename(IDS_FILE)
    print(f"wrote {len(numbers):,} identity numbers to {IDS_FILE}", flush=True)
    return len(numbers)


def add_organisations(persons: int) -> int:
    """One organisation per 50 persons, each with a legal representative and 3 records."""
    orgs = persons // 50
    with psycopg.connect(f"{PG}/{DB}") as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            """
            INSERT INTO subjects (id, kind, id_type, id_index, id_cipher, name, created_at,
                                  updated_at)
            SELECT %(p)s + i, 'organisation', '统一社会信用代码', 'org' || md5(i::text)::char(29),
                   '\\x00'::bytea, '测试企业' || i, now(), now()
            FROM generate_series(1, %(n)s::bigint) i
            """,
            {"p": persons, "n": orgs},
        )
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('subjects', 'id'), %s)", (persons + orgs,)
        )
        conn.execute(
            """
            INSERT INTO subject_links (organisation_id, person_id, role, created_at)
            SELECT %(p)s + i, 1 + (hashint8extended(i, 21) & 2147483647) %% %(p)s,
                   'legal_representative', now()
            FROM generate_series(1, %(n)s::bigint) i
            """,
            {"p": persons, "n": orgs},
        )
        slots = conn.execute("SELECT count(*) FROM bench_mix").fetchone()[0]  # type: ignore[index]
        conn.execute(
            """
            INSERT INTO records (subject_id, department_id, item_code, item_version,
                document_number, nature, decision_date, facts, grade, open_level,
                display_from, display_until, state, version, content_hash, created_at, updated_at)
            SELECT s.sid, (SELECT id FROM departments ORDER BY id LIMIT 1), m.item_code, 1,
                   'ORG' || s.sid || '-' || s.j, m.nature, s.d, '{}'::jsonb, m.grade, m.open_level,
                   s.d, CASE WHEN m.months IS NOT NULL
                             THEN (s.d + make_interval(months => m.months))::date - 1 END,
                   'active', 1, left(md5(s.sid::text || s.j), 32), now(), now()
            FROM (
                SELECT %(p)s + i AS sid, j,
                       (hashint8extended(i * 7 + j, 22) & 2147483647) %% %(slots)s AS k,
                       current_date - ((hashint8extended(i * 7 + j, 23) & 2147483647) %% 1461)::int
                           AS d
                FROM generate_series(1, %(n)s::bigint) i, generate_series(1, 3) j
            ) s JOIN bench_mix m ON m.k = s.k
            """,
            {"p": persons, "n": orgs, "slots": slots},
        )
        conn.commit()
    return orgs


def synthetic(args: argparse.Namespace, env: dict[str, str]) -> None:
    from rescore_bench import generate

    save_meta(persons=None)
    built_on = dt.date.today()
    timings = generate(DB, env, args.persons, args.records, 1_000_000)
    run(["department", "add", "SCJGJ", "市场监督管理局"], env)  # the benchmarks' API key
    start = time.perf_counter()
    timings["organisations"] = add_organisations(args.persons)
    timings["organisations_s"] = time.perf_counter() - start
    start = time.perf_counter()
    protect_subjects(env)
    timings["identity_s"] = time.perf_counter() - start
    print(f"identity numbers, blind index, ciphertext: {timings['identity_s']:.1f} s", flush=True)
    timings["rescore_s"] = run(["rescore"], env)
    timings["vacuum_s"] = vacuum()
    sizes = counts()
    with psycopg.connect(f"{PG}/{DB}") as conn:
        db_size = conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", (DB,)).fetchone()[0]  # type: ignore[index]
    save_meta(
        persons=args.persons,
        synthetic=True,
        built_on=built_on.isoformat(),
        timings=timings,
        counts=sizes,
        db_size=db_size,
    )
    print(json.dumps({"persons": args.persons, **timings, **sizes, "db_size": db_size}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=10_000_000, help="with --synthetic")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--reuse", action="store_true", help="keep an existing city")
    parser.add_argument("--synthetic", action="store_true", help="generate in SQL (fast)")
    args = parser.parse_args()
    env = city_env()
    meta = load_meta()
    if args.synthetic and not args.reuse:
        synthetic(args, env)
        return
    if args.reuse and db_exists() and meta.get("persons"):
        print(f"reusing {DB}: {meta.get('persons'):,} persons built on {meta.get('built_on')}")
        if not IDS_FILE.exists() and meta.get("synthetic"):
            protect_subjects(env)
        elif not IDS_FILE.exists():
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
