"""Crash safety: kill -9 the importer in the middle of a large file, run it again — no
duplicate, no partial chunk, counts exact, audit chain intact."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.integration.security.conftest import Instance, identity_numbers, penalty_csv

ROWS = 60_000  # twelve chunks of 5,000


@pytest.mark.slow
def test_kill_9_mid_import_then_rerun(instance: Instance, tmp_path: Path) -> None:
    path = penalty_csv(tmp_path / "big.csv", identity_numbers(ROWS))
    proc = instance.popen("import", str(path), "--department", "SECDEPT", "--json")
    deadline = time.monotonic() + 120
    committed = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            committed = instance.scalar("SELECT count(*) FROM records") or 0
            if committed >= 10_000:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the import finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    after_crash = instance.scalar("SELECT count(*) FROM records")
    assert 0 < after_crash < ROWS
    assert after_crash % 5000 == 0  # whole chunks only: nothing half-written
    merged = instance.scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'records:submission:merged'"
    )
    assert merged * 5000 == after_crash  # each committed chunk left its event, and only those

    again = instance.run("import", str(path), "--department", "SECDEPT", "--json")
    assert '"accepted": 60000' in again.stdout
    assert instance.scalar("SELECT count(*) FROM records") == ROWS
    assert (
        instance.scalar(
            "SELECT count(*) FROM (SELECT DISTINCT department_id, item_code, document_number, "
            "subject_id FROM records) AS keys"
        )
        == ROWS
    )
    assert instance.scalar("SELECT count(*) FROM subjects") == ROWS
    assert instance.scalar("SELECT max(version) FROM records") == 1  # reruns change nothing
    assert instance.scalar("SELECT count(*) FROM record_versions") == 0
    verified = instance.run("audit", "verify", "--json")
    assert '"ok": true' in verified.stdout
