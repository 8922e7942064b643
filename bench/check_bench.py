"""联合奖惩核查 API under load against the app's own constant endpoint, in one run.

Against the PostgreSQL city built by ``bench/city.py``: starts the production server
(``xinyong serve --host 127.0.0.1 --port 8099 --workers 2``), issues a department API key
(``xinyong apikey create --department SCJGJ``), then loads with ``wrk`` (-t2, 32
connections, 30 s each): (a) ``GET /healthz`` (constant JSON), (b) ``POST /api/v1/checks``
with a random person of the city per request. Prints requests/s, p50/p99, errors, the ratio
and the CPU used by the server workers, the city's PostgreSQL backends and wrk; writes
``bench/out/check_bench-wN.json`` (N workers). ``--profile`` adds a third check run with py-spy recording
one worker (``bench/out/check-profile.{svg,txt}``), not counted in the figures.

    .venv/bin/python bench/check_bench.py [--duration 30] [--connections 32] [--profile]

Targets (issue "joint reward and punishment"): check throughput ≥ 50 % of the constant
endpoint's, p99 ≤ 25 ms, zero errors.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from city import IDS_FILE, OUT, XINYONG, city_env, load_meta

HOST = "127.0.0.1"
PORT = 8099
BASE = f"http://{HOST}:{PORT}"
SAMPLE_FILE = OUT / "city-ids-sample.txt"
SCENARIO = "ADMIN_LICENSING"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Shared by both runs: per-thread status counts and a machine-readable summary line.
LUA_COMMON = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do codes[code] = (codes[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(codes) do table.insert(parts, string.format('"%d":%d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ",")))
end
"""

LUA_HEALTHZ = LUA_COMMON

LUA_CHECK = (
    LUA_COMMON
    + r"""
local requests = {}
local n = 0
local k = 0
-- The requests are formatted once, at start-up (PREFORMAT per thread, persons drawn at
-- random from the file's first LIMIT), so that making a request costs wrk about what the
-- constant endpoint's fixed request costs it: the load generator shares the two cores.
function init(args)
  local limit = tonumber(args[2]) or 100000
  local ids = {}
  local m = 0
  for line in io.lines(args[1]) do
    m = m + 1
    ids[m] = line
    if m >= limit then break end
  end
  math.randomseed(os.time() * 100 + (tid or 0))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[3]
  for i = 1, PREFORMAT do
    local body = '{"id_number":"' .. ids[math.random(m)] ..
      '","scenario":"SCENARIO","operator":"wrk 压测","business_ref":"WRK-' ..
      (tid or 0) .. '-' .. i .. '"}'
    requests[i] = wrk.format(nil, nil, nil, body)
  end
  n = PREFORMAT
end
function request()
  k = k % n + 1
  return requests[k]
end
""".replace("SCENARIO", SCENARIO).replace("PREFORMAT", "50000")
)


