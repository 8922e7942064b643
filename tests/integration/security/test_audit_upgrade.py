"""The keyed audit chain on a real installation (the `xinyong` command, SQLite or
PostgreSQL): an installation whose chain was written in plain SHA-256 upgrades with
`xinyong init`, and the daily job's automatic anchor catches a cut-off tail."""

from __future__ import annotations

import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.integration.security.conftest import Instance
from xinyong.audit.anchors import generate_key_pair
from xinyong.audit.chain import chain
from xinyong.audit.models import AuditEvent
from xinyong.audit.services import _as_chained


def _as_before_the_upgrade(inst: Instance) -> int:
    """Rewrite the instance's chain exactly as the version before the keyed chain wrote it
    (plain SHA-256), which kept no verification checkpoints; the number of events."""
    engine = inst.engine()
    try:
        with Session(engine) as s:
            s.execute(text("DELETE FROM audit_checkpoints"))
            events = [
                _as_chained(e) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
            ]
            old = chain("0" * 64, [e.content for e in events], None)
            for c in old:
                s.execute(
                    text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                    {"p": c.prev_hash, "h": c.hash, "s": c.content.seq},
                )
            s.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": old[-1].hash})
            s.commit()
            return len(old)
    finally:
        engine.dispose()


def test_an_old_chain_upgrades_with_init_and_the_daily_anchor_catches_a_cut_tail(
    instance: Instance,
) -> None:
    inst = instance
    inst.env["XINYONG_AUDIT_SIGNING_KEY"] = generate_key_pair().private
    for _ in range(3):  # events written by the old version (each check is one)
        inst.run("audit", "verify")
    assert _as_before_the_upgrade(inst) == 3

    before = inst.run("audit", "verify", check=False)
    assert before.returncode == 3, before.stdout + before.stderr
    assert "xinyong init" in before.stdout.replace("\n", "")
    upgraded = inst.run("init")
    assert "审计链已接续" in upgraded.stdout
    assert "审计链已接续" not in inst.run("init").stdout  # once
    ok = inst.run("audit", "verify", "--json")
    assert json.loads(ok.stdout)["ok"] is True
    assert json.loads(ok.stdout)["recorded"] is True

    # The daily job signs an anchor into XINYONG_HOME/anchors by itself.
    daily = inst.run("expire")
    assert "审计锚点" in daily.stdout, daily.stdout
    [anchor] = (inst.home / "anchors").glob("anchor-*.json")
    anchored = json.loads(anchor.read_text(encoding="utf-8"))["payload"]["seq"]
    inst.run("audit", "verify")  # more events after it

    # The lying database cuts the tail from the anchored event on, and moves the head back.
    engine = inst.engine()
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": anchored})
            conn.execute(
                text("UPDATE audit_head SET seq = :s, hash = (SELECT hash FROM audit_events "
                     "WHERE seq = :s) WHERE id = 1"),
                {"s": anchored - 1},
            )  # fmt: skip
    finally:
        engine.dispose()
    cut = inst.run("audit", "verify", check=False)
    assert cut.returncode == 3, cut.stdout + cut.stderr
    assert "截断" in cut.stdout and f"第 {anchored} 号" in cut.stdout


def test_a_chain_rewritten_in_sha256_after_the_upgrade_is_caught_and_not_written_after(
    instance: Instance,
) -> None:
    """The database rewrites the whole keyed chain in plain SHA-256 (as if it had never been
    keyed): `audit verify` names it, and the platform refuses to append after it rather
    than bury it under new events."""
    inst = instance
    for _ in range(3):
        inst.run("audit", "verify")
    _as_before_the_upgrade(inst)
    caught = inst.run("audit", "verify", "--json", check=False)
    data = json.loads(caught.stdout)
    assert (caught.returncode, data["problem"], data["recorded"]) == (3, "unkeyed", False)
    refused = inst.run("audit", "events", "--limit", "1", check=False)
    assert refused.returncode != 0
    assert "审计链可能已被改写" in refused.stdout + refused.stderr
