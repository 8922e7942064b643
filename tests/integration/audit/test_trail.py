"""The audit trail on the database (SQLite and PostgreSQL): same transaction as the change,
tamper tests (change, delete, insert, reorder, rewrite + anchors), concurrent writers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import Actor, Role, cli_operator
from xinyong.audit import anchors
from xinyong.audit.chain import chain, event_hash
from xinyong.audit.models import AuditEvent
from xinyong.audit.services import _as_chained, chain_key, head_of, record_event, verify
from xinyong.config import get_settings
from xinyong.errors import InvalidInput
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.queries.models import QueryBasis
from xinyong.records.services import read_archive
from xinyong.subjects.services import find_subject

CLERK = Actor(name="user:clerk1", role=Role.CLERK, department_code="D1", organisation="测试局")


def events_after(session: Session, seq: int) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq))
    )


def append(session: Session, n: int) -> int:
    """n committed events; the seq of the first."""
    start = head_of(session)[0] + 1
    for i in range(n):
        record_event(
            session,
            CLERK,
            "query:archive:view",
            target_type="subject",
            target_id=1000 + i,
            purpose="依法履职",
            basis="legal_duty",
            details={"i": i},
        )
        session.commit()
    return start


def test_event_is_written_with_the_commit_and_not_without(session: Session) -> None:
    before = head_of(session)[0]
    record_event(session, CLERK, "test:event:rolled_back")
    session.rollback()
    session.commit()
    assert head_of(session)[0] == before
    record_event(session, CLERK, "test:event:committed", details={"n": 1})
    record_event(session, CLERK, "test:event:committed", details={"n": 2})
    session.commit()
    new = events_after(session, before)
    assert [(e.seq, json.loads(e.details)["n"]) for e in new] == [(before + 1, 1), (before + 2, 2)]
    assert new[1].prev_hash == new[0].hash
    assert head_of(session) == (before + 2, new[1].hash)
    assert verify(session).ok


def test_a_read_of_personal_data_is_audited_in_its_transaction(session: Session) -> None:
    number = factories.resident_id()
    dept = factories.department(session)
    factories.submit_rows(session, [factories.penalty_row(id_number=number, dept=dept)])
    session.commit()
    subject = find_subject(session, protector_for(), number)
    assert subject is not None
    before = head_of(session)[0]
    read_archive(
        session,
        CLERK,
        protector_for(),
        subject,
        audience=Audience.GOVERNMENT,
        purpose="行政许可审查",
        basis=QueryBasis.LEGAL_DUTY,
    )
    session.rollback()  # the request failed: neither the query log nor the event stays
    assert events_after(session, before) == []
    read_archive(
        session,
        CLERK,
        protector_for(),
        subject,
        audience=Audience.GOVERNMENT,
        purpose="行政许可审查",
        basis=QueryBasis.LEGAL_DUTY,
    )
    session.commit()
    (event,) = events_after(session, before)
    assert (event.action, event.target_type, event.target_id) == (
        "query:archive:view",
        "subject",
        str(subject.id),
    )
    assert (event.purpose, event.basis, event.organisation) == (
        "行政许可审查",
        "legal_duty",
        "测试局",
    )
    assert json.loads(event.details)["query_log_id"] > 0


def test_submission_is_one_event_per_chunk_with_counts(session: Session) -> None:
    before = head_of(session)[0]
    dept = factories.department(session)
    rows = [factories.penalty_row(dept=dept) for _ in range(3)]
    rows.append(factories.penalty_row(id_number="123", dept=dept))
    result = factories.submit_rows(session, rows)
    session.commit()
    events = events_after(session, before)
    actions = [e.action for e in events]
    assert actions.count("records:submission:merged") == 1
    completed = next(e for e in events if e.action == "records:submission:completed")
    details = json.loads(completed.details)
    assert (details["accepted"], details["rejected"], details["created"]) == (3, 1, 3)
    assert completed.target_id == str(result.batch_id)


def test_identity_numbers_are_scrubbed_from_events(session: Session) -> None:
    number = factories.resident_id()
    before = head_of(session)[0]
    record_event(
        session,
        Actor(name=f"user:{number}", role="unknown"),
        "accounts:login:failed",
        purpose=f"查 {number} 的档案",
        target_id=number,
        details={"note": f"号码{number}", number: [number]},
    )
    session.commit()
    (event,) = events_after(session, before)
    stored = " ".join(str(v) for v in (event.actor, event.purpose, event.target_id, event.details))
    assert number not in stored
    assert number[:4] + "**********" + number[-4:] in stored


def test_actions_must_be_domain_subject_action(session: Session) -> None:
    with pytest.raises(ValueError):
        record_event(session, CLERK, "archive:view")


# --- tampering ----------------------------------------------------------------------------


@pytest.fixture()
def ten(session: Session) -> int:
    """Ten committed events; the seq of the first."""
    return append(session, 10)


def _shift(session: Session, from_seq: int, by: int) -> None:
    # Two steps so that a primary key is never duplicated mid-statement.
    session.execute(text("UPDATE audit_events SET seq = -seq WHERE seq >= :s"), {"s": from_seq})
    session.execute(text("UPDATE audit_events SET seq = -seq + :by WHERE seq < 0"), {"by": by})


def test_changed_event_is_caught(session: Session, ten: int) -> None:
    target = ten + 4
    session.execute(text("UPDATE audit_events SET purpose = '无' WHERE seq = :s"), {"s": target})
    result = verify(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, target, "altered")


def test_changed_event_with_recomputed_hash_is_caught(session: Session, ten: int) -> None:
    target = ten + 4
    session.execute(text("UPDATE audit_events SET actor = 'user:x' WHERE seq = :s"), {"s": target})
    event = session.get(AuditEvent, target)
    assert event is not None
    session.refresh(event)
    chained = _as_chained(event)
    session.execute(
        text("UPDATE audit_events SET hash = :h WHERE seq = :s"),
        {"h": event_hash(chained.prev_hash, chained.content), "s": target},
    )
    result = verify(session)
    assert (result.first_bad_seq, result.problem) == (target, "altered")


def test_deleted_event_is_caught(session: Session, ten: int) -> None:
    target = ten + 4
    session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": target})
    result = verify(session)
    assert (result.first_bad_seq, result.problem) == (target, "deleted")


def test_deleted_and_renumbered_is_caught(session: Session, ten: int) -> None:
    target = ten + 4
    session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": target})
    _shift(session, target + 1, -1)
    result = verify(session)
    assert (result.first_bad_seq, result.problem) == (target, "deleted")


def test_deleted_tail_is_caught_by_the_head(session: Session, ten: int) -> None:
    session.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": ten + 8})
    result = verify(session)
    assert (result.first_bad_seq, result.problem) == (ten + 8, "deleted")


def test_inserted_event_is_caught(session: Session, ten: int) -> None:
    target = ten + 4
    previous = session.get(AuditEvent, target - 1)
    assert previous is not None
    _shift(session, target, +1)
    forged_content = _as_chained(previous).content
    import dataclasses

    forged = chain(
        previous.hash,
        [dataclasses.replace(forged_content, seq=target, actor="user:forger")],
    )[0]
    session.execute(
        text(
            "INSERT INTO audit_events (seq, occurred_at, action, actor, role, organisation, "
            "channel, target_type, target_id, purpose, basis, details, prev_hash, hash) "
            "SELECT :seq, occurred_at, action, :actor, role, organisation, channel, "
            "target_type, target_id, purpose, basis, details, :prev, :hash "
            "FROM audit_events WHERE seq = :copy"
        ),
        {
            "seq": target,
            "actor": "user:forger",
            "prev": previous.hash,
            "hash": forged.hash,
            "copy": target - 1,
        },
    )
    result = verify(session)
    assert (result.first_bad_seq, result.problem) == (target, "inserted")


def test_reordered_events_are_caught(session: Session, ten: int) -> None:
    a, b = ten + 3, ten + 4
    session.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = :a"), {"a": a})
    session.execute(text("UPDATE audit_events SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
    session.execute(text("UPDATE audit_events SET seq = :b WHERE seq = -1"), {"b": b})
    result = verify(session)
    assert (result.first_bad_seq, result.problem) == (a, "reordered")


def _rewrite_everything(session: Session, changed_seq: int, key: bytes | None = None) -> None:
    """What a superuser can do: change an event and recompute every hash and the head —
    in plain SHA-256 (the scheme before the keyed chain) or with a key of their own."""
    session.execute(
        text("UPDATE audit_events SET purpose = '无关' WHERE seq = :s"), {"s": changed_seq}
    )
    session.expire_all()
    events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    rechained = chain("0" * 64, [_as_chained(e).content for e in events], key)
    for c in rechained:
        session.execute(
            text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": c.prev_hash, "h": c.hash, "s": c.content.seq},
        )
    session.execute(
        text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
        {"s": rechained[-1].content.seq, "h": rechained[-1].hash},
    )


def test_chain_rewritten_without_the_key_is_caught_without_anchors(
    session: Session, ten: int
) -> None:
    _rewrite_everything(session, ten + 2)  # every hash recomputed, in plain SHA-256
    result = verify(session)
    assert (result.ok, result.problem) == (False, "unkeyed")
    assert result.first_bad_seq == head_of(session)[0]
    assert "SHA-256" in (result.message or "")


def test_chain_rewritten_with_a_wrong_key_is_caught_at_its_first_event(
    session: Session, ten: int
) -> None:
    _rewrite_everything(session, ten + 2, key=b"k" * 32)
    result = verify(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 1, "altered")


def test_event_forged_with_a_wrong_key_is_caught(session: Session, ten: int) -> None:
    """The lying database changes one event and recomputes its hash, with a key of its own:
    the next event still links, but the forged one's hash is not the chain key's."""
    target = ten + 4
    session.execute(text("UPDATE audit_events SET actor = 'user:x' WHERE seq = :s"), {"s": target})
    event = session.get(AuditEvent, target)
    assert event is not None
    session.refresh(event)
    chained = _as_chained(event)
    forged = event_hash(chained.prev_hash, chained.content, b"k" * 32)
    session.execute(
        text("UPDATE audit_events SET hash = :h WHERE seq = :s"), {"h": forged, "s": target}
    )
    session.execute(
        text("UPDATE audit_events SET prev_hash = :h WHERE seq = :s"),
        {"h": forged, "s": target + 1},
    )
    result = verify(session)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, target, "altered")


def test_rewritten_chain_is_caught_by_anchors(session: Session, ten: int, tmp_path: Path) -> None:
    """Even someone holding the chain key cannot rewrite what an anchor has signed."""
    pair = anchors.generate_key_pair()
    settings = get_settings().model_copy(update={"audit_signing_key": pair.private})
    seq, chain_hash = head_of(session)
    from xinyong.db import utcnow

    anchors.write_anchor(tmp_path, anchors.signing_key(settings), seq, chain_hash, utcnow())
    append(session, 3)
    points = anchors.read_anchors(tmp_path, anchors.public_key(settings))
    assert verify(session, points).ok
    _rewrite_everything(session, ten + 2, key=chain_key())
    assert verify(session).ok  # the walk alone cannot tell: the key was used
    result = verify(session, points)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, seq, "anchor")


def test_truncated_chain_is_caught_by_anchors(session: Session, ten: int, tmp_path: Path) -> None:
    pair = anchors.generate_key_pair()
    settings = get_settings().model_copy(update={"audit_signing_key": pair.private})
    seq, chain_hash = head_of(session)
    from xinyong.db import utcnow

    anchors.write_anchor(tmp_path, anchors.signing_key(settings), seq, chain_hash, utcnow())
    session.execute(text("DELETE FROM audit_events WHERE seq > :s"), {"s": ten + 5})
    session.execute(
        text(
            "UPDATE audit_head SET seq = :s, hash = (SELECT hash FROM audit_events WHERE seq = :s)"
        ),
        {"s": ten + 5},
    )
    assert verify(session).ok
    result = verify(session, anchors.read_anchors(tmp_path, anchors.public_key(settings)))
    assert (result.ok, result.problem) == (False, "anchor")


def test_forged_or_foreign_anchor_is_refused(session: Session, tmp_path: Path) -> None:
    pair, other = anchors.generate_key_pair(), anchors.generate_key_pair()
    settings = get_settings().model_copy(update={"audit_signing_key": pair.private})
    from xinyong.db import utcnow

    path = anchors.write_anchor(tmp_path, anchors.signing_key(settings), 5, "a" * 64, utcnow())
    with pytest.raises(InvalidInput, match="签名无效"):
        anchors.read_anchors(tmp_path, anchors.public_key(settings, other.public))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["payload"]["hash"] = "b" * 64
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InvalidInput, match="签名无效"):
        anchors.read_anchors(tmp_path, anchors.public_key(settings))


# --- concurrent writers ----------------------------------------------------------------------


def test_concurrent_writers_never_fork_the_chain(engine: Engine) -> None:
    """Several threads append and commit at once: one chain, no gap, no duplicate."""
    threads, per_thread = 6, 25
    with Session(engine) as s:
        start = head_of(s)[0]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            barrier.wait()
            actor = Actor(name=f"user:t{n}", role=Role.CLERK)
            for i in range(per_thread):
                with Session(engine) as s:
                    # Some other write first, as a real request would, then the event.
                    s.execute(text("SELECT 1"))
                    record_event(s, actor, "test:thread:appended", details={"t": n, "i": i})
                    s.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with Session(engine) as s:
        seqs = list(
            s.scalars(select(AuditEvent.seq).where(AuditEvent.seq > start).order_by(AuditEvent.seq))
        )
        assert seqs == list(range(start + 1, start + 1 + threads * per_thread))
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == head_of(s)[0]
        result = verify(s)
        assert result.ok, result.message


def test_cli_operator_is_an_actor(session: Session) -> None:
    before = head_of(session)[0]
    record_event(session, cli_operator("ops"), "audit:chain:verified")
    session.commit()
    (event,) = events_after(session, before)
    assert (event.actor, event.role, event.channel) == ("cli:ops", "admin", "cli")
