"""Incremental verification of the audit chain (issue 20 §1), on SQLite and PostgreSQL: a
check starts from the last checkpoint, reads only the events since (and the checkpoint's
own), at most a batch of them; tampering after a checkpoint is named by it, tampering
before one by the full walk, by the anchors and by the checkpoint comparison."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.integration.audit.test_trail import _rewrite_everything, append
from xinyong.audit import anchors
from xinyong.audit.chain import Verification
from xinyong.audit.models import AuditCheckpoint
from xinyong.audit.services import (
    CHECKPOINTS_KEPT,
    chain_key,
    head_of,
    save_checkpoint,
    verify,
    verify_incremental,
)
from xinyong.cli.main import app
from xinyong.config import get_settings
from xinyong.db import utcnow

runner = CliRunner()


@pytest.fixture()
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def checkpointed(session: Session) -> Verification:
    """Verify from the last checkpoint and move it to the head; the result."""
    result = verify_incremental(session)
    assert result.ok and result.complete, result.message
    save_checkpoint(session, result)
    session.commit()
    return result


def _alter(session: Session, seq: int) -> None:
    session.execute(text("UPDATE audit_events SET purpose = '无' WHERE seq = :s"), {"s": seq})


def test_a_check_after_appends_reads_only_the_new_events(session: Session) -> None:
    append(session, 10)
    first = checkpointed(session)
    head = head_of(session)
    assert (first.last_seq, first.last_hash) == head
    assert first.verified_through == head[0]
    append(session, 5)
    again = verify_incremental(session)
    assert again.ok and again.complete
    # The five new events and the checkpoint's own event, re-hashed; nothing before it.
    assert (again.events, again.verified_from, again.last_seq) == (6, head[0], head[0] + 5)
    assert again.as_dict()["rows_checked"] == 6
    assert save_checkpoint(session, again)
    assert not save_checkpoint(session, again)  # no further than the last one
    assert verify_incremental(session).events == 1


def test_a_change_after_the_checkpoint_is_named(session: Session) -> None:
    append(session, 4)
    base = checkpointed(session).last_seq
    first = append(session, 6)
    _alter(session, first + 2)
    result = verify_incremental(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, first + 2, "altered")
    assert result.verified_from == base and result.verified_through == first + 1
    assert not save_checkpoint(session, result)
    assert session.scalar(select(func.max(AuditCheckpoint.seq))) == base


def test_a_change_to_the_checkpoints_own_event_is_named(session: Session) -> None:
    append(session, 4)
    base = checkpointed(session).last_seq
    append(session, 2)
    _alter(session, base)  # the hash column kept: the checkpoint still matches it
    result = verify_incremental(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, base, "altered")


def test_a_change_before_the_checkpoint_is_found_by_the_full_walk(session: Session) -> None:
    first = append(session, 8)
    checkpointed(session)
    append(session, 3)
    _alter(session, first + 2)  # hashes not recomputed
    assert verify_incremental(session).ok  # not read: before the checkpoint
    full = verify(session)
    assert (full.ok, full.first_bad_seq, full.problem) == (False, first + 2, "altered")
    as_json = runner.invoke(app, ["audit", "verify", "--full", "--json"])
    data = json.loads(as_json.output)
    assert (as_json.exit_code, data["first_bad_seq"], data["problem"]) == (3, first + 2, "altered")
    assert data["full"] is True


def test_a_rewrite_before_the_checkpoint_is_found_by_the_checkpoint_and_anchors(
    session: Session, tmp_path: Path
) -> None:
    """Hashes recomputed with the chain key itself: the walk cannot tell, but the event at
    the checkpoint (and at the anchor) no longer carries the hash verified (signed) then."""
    first = append(session, 8)
    pair = anchors.generate_key_pair()
    settings = get_settings().model_copy(update={"audit_signing_key": pair.private})
    seq, chain_hash = head_of(session)
    anchors.write_anchor(tmp_path, anchors.signing_key(settings), seq, chain_hash, utcnow())
    points = anchors.read_anchors(tmp_path, anchors.public_key(settings))
    base = checkpointed(session).last_seq
    append(session, 3)
    assert verify_incremental(session, points).ok
    _rewrite_everything(session, first + 2, key=chain_key())
    assert verify(session).ok  # the full walk alone cannot tell: the key was used
    result = verify_incremental(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, base, "checkpoint")
    assert result.verified_from == 0  # the stale checkpoint skipped: walked from the start
    with_anchors = verify_incremental(session, points)
    assert (with_anchors.ok, with_anchors.first_bad_seq, with_anchors.problem) == (
        False,
        seq,
        "anchor",
    )


def test_a_rewrite_without_the_key_before_the_checkpoint_is_named(session: Session) -> None:
    first = append(session, 8)
    checkpointed(session)
    append(session, 2)
    _rewrite_everything(session, first + 2)  # plain SHA-256: the checkpoint no longer matches
    result = verify_incremental(session)
    assert (result.ok, result.problem) == (False, "unkeyed")


def test_a_tail_cut_behind_the_checkpoint_is_named(session: Session) -> None:
    first = append(session, 8)
    base = checkpointed(session).last_seq
    session.execute(text("DELETE FROM audit_events WHERE seq > :s"), {"s": first + 3})
    session.execute(
        text("UPDATE audit_head SET seq = :s, hash = (SELECT hash FROM audit_events WHERE seq = :s)"),
        {"s": first + 3},
    )  # fmt: skip
    assert verify(session).ok  # the walk alone cannot tell
    result = verify_incremental(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, base, "checkpoint")
    assert "已没有该事件" in (result.message or "")


def test_a_check_reads_at_most_a_batch_and_goes_on_from_there(session: Session) -> None:
    append(session, 3)
    base = checkpointed(session).last_seq
    first = append(session, 10)
    head = head_of(session)[0]
    _alter(session, first + 8)
    steps = []
    while True:
        step = verify_incremental(session, batch=4)
        steps.append(step)
        assert step.events <= 4
        if not step.ok or step.complete:
            break
        assert step.last_seq < head
        assert save_checkpoint(session, step)
    assert [s.verified_from for s in steps] == [base, base + 3, base + 6]
    assert [s.complete for s in steps[:-1]] == [False, False]
    last = steps[-1]
    assert (last.ok, last.first_bad_seq, last.problem) == (False, first + 8, "altered")


def test_checkpoints_are_pruned(session: Session) -> None:
    for _ in range(CHECKPOINTS_KEPT + 3):
        append(session, 1)
        checkpointed(session)
    assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == CHECKPOINTS_KEPT


def test_cli_verify_goes_on_from_the_checkpoint_in_batches(
    session: Session, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("XINYONG_AUDIT_VERIFY_BATCH", "3")
    get_settings.cache_clear()
    append(session, 10)
    full = runner.invoke(app, ["audit", "verify", "--full", "--json"])
    data = json.loads(full.output)
    assert full.exit_code == 0 and data["ok"] and data["complete"]
    assert data["events"] == data["last_seq"] and data["verified_from"] == 0
    base = data["last_seq"]  # the checkpoint the full walk left
    first = append(session, 7)
    step = runner.invoke(app, ["audit", "verify", "--json"])
    data = json.loads(step.output)
    assert step.exit_code == 0 and data["ok"] and data["complete"], step.output
    # From the full walk's checkpoint: its own event, the walk's record and the seven new
    # ones, nine events read three a step, each step after the first re-reading its start.
    assert data["verified_from"] == base and data["last_seq"] == first + 6 == base + 8
    assert data["events"] == 9 + 3
    text_out = runner.invoke(app, ["audit", "verify"])
    assert text_out.exit_code == 0 and "上次校验点" in text_out.output
    _alter(session, first + 3)
    session.commit()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0  # before the checkpoint
    broken = runner.invoke(app, ["audit", "verify", "--full"])
    assert broken.exit_code == 3 and f"第 {first + 3} 号事件" in broken.output
