"""Credit reports: time to issue one PDF report for a person with 50 records.

Issue "accounts and reports" part 4: report generation for a person with 50 records,
median time per PDF, target ≤ 300 ms.

On a fresh database (SQLite under ``bench/out/report-home`` or the PostgreSQL database
``xinyong_report_bench``, dropped and recreated), the schema is migrated, the default
catalog loaded, and one person is given ``--records`` records of thirteen catalog items
plus 双公示 penalties through the real import pipeline (``tests.factories.person_archive``:
validation, grading, display periods, list memberships, score). Then ``--n`` self-reports
are issued one after another, each in its own transaction, exactly as ``xinyong report``
does: load the archive, list memberships and score; assemble; render the PDF (reportlab,
embedded CJK font subset, QR code) and the HTML; hash both; store them encrypted; write the
query log; commit. The first report (font registration, catalog cache) is timed apart.
Figures: median and p95 of the whole issue, and of its parts (PDF rendering alone).

    .venv/bin/python bench/report_bench.py                 # SQLite, 50 records, 50 reports
    .venv/bin/python bench/report_bench.py --db postgresql
    .venv/bin/python bench/report_bench.py --profile       # cProfile of 20 issues
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
HOME = OUT / "report-home"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "xinyong_report_bench"
TARGET_MS = 300.0


def _environment(db: str) -> None:
    if HOME.exists():
        shutil.rmtree(HOME)
    HOME.mkdir(parents=True)
    os.environ["XINYONG_HOME"] = str(HOME)
    os.environ["XINYONG_BLIND_INDEX_KEY"] = base64.b64encode(os.urandom(32)).decode()
    os.environ["XINYONG_ENCRYPTION_KEY"] = base64.b64encode(os.urandom(32)).decode()
    os.environ["XINYONG_AUDIT_CHAIN_KEY"] = base64.b64encode(os.urandom(32)).decode()
    if db == "postgresql":
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        os.environ["XINYONG_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        os.environ.pop("XINYONG_DATABASE_URL", None)


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _rl_accel() -> bool:
    """Whether reportlab runs with its C accelerator (the rl-accel package)."""
    from reportlab.lib import rl_accel

    return "fp_str" in getattr(rl_accel, "_c_funcs", {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--n", type=int, default=50, help="reports to issue (after the first)")
    parser.add_argument("--profile", action="store_true", help="cProfile 20 issues instead")
    args = parser.parse_args()

    _environment(args.db)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session
    from tests import factories

    from xinyong import db
    from xinyong.actors import cli_operator
    from xinyong.catalog.services import load_defaults
    from xinyong.config import get_settings
    from xinyong.identity.masking import Audience
    from xinyong.identity.protection import protector_for
    from xinyong.migrate import upgrade
    from xinyong.records.models import Record
    from xinyong.reports import pdf as pdf_render
    from xinyong.reports.services import issue_report
    from xinyong.subjects.services import find_subject

    get_settings.cache_clear()
    engine = db.make_engine()
    upgrade(engine)
    with Session(engine) as session:
        load_defaults(session)
        session.commit()
    db.set_engine(engine)
    with db.transaction() as session:
        number = factories.person_archive(session, records=args.records, name="李小明")
    protector = protector_for()
    with db.transaction() as session:
        subject = find_subject(session, protector, number)
        assert subject is not None
        subject_id = subject.id
        records = session.scalar(
            select(func.count()).select_from(Record).where(Record.subject_id == subject_id)
        )

    # Time only the PDF rendering too: wrap the renderer the service calls.
    render_times: list[float] = []
    real_render = pdf_render.render_pdf

    def timed_render(content: Any) -> bytes:
        start = time.perf_counter()
        data = real_render(content)
        render_times.append(time.perf_counter() - start)
        return data

    pdf_render.render_pdf = timed_render

    cpu_times: list[float] = []

    def issue_one() -> tuple[float, int, int]:
        start, cpu = time.perf_counter(), time.process_time()
        with db.transaction() as session:
            subject = find_subject(session, protector, number)
            assert subject is not None
            issued = issue_report(
                session, cli_operator(), protector, subject, audience=Audience.SELF
            )
            size, pages = len(issued.pdf), issued.pdf.count(b"/Type /Page\n")
        cpu_times.append(time.process_time() - cpu)
        return time.perf_counter() - start, size, pages

    first, size, pages = issue_one()
    render_times.clear()
    cpu_times.clear()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20):
            issue_one()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
        return
    times = [issue_one()[0] for _ in range(args.n)]
    result = {
        "database": args.db,
        "records": records,
        "reports": args.n,
        "pdf_bytes": size,
        "pdf_pages": pages,
        "first_report_ms": round(first * 1000, 1),
        "issue": _ms(times),
        # CPU time of this process: what a shared, noisy machine disturbs least.
        "issue_cpu": _ms(cpu_times),
        "pdf_render": _ms(render_times),
        "target_median_ms": TARGET_MS,
        "target_met": statistics.median(times) * 1000 <= TARGET_MS,
        "rl_accel": _rl_accel(),
        "load_average": os.getloadavg(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"report_bench-{args.db}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