# ---------------------------------------------------------------------------- processes


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def machine_ticks() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def city_backends(db: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            line = cmdline(int(entry.name))
            if line.startswith("postgres: ") and f" {db} " in line:
                pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU seconds used per group of processes between start() and stop()."""

    def __init__(self, groups: dict[str, callable]) -> None:  # type: ignore[valid-type]
        self.groups = groups

    def snapshot(self) -> tuple[dict[str, dict[int, int]], tuple[int, int], float]:
        return (
            {name: {pid: cpu_ticks(pid) for pid in find()} for name, find in self.groups.items()},
            machine_ticks(),
            time.monotonic(),
        )

    def start(self) -> None:
        self.begin = self.snapshot()

    def stop(self, extra: dict[str, list[int]] | None = None) -> dict[str, float]:
        end = self.snapshot()
        wall = end[2] - self.begin[2]
        result: dict[str, float] = {}
        for name, pids in end[0].items():
            before = self.begin[0].get(name, {})
            used = sum(t - before.get(pid, 0) for pid, t in pids.items())
            result[f"{name}_cores"] = round(used / CLK_TCK / wall, 2)
        busy = (end[1][0] - self.begin[1][0]) / CLK_TCK / wall
        result["machine_busy_cores"] = round(busy, 2)
        return result


# ---------------------------------------------------------------------------- server


def wait_healthy(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{BASE}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("server did not become healthy")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def api_key(env: dict[str, str]) -> str:
    proc = subprocess.run(
        [str(XINYONG), "apikey", "create", "--department", "SCJGJ", "--label", "wrk 压测"],
        env={**env, "COLUMNS": "500"},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip().splitlines()[-1].strip()


def sample_ids(limit: int) -> Path:
    ids = IDS_FILE.read_text(encoding="ascii").split()
    pick = random.Random(7).sample(ids, min(limit, len(ids)))
    SAMPLE_FILE.write_text("\n".join(pick) + "\n", encoding="ascii")
    return SAMPLE_FILE


# ---------------------------------------------------------------------------- wrk


def run_wrk(
    name: str,
    url: str,
    script: str,
    args: list[str],
    duration: int,
    connections: int,
    meter: CpuMeter,
) -> dict[str, object]:
    lua = OUT / f"wrk-{name}.lua"
    lua.write_text(script, encoding="utf-8")
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(lua),
        url,
    ]
    if args:
        cmd += ["--", *args]
    printable = " ".join(cmd[: -len(args) - 1] if args else cmd)
    print(f"\n$ {printable}{' -- IDS N KEY' if args else ''}", flush=True)
    meter.start()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    meter.groups["wrk"] = lambda: [proc.pid]
    meter.begin[0]["wrk"] = {proc.pid: 0}
    # Take the CPU snapshot just before wrk exits (its ticks vanish with it).
    time.sleep(duration - 0.5)
    cpu = meter.stop()
    out, err = proc.communicate()
    del meter.groups["wrk"]
    for line in out.splitlines():
        if not line.startswith("WRKJSON"):
            print("   ", line)
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}): {err}")
    found = re.search(r"^WRKJSON (.*)$", out, re.M)
    assert found, out
    data = json.loads(found.group(1))
    seconds = data["duration_us"] / 1e6
    errors = data["errors"]
    non_2xx = sum(n for code, n in data["statuses"].items() if not 200 <= int(code) < 300)
    result = {
        "requests": data["requests"],
        "seconds": round(seconds, 2),
        "rps": round(data["requests"] / seconds, 1),
        "p50_ms": data["p50_us"] / 1000,
        "p90_ms": data["p90_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "p999_ms": data["p999_us"] / 1000,
        "max_ms": data["max_us"] / 1000,
        "statuses": data["statuses"],
        "non_2xx": non_2xx,
        "socket_errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        "errors_detail": errors,
        "cpu": cpu,
    }
    print(
        f"  {name}: {result['rps']:,.0f} req/s, p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms, non-2xx {non_2xx}, socket errors "
        f"{result['socket_errors']}, CPU {cpu}",
        flush=True,
    )
    return result


def collapse_profile(raw: Path, top: int = 25) -> str:
    """Self and inclusive sample shares per function from py-spy's raw (collapsed) output."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [re.sub(r" \((.*?):\d+\)$", r" (\1)", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    lines = [f"{total} samples", "", "self %  function"]
    lines += [f"{100 * n / total:6.1f}  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive %  function"]
    lines += [f"{100 * n / total:6.1f}  {f}" for f, n in incl.most_common(top * 2)]
    return "\n".join(lines)


def profile(worker: int, url: str, args: list[str], duration: int, connections: int) -> None:
    """py-spy on one worker while wrk loads the check endpoint: collapsed stacks summarised
    as text, then a shorter run for a flame graph."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("py-spy not installed in the venv; skipping the profile")
        return
    lua = OUT / "wrk-check.lua"
    raw = OUT / "check-profile.raw"
    for fmt, target, seconds in (("raw", raw, duration), ("flamegraph", OUT / "check.svg", 10)):
        wrk = subprocess.Popen(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds + 3}s",
                "-s",
                str(lua),
                url,
                "--",
                *args,
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(1.5)
        spied = subprocess.run(
            [
                str(spy),
                "record",
                "-d",
                str(seconds),
                "--pid",
                str(worker),
                "--nonblocking",
                "--gil",
                "-f",
                fmt,
                "-o",
                str(target),
            ],
            capture_output=True,
            text=True,
        )
        wrk.wait()
        if spied.returncode != 0:
            print(f"py-spy failed ({spied.returncode}): {spied.stderr[-800:]}")
            return
    text = collapse_profile(raw)
    (OUT / "check-profile.txt").write_text(text, encoding="utf-8")
    print(f"\nprofile of worker {worker} ({raw}, flame graph bench/out/check.svg):")
    print("\n".join(text.splitlines()[:30]))


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--ids", type=int, default=1_000_000, help="identity numbers loaded in wrk (random sample)"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy one worker afterwards")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    env = city_env()
    meta = load_meta()
    if not meta.get("persons") or not IDS_FILE.exists():
        raise SystemExit("no city: run bench/city.py first")
    ids = sample_ids(args.ids)
    key = api_key(env)
    from city import DB

    server = subprocess.Popen(
        [
            str(XINYONG),
            "serve",
            "--host",
            HOST,
            "--port",
            str(PORT),
            "--workers",
            str(args.workers),
        ],
        env=env,
        start_new_session=True,
    )
    try:
        wait_healthy(server)
        time.sleep(1)
        workers = [p for p in children(server.pid) if "spawn_main" in cmdline(p)]
        print(f"server pid {server.pid}, workers {workers}")
        # One check by hand: the endpoint answers and the key works.
        body = json.dumps(
            {
                "id_number": ids.read_text().split()[0],
                "scenario": SCENARIO,
                "operator": "wrk 压测",
                "business_ref": "WARMUP",
            }
        ).encode()
        req = urllib.request.Request(
            f"{BASE}/api/v1/checks",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            sample = json.loads(resp.read())
        print("sample check:", json.dumps(sample, ensure_ascii=False)[:300])
        meter = CpuMeter(
            {
                "server_workers": lambda: workers,
                "postgres_city": lambda: city_backends(DB),
            }
        )
        # A short warm-up of each endpoint (connections, pools, caches), not counted.
        check_args = [str(ids), str(args.ids), key]
        for path, script, extra in (
            ("/healthz", LUA_HEALTHZ, []),
            ("/api/v1/checks", LUA_CHECK, check_args),
        ):
            lua = OUT / "wrk-warmup.lua"
            lua.write_text(script, encoding="utf-8")
            subprocess.run(
                [
                    "wrk",
                    "-t2",
                    f"-c{args.connections}",
                    "-d5s",
                    "-s",
                    str(lua),
                    BASE + path,
                    *(["--", *extra] if extra else []),
                ],
                check=True,
                capture_output=True,
            )
        top = subprocess.run(["top", "-bn1"], capture_output=True, text=True).stdout
        print("\n".join(top.splitlines()[:12]))
        constant = run_wrk(
            "healthz", f"{BASE}/healthz", LUA_HEALTHZ, [], args.duration, args.connections, meter
        )
        check = run_wrk(
            "check",
            f"{BASE}/api/v1/checks",
            LUA_CHECK,
            check_args,
            args.duration,
            args.connections,
            meter,
        )
        ratio = check["rps"] / constant["rps"]  # type: ignore[operator]
        ok = (
            ratio >= 0.5
            and check["p99_ms"] <= 25  # type: ignore[operator]
            and check["non_2xx"] == 0
            and check["socket_errors"] == 0
        )
        result = {
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "persons": meta.get("persons"),
            "city_counts": meta.get("counts"),
            "workers": args.workers,
            "connections": args.connections,
            "duration_s": args.duration,
            "scenario": SCENARIO,
            "ids_in_wrk": min(args.ids, len(ids.read_text().split())),
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
            ).stdout.strip(),
            "healthz": constant,
            "check": check,
            "ratio": round(ratio, 3),
            "targets_met": ok,
            "top_before": top.splitlines()[:12],
        }
        (OUT / f"check_bench-w{args.workers}.json").write_text(
            json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        print(
            f"\nhealthz {constant['rps']:,.0f} req/s | check {check['rps']:,.0f} req/s | "
            f"ratio {ratio:.3f} (target ≥ 0.5) | check p99 {check['p99_ms']:.1f} ms "
            f"(target ≤ 25) | errors {check['non_2xx']} non-2xx, {check['socket_errors']} socket "
            f"| {'MET' if ok else 'NOT MET'}"
        )
        if args.profile and workers:
            profile(workers[0], f"{BASE}/api/v1/checks", check_args, 20, args.connections)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
