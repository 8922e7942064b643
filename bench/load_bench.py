"""A large upload under a mix of reads and small submissions, against the production server.

In one run (issue 20 §1): starts the production server (``xinyong serve``, uvicorn with
``--workers 2`` and the job runner in each worker, as the README's ``serve``) on a
temporary SQLite database, or with ``--db postgresql+psycopg://postgres@127.0.0.1:5432/<db>``
on PostgreSQL (that database is dropped and created again; its name must contain
``bench``). Before the load, a seed submission of a few hundred penalty rows gives the
reads people to ask about. Then, at once:

- one upload: a 双公示 penalty CSV of ``--upload-mb`` MB (default 200; generated once and
  kept in ``bench/out``) through ``POST /api/v1/submissions`` (multipart, answered 202),
  its job then polled at ``status_url`` until done;
- ``--threads`` client threads (httpx, default 4) sharing ``--requests`` requests
  (default 1,000), each thread pausing ``--think-ms`` between two: the 联合奖惩 check API,
  a subject's archive (lookup and archive), the audit chain check
  (``GET /api/v1/audit/verification``), portal pages (``/``, ``/disclosures``,
  ``/guides``), and small JSON submissions (``--submission-rows`` rows each).

Reports, as a markdown table: per kind of request the count, 503s (系统繁忙, with
Retry-After, answered instead of waiting on the write lock), other 5xx (target 0), other
failures, p50 and p99; the upload's time to 202 and its job's time to completion; writes
``bench/out/load_bench-{sqlite|postgresql}.json``.

    .venv/bin/python bench/load_bench.py [--upload-mb 200] [--db URL] [--requests 1000]

Only time it on a quiet machine; ``--upload-mb 5`` checks that it runs.
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from faker import Faker

from xinyong.demo import (
    DEMO_DEPARTMENTS,
    SGS_PENALTY_HEADERS,
    DemoPerson,
    credit_code_for,
    make_people,
    penalty_rows,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
XINYONG = Path(sys.executable).parent / "xinyong"
HOST = "127.0.0.1"
SEED = 2026
DEPARTMENTS = 10
SEED_PEOPLE = 300
SCENARIO = "ADMIN_LICENSING"
FINISHED = {"done", "failed", "interrupted"}
KINDS = ("check", "archive", "audit", "portal", "submission")
WEIGHTS = (40, 25, 5, 20, 10)  # per cent of the mix


def departments() -> list[tuple[str, str, str]]:
    """(code, name, credit code) of the departments the rows come from."""
    return [
        (code, name, credit_code_for(SEED * 100 + i))
        for i, (code, name, _) in enumerate(DEMO_DEPARTMENTS[:DEPARTMENTS])
    ]


def _depts() -> list[tuple[str, str]]:
    return [(name, credit) for _, name, credit in departments()]


def generate(megabytes: int) -> Path:
    """A penalty CSV of about ``megabytes`` MB (UTF-8), written once and kept."""
    path = OUT / f"load-penalties-{megabytes}mb.csv"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rng = random.Random(SEED)
    fake = Faker("zh_CN")
    fake.seed_instance(SEED)
    today = dt.date.today()
    sample = list(penalty_rows(make_people(50, rng, fake, today), [], 200, rng, today, _depts()))
    per_row = sum(len(",".join(r).encode()) + 2 for r in sample) / len(sample)
    rows = max(100, int(megabytes * 1_000_000 / per_row))
    people = make_people(max(1_000, rows // 4), rng, fake, today)
    orgs = [
        (fake.company(), credit_code_for(9_000_000 + k), rng.choice(people))
        for k in range(max(10, rows // 40))
    ]
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SGS_PENALTY_HEADERS)
        writer.writerows(penalty_rows(people, orgs, rows, rng, today, _depts()))
    tmp.rename(path)
    print(
        f"generated {path.name}: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB "
        f"in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    return path


# ---------------------------------------------------------------------------- set-up


def environment(db: str | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_HOME"] = str(home)
    env["XINYONG_LOG_LEVEL"] = "warning"
    env["COLUMNS"] = "500"
    if db:
        env["XINYONG_DATABASE_URL"] = db
        for name in ("BLIND_INDEX_KEY", "ENCRYPTION_KEY", "AUDIT_CHAIN_KEY"):
            env[f"XINYONG_{name}"] = base64.b64encode(secrets.token_bytes(32)).decode()
    return env


def fresh_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"--db: the database is dropped first; its name must contain 'bench' ({name!r})")  # fmt: skip
    server = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


SETUP = """
import sys
from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import issue_api_key
from xinyong.catalog.services import add_department
from xinyong.cli.setup import initialize
from xinyong.db import session_factory

