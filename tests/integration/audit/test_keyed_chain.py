"""The keyed chain against a lying database (SQLite and PostgreSQL): an insertion named by
``xinyong audit verify``, the upgrade from the plain SHA-256 chain, key rotation, and the
automatic anchors that catch a cut-off tail."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.integration.audit.test_trail import CLERK, _rewrite_everything, _shift, append
from xinyong.actors import SYSTEM, Actor, Role
from xinyong.audit.anchors import generate_key_pair
from xinyong.audit.chain import chain
from xinyong.audit.models import AuditEvent
from xinyong.audit.services import (
    _as_chained,
    chain_key,
    head_of,
    record_event,
    seal_legacy_chain,
    verify,
)
from xinyong.cli.main import app
from xinyong.config import get_settings

runner = CliRunner()


@pytest.fixture()
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes that the settings (and the chain keys) pick up."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _insert_forged(session: Session, target: int, key: bytes | None) -> None:
    """Put a forged event at ``target``, its followers renumbered (one up), as a database
    superuser can; the forger hashes it with ``key`` (not the chain's)."""
    previous = session.get(AuditEvent, target - 1)
    assert previous is not None
    _shift(session, target, +1)
    content = dataclasses.replace(_as_chained(previous).content, seq=target, actor="user:forger")
    forged = chain(previous.hash, [content], key)[0]
    session.execute(
        text(
            "INSERT INTO audit_events (seq, occurred_at, action, actor, role, organisation, "
            "channel, target_type, target_id, purpose, basis, details, prev_hash, hash) "
            "SELECT :seq, occurred_at, action, :actor, role, organisation, channel, "
            "target_type, target_id, purpose, basis, details, :prev, :hash "
            "FROM audit_events WHERE seq = :copy"
        ),
        {"seq": target, "actor": "user:forger", "prev": previous.hash, "hash": forged.hash,
         "copy": target - 1},
    )  # fmt: skip


@pytest.mark.parametrize("forger_key", [None, b"k" * 32], ids=["sha256", "wrong-key"])
def test_cli_names_an_inserted_event_and_exits_3(
    session: Session, forger_key: bytes | None
) -> None:
    """Issue 17 §5: on SQLite the verification's own event used to hit the unique seq and
    the command ended in 内部错误 with exit 1."""
    first = append(session, 10)
    target = first + 4
    _insert_forged(session, target, forger_key)
    session.commit()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 3, result.output
    assert "事件被插入" in result.output and f"第 {target} 号事件" in result.output
    assert "内部错误" not in result.output and "未能记入" not in result.output
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    data = json.loads(as_json.output)
    assert (as_json.exit_code, data["problem"], data["first_bad_seq"]) == (3, "inserted", target)
    assert data["recorded"] is True
    # The verification itself is in the trail, after the forged rows.
    last = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert last is not None and last.action == "audit:chain:verified"


def test_reordered_keyed_events_are_named(session: Session) -> None:
    first = append(session, 6)
    a, b = first + 2, first + 3
    session.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = :a"), {"a": a})
    session.execute(text("UPDATE audit_events SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
    session.execute(text("UPDATE audit_events SET seq = :b WHERE seq = -1"), {"b": b})
    result = verify(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, a, "reordered")


# --- the upgrade from the plain SHA-256 chain ----------------------------------------------


def test_a_chain_from_before_the_keyed_scheme_verifies_once_sealed(session: Session) -> None:
    """Events chained in plain SHA-256 (before the upgrade) stay as they are; ``xinyong
    init`` appends one keyed event after them, and from then on they verify, their rewrite
    included: the keyed event's HMAC covers the last legacy hash."""
    first = append(session, 8)
    _rewrite_everything(session, first, key=None)  # exactly what the old code wrote
    session.execute(
        text("UPDATE audit_events SET purpose = '依法履职' WHERE seq = :s"), {"s": first}
    )
    _rewrite_everything(session, first, key=None)
    session.commit()
    before = verify(session)
    assert (before.ok, before.problem) == (False, "unkeyed")
    assert "xinyong init" in (before.message or "")

    legacy_head = head_of(session)
    assert seal_legacy_chain(session, SYSTEM) is True
    session.commit()
    assert seal_legacy_chain(session, SYSTEM) is False  # idempotent: the head is keyed
    sealed = session.scalar(select(AuditEvent).where(AuditEvent.seq == legacy_head[0] + 1))
    assert sealed is not None and sealed.action == "audit:chain:keyed"
    assert sealed.prev_hash == legacy_head[1]
    assert verify(session).ok
    append(session, 2)
    assert verify(session).ok

    # A legacy event altered: named, as before.
    session.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = :s"), {"s": first + 3})
    altered = verify(session)
    assert (altered.first_bad_seq, altered.problem) == (first + 3, "altered")
    # The whole chain rewritten in plain SHA-256 again: the keyed events no longer verify.
    _rewrite_everything(session, first + 3, key=None)
    assert not verify(session).ok


def test_a_legacy_event_after_a_keyed_one_is_refused(session: Session) -> None:
    """The schemes only move forward: an event rehashed in plain SHA-256 in the middle of the
    keyed chain is not accepted as legacy."""
    first = append(session, 5)
    target = first + 2
    session.execute(text("UPDATE audit_events SET actor = 'user:x' WHERE seq = :s"), {"s": target})
    session.expire_all()
    events = [_as_chained(e) for e in session.scalars(select(AuditEvent).where(AuditEvent.seq >= target).order_by(AuditEvent.seq))]  # fmt: skip
    relinked = chain(events[0].prev_hash, [e.content for e in events], None)
    for c in relinked:
        session.execute(
            text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": c.prev_hash, "h": c.hash, "s": c.content.seq},
        )
    session.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": relinked[-1].hash})
    result = verify(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, target, "altered")


def test_a_rotated_key_verifies_with_the_previous_key_listed(
    session: Session, settings_env: pytest.MonkeyPatch
) -> None:
    old = chain_key()
    first = append(session, 3)
    new = base64.b64encode(b"n" * 16 + b"N" * 16).decode()
    settings_env.setenv("XINYONG_AUDIT_CHAIN_KEY", new)
    get_settings.cache_clear()
    without = verify(session)  # the old events are not the new key's
    assert (without.ok, without.first_bad_seq) == (False, 1)
    settings_env.setenv("XINYONG_AUDIT_CHAIN_PREVIOUS_KEYS", base64.b64encode(old).decode())
    get_settings.cache_clear()
    unsealed = verify(session)  # accepted, but the last event is not the current key's
    assert (unsealed.ok, unsealed.problem) == (False, "unkeyed")
    assert seal_legacy_chain(session, SYSTEM) is True  # what `xinyong init` does
    record_event(session, CLERK, "test:key:rotated")
    session.commit()
    assert verify(session).ok
    assert head_of(session)[0] == first + 4
    # The keys swapped (the schemes never go back): the last events break the order.
    settings_env.setenv("XINYONG_AUDIT_CHAIN_KEY", base64.b64encode(old).decode())
    settings_env.setenv("XINYONG_AUDIT_CHAIN_PREVIOUS_KEYS", new)
    get_settings.cache_clear()
    assert not verify(session).ok


def test_postgresql_requires_the_chain_key() -> None:
    from xinyong.config import Settings, load_chain_keys
    from xinyong.errors import ConfigurationError

    settings = Settings(database_url="postgresql+psycopg://x@127.0.0.1/none", audit_chain_key=None)
    with pytest.raises(ConfigurationError, match="XINYONG_AUDIT_CHAIN_KEY"):
        load_chain_keys(settings)


# --- automatic anchors ---------------------------------------------------------------------


def test_anchors_every_n_events_catch_a_cut_off_tail(
    engine: Engine, tmp_path: Path, settings_env: pytest.MonkeyPatch
) -> None:
    """Every commit that takes the chain past a multiple of N signs an anchor into the
    configured directory; cutting the tail off (the head moved back with it) then fails
    ``xinyong audit verify``, which reads that directory by itself."""
    settings_env.setenv("XINYONG_AUDIT_SIGNING_KEY", generate_key_pair().private)
    settings_env.setenv("XINYONG_AUDIT_ANCHOR_DIR", str(tmp_path))
    settings_env.setenv("XINYONG_AUDIT_ANCHOR_EVERY", "4")
    get_settings.cache_clear()
    actor = Actor(name="user:auto", role=Role.CLERK)
    with Session(engine) as s:
        start = head_of(s)[0]
    for i in range(9):
        with Session(engine) as s:
            record_event(s, actor, "test:anchor:auto", details={"i": i})
            s.commit()
    files = sorted(tmp_path.glob("anchor-*.json"))
    anchored = [json.loads(f.read_text(encoding="utf-8"))["payload"]["seq"] for f in files]
    # 9 events (plus the anchors' own "signed" events) pass at least two multiples of 4.
    assert len(anchored) >= 2 and anchored == sorted(anchored)
    assert all(seq > start for seq in anchored)
    with Session(engine) as s:
        signed = s.scalars(select(AuditEvent).where(AuditEvent.seq > start, AuditEvent.action == "audit:anchor:signed")).all()  # fmt: skip
        assert {json.loads(e.details)["reason"] for e in signed} == {"every_n_events"}
        assert verify(s).ok

    # The lying database drops every event after the first anchor's, moves the head back,
    # in a transaction we roll back afterwards.
    cut = anchored[0]
    conn = engine.connect()
    outer = conn.begin()
    try:
        lying = Session(bind=conn, join_transaction_mode="create_savepoint")
        lying.execute(text("DELETE FROM audit_events WHERE seq > :s"), {"s": cut})
        lying.execute(
            text("UPDATE audit_head SET seq = :s, hash = (SELECT hash FROM audit_events "
                 "WHERE seq = :s) WHERE id = 1"),
            {"s": cut},
        )  # fmt: skip
        assert verify(lying).ok  # the walk alone cannot tell
        from xinyong import db

        saved = db._factory
        db._factory = lambda: Session(bind=conn, join_transaction_mode="create_savepoint")  # type: ignore[assignment]
        try:
            result = runner.invoke(app, ["audit", "verify"])
        finally:
            db._factory = saved
        assert result.exit_code == 3, result.output
        assert "锚点" in result.output and "截断" in result.output
        lying.close()
    finally:
        outer.rollback()
        conn.close()
    with Session(engine) as s:
        assert verify(s).ok
