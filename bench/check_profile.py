"""Where one 联合奖惩核查 spends its time, in-process against the bench city.

Runs ``run_check`` (the API's handler body, with API-key authentication like the endpoint)
N times for random persons of the city, times every SQL statement (client-side wall clock
and ``EXPLAIN (ANALYZE)`` of the slowest), and prints a cProfile of the loop.

    .venv/bin/python bench/check_profile.py --n 300
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from city import IDS_FILE, city_env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--key", help="a department API key (default: issue one)")
    args = parser.parse_args()
    os.environ.update(city_env())

    from sqlalchemy import event

    from xinyong.accounts.models import KeyRole
    from xinyong.accounts.services import authenticate_api_key, issue_api_key
    from xinyong.catalog.services import get_department
    from xinyong.db import session_factory
    from xinyong.identity.protection import protector_for
    from xinyong.measures.services import run_check

    factory = session_factory()
    with factory() as session:
        secret = args.key or issue_api_key(
            session, KeyRole.DEPARTMENT, "profile", get_department(session, "SCJGJ")
        )
        session.commit()
        engine = session.get_bind()
    stats: dict[str, list[float]] = collections.defaultdict(list)
    params_of: dict[str, object] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        stats[statement].append(time.perf_counter() - conn.info["t0"])
        params_of[statement] = parameters

    ids = IDS_FILE.read_text(encoding="ascii").split()
    rng = random.Random(3)
    protector = protector_for()

    def one(i: int) -> str:
        with factory() as session:
            actor = authenticate_api_key(session, secret)
            result = run_check(
                session,
                actor,
                protector,
                id_number=rng.choice(ids),
                scenario="ADMIN_LICENSING",
                operator="profile",
                business_ref=f"P-{i}",
            )
            session.commit()
            return result.verdict

    for i in range(20):
        one(i)
    stats.clear()
    prof = cProfile.Profile()
    verdicts: collections.Counter[str] = collections.Counter()
    start = time.perf_counter()
    prof.enable()
    for i in range(args.n):
        verdicts[one(i)] += 1
    prof.disable()
    wall = time.perf_counter() - start
    print(
        f"{args.n} checks in {wall:.2f} s: {1000 * wall / args.n:.2f} ms per check; {dict(verdicts)}"
    )
    sql_total = sum(sum(v) for v in stats.values())
    print(
        f"SQL round trips: {sum(len(v) for v in stats.values()) / args.n:.1f} per check, "
        f"{1000 * sql_total / args.n:.2f} ms per check (client-side wall)\n"
    )
    rows = sorted(stats.items(), key=lambda kv: -sum(kv[1]))
    for statement, times in rows[:15]:
        times.sort()
        print(
            f"{1000 * sum(times) / args.n:7.2f} ms/check  n={len(times) / args.n:4.1f}/check  "
            f"p50 {1000 * times[len(times) // 2]:6.2f} ms  max {1000 * times[-1]:7.2f} ms  "
            f"{' '.join(statement.split())[:230]}"
        )
    # The plan of the slowest statement, with its last parameters.
    slow, _ = rows[0]
    if slow.lstrip().upper().startswith("SELECT"):
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            cur = raw.cursor()  # type: ignore[union-attr]
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + slow, params_of[slow])
            print("\nEXPLAIN ANALYZE of the slowest statement:")
            for (line,) in cur.fetchall():
                print("   ", line)
    print()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    pstats.Stats(prof).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