initialize()
with session_factory()() as session:
    for line in sys.argv[1:]:
        code, name, credit = line.split("|")
        add_department(session, code, name, credit, "government")
    print(issue_api_key(session, KeyRole.ADMIN, "压测"))
    session.commit()
"""


def prepare(env: dict[str, str]) -> str:
    """``xinyong init``, the departments, an admin API key (returned): one process."""
    Path(env["XINYONG_HOME"]).mkdir(parents=True, exist_ok=True)
    depts = ["|".join(d) for d in departments()]
    proc = subprocess.run(
        [sys.executable, "-c", SETUP, *depts], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"set-up failed: {proc.stdout}{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1]


SERVER_LOG = OUT / "load_bench-server.log"


def server_log_tail(lines: int = 20) -> str:
    text = SERVER_LOG.read_text(encoding="utf-8", errors="replace") if SERVER_LOG.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    # The server's log goes to a file: a pipe nobody reads would fill and block the workers.
    with SERVER_LOG.open("wb") as log:
        server = subprocess.Popen(
            [str(XINYONG), "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 300  # a loaded machine starts slowly
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}:\n{server_log_tail()}")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(server)
    raise SystemExit("server did not become healthy")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def rows_as_json(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(SGS_PENALTY_HEADERS, r, strict=True)) for r in rows]


def seed_people(client: httpx.Client) -> list[DemoPerson]:
    """People with records, submitted before the load: the reads ask about them (only
    those a seed row names: a person drawn for no row has no archive to read)."""
    rng = random.Random(SEED + 1)
    fake = Faker("zh_CN")
    fake.seed_instance(SEED + 1)
    today = dt.date.today()
    people = make_people(SEED_PEOPLE, rng, fake, today)
    rows = list(
        penalty_rows(people, [], 2 * SEED_PEOPLE, rng, today, _depts(), start_serial=5_000_000)
    )
    resp = client.post("/api/v1/submissions", json={"rows": rows_as_json(rows)}, timeout=300)
    resp.raise_for_status()
    body = resp.json()
    print(
        f"seed submission: {body['accepted']} rows accepted, {body['rejected']} rejected",
        flush=True,
    )
    named = {str(cell) for row in rows for cell in row}
    return [person for person in people if person.number in named]


# ---------------------------------------------------------------------------- the load


@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (timeout, connection error)
    seconds: float
    started: float  # monotonic


@dataclass
class Upload:
    megabytes: float = 0.0
    post_status: int = 0
    post_seconds: float = 0.0
    started: float = 0.0
    accepted_at: float = 0.0
    finished_at: float = 0.0
    retries_503: int = 0
    batch: dict[str, Any] = field(default_factory=dict)


def upload(base: str, key: str, path: Path, out: Upload, poll: float, timeout: float) -> None:
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, headers=headers, timeout=httpx.Timeout(3600)) as client:
        out.megabytes = path.stat().st_size / 1e6
        out.started = time.monotonic()
        while True:
            with path.open("rb") as fh:
                resp = client.post("/api/v1/submissions", files={"file": (path.name, fh, "text/csv")})  # fmt: skip
            if resp.status_code != 503 or out.retries_503 >= 20:
                break
            out.retries_503 += 1
            time.sleep(float(resp.headers.get("Retry-After", "1")))
        out.post_status = resp.status_code
        out.accepted_at = time.monotonic()
        out.post_seconds = out.accepted_at - out.started
        if resp.status_code != 202:
            out.batch = {"status": "refused", "body": resp.text[:500]}
            out.finished_at = out.accepted_at
            return
        status_url = resp.json()["status_url"]
        print(f"upload answered {resp.status_code} after {out.post_seconds:.1f} s", flush=True)
        deadline, said = out.accepted_at + timeout, 0.0
        while time.monotonic() < deadline:
            time.sleep(poll)
            try:
                got = client.get(status_url, timeout=60)
            except httpx.HTTPError:
                continue
            if got.status_code != 200:
                continue  # a 503 while the job holds the write lock: ask again
            out.batch = got.json()
            if out.batch["status"] in FINISHED:
                break
            if time.monotonic() - said > 15:
                said = time.monotonic()
                print(f"  job {out.batch['status']}: {out.batch['total_rows']:,} rows", flush=True)
        out.finished_at = time.monotonic()


class Mix:
    """The reads and small submissions, shared out among the client threads."""

    def __init__(self, base: str, key: str, people: list[DemoPerson], args: argparse.Namespace):
        self.base, self.key, self.people, self.args = base, key, people, args
        rng = random.Random(SEED + 2)
        self.plan = rng.choices(KINDS, weights=WEIGHTS, k=args.requests)
        self.next = 0
        self.lock = threading.Lock()
        self.samples: list[Sample] = []
        self.subject_ids: dict[str, int] = {}
        self.serial = 6_000_000

    def take(self) -> str | None:
        with self.lock:
            if self.next >= len(self.plan):
                return None
            self.next += 1
            return self.plan[self.next - 1]

    def run(self, n: int) -> None:
        rng = random.Random(SEED + 100 + n)
        headers = {"X-API-Key": self.key}
        with httpx.Client(base_url=self.base, headers=headers, timeout=120) as client:
            while (kind := self.take()) is not None:
                started = time.monotonic()
                try:
                    status = getattr(self, f"_{kind}")(client, rng)
                except httpx.HTTPError:
                    status = 0
                with self.lock:
                    self.samples.append(Sample(kind, status, time.monotonic() - started, started))
                time.sleep(self.args.think_ms / 1000)

    def _check(self, client: httpx.Client, rng: random.Random) -> int:
        person = rng.choice(self.people)
        body = {"id_number": person.number, "scenario": SCENARIO, "operator": "压测",
                "business_ref": f"LOAD-{rng.randrange(10**9)}"}  # fmt: skip
        return client.post("/api/v1/checks", json=body).status_code

    def _archive(self, client: httpx.Client, rng: random.Random) -> int:
        person = rng.choice(self.people)
        subject = self.subject_ids.get(person.number)
        if subject is None:
            found = client.post("/api/v1/subjects/lookup", json={"id_number": person.number})
            if found.status_code != 200:
                return found.status_code
            subject = self.subject_ids[person.number] = int(found.json()["id"])
        params = {"purpose": "行政许可审查", "reference": f"LOAD-{rng.randrange(10**9)}"}
        return client.get(f"/api/v1/subjects/{subject}/archive", params=params).status_code

    def _audit(self, client: httpx.Client, rng: random.Random) -> int:
        return client.get("/api/v1/audit/verification").status_code

    def _portal(self, client: httpx.Client, rng: random.Random) -> int:
        # The public reads the portal without a credential (an API key would make the
        # request one that records what it reads, which waits for SQLite's write lock).
        path = rng.choice(("/", "/disclosures", "/guides"))
        return httpx.get(self.base + path, timeout=120).status_code

    def _submission(self, client: httpx.Client, rng: random.Random) -> int:
        with self.lock:
            serial, self.serial = self.serial, self.serial + self.args.submission_rows
        today = dt.date.today()
        rows = list(penalty_rows(self.people, [], self.args.submission_rows, rng, today, _depts(), start_serial=serial))  # fmt: skip
        return client.post("/api/v1/submissions", json={"rows": rows_as_json(rows)}).status_code


# ---------------------------------------------------------------------------- report


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def summarise(samples: list[Sample]) -> dict[str, Any]:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append(s)
    by_kind["all"] = list(samples)
    out = {}
    for kind in (*KINDS, "all"):
        group = by_kind.get(kind, [])
        ok = [s.seconds for s in group if 200 <= s.status < 300]
        codes = [s.status for s in group]
        out[kind] = {
            "requests": len(group),
            "ok": len(ok),
            "status_503": sum(s.status == 503 for s in group),
            "status_5xx_other": sum(s.status >= 500 and s.status != 503 for s in group),
            "other_failures": sum(s.status < 200 or 300 <= s.status < 500 for s in group),
            "statuses": {str(c): codes.count(c) for c in sorted(set(codes))},
            "p50_ms": round(quantile(ok, 0.50) * 1000, 1),
            "p99_ms": round(quantile(ok, 0.99) * 1000, 1),
            "mean_ms": round(statistics.fmean(ok) * 1000, 1) if ok else 0.0,
        }
    return out


def print_table(report: dict[str, Any]) -> None:
    up = report["upload"]
    print()
    print(f"### {report['database']}: {up['megabytes']:.0f} MB upload + {report['requests']:,} requests "
          f"({report['threads']} threads, {report['workers']} workers)")  # fmt: skip
    print()
    print("| requests | n | 2xx | 503 | other 5xx | other failures | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, s in report["mix"].items():
        name = "**all**" if kind == "all" else kind
        print(f"| {name} | {s['requests']} | {s['ok']} | {s['status_503']} | {s['status_5xx_other']} "
              f"| {s['other_failures']} | {s['p50_ms']} | {s['p99_ms']} |")  # fmt: skip
    print()
    print("| upload | value |")
    print("|---|---|")
    print(f"| file | {up['megabytes']:.1f} MB, {up['rows']:,} rows |")
    print(f"| POST answered | {up['post_status']} in {up['post_seconds']:.1f} s (503 retries: {up['retries_503']}) |")  # fmt: skip
    stuck = "" if up["status"] in FINISHED else " (not finished within --job-timeout)"
    print(f"| job | {up['status']}{stuck}: accepted {up['accepted']:,}, rejected {up['rejected']:,} |")  # fmt: skip
    print(f"| job done after the 202 | {up['job_seconds']:.1f} s |")
    print(f"| upload start to job done | {up['total_seconds']:.1f} s |")
    print(f"| mix requests during upload + job | {report['overlap']} of {report['requests']} |")
    print(f"| server workers restarted | {report['worker_restarts']} |")
    print()
    verdict = "met" if report["mix"]["all"]["status_5xx_other"] == 0 else "NOT met"
    print(f"Target 0 non-503 5xx: {verdict}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upload-mb", type=int, default=200)
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: temporary SQLite)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--think-ms", type=float, default=20.0)
    parser.add_argument("--submission-rows", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between status polls")
    parser.add_argument("--job-timeout", type=float, default=7200, help="give up on the job after")
    args = parser.parse_args()
    # Stopped from outside: still stop the server and remove the temporary home.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    path = generate(args.upload_mb)
    with path.open(encoding="utf-8") as fh:
        rows = sum(1 for _ in fh) - 1
    home = Path(tempfile.mkdtemp(prefix="xinyong-load-bench-"))
    if args.db:
        fresh_database(args.db)
    env = environment(args.db, home)
    base = f"http://{HOST}:{args.port}"
    try:
        key = prepare(env)
        server = start_server(env, args.port, args.workers)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    print(f"server up on {base} ({args.workers} workers); log: {SERVER_LOG}", flush=True)
    try:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}) as client:
            people = seed_people(client)
        up = Upload()
        mix = Mix(base, key, people, args)
        uploader = threading.Thread(
            target=upload, args=(base, key, path, up, args.poll, args.job_timeout)
        )
        threads = [threading.Thread(target=mix.run, args=(n,)) for n in range(args.threads)]
        uploader.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"mix done: {len(mix.samples)} requests", flush=True)
        uploader.join()
    finally:
        stop_server(server)
        shutil.rmtree(home, ignore_errors=True)
    batch = up.batch
    report = {
        "database": "PostgreSQL" if args.db else "SQLite",
        "requests": args.requests,
        "threads": args.threads,
        "workers": args.workers,
        "think_ms": args.think_ms,
        "mix": summarise(mix.samples),
        # uvicorn replaces a worker that stops answering its health check: a job it ran is
        # left 运行中 until its heartbeat goes stale.
        "worker_restarts": SERVER_LOG.read_text(encoding="utf-8", errors="replace").count("died"),
        "overlap": sum(up.started <= s.started <= up.finished_at for s in mix.samples),
        "upload": {
            "megabytes": up.megabytes,
            "rows": rows,
            "post_status": up.post_status,
            "post_seconds": round(up.post_seconds, 2),
            "retries_503": up.retries_503,
            "status": batch.get("status"),
            "accepted": batch.get("accepted", 0),
            "rejected": batch.get("rejected", 0),
            "failure": batch.get("failure"),
            "job_seconds": round(up.finished_at - up.accepted_at, 2),
            "total_seconds": round(up.finished_at - up.started, 2),
        },
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "cpus": os.cpu_count(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    name = "postgresql" if args.db else "sqlite"
    (OUT / f"load_bench-{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")  # fmt: skip
    print_table(report)


if __name__ == "__main__":
    main()
