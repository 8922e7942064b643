"""Appending to the audit trail, in the caller's transaction, and verifying it.

``record_event`` only queues the event on the session. Just before the session commits,
the queued events are chained onto the head: the head row is locked (``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite an ``UPDATE`` takes the database's write lock), the
events are hashed and inserted, and the head moves, all inside the committing
transaction. So:

- an event exists if and only if the change it describes was committed (a rolled-back
  request leaves neither);
- the head lock is the last lock a transaction takes and is held only for the commit
  itself, which keeps concurrent writers from forking the chain without deadlocks against
  the row locks the transaction already holds;
- seq is assigned in commit order, strictly increasing, without gaps.

Each link is an HMAC with the chain key (``config.load_chain_keys``), which the database
never holds; PostgreSQL computes it from the key's pads, passed with the statement. When
a commit takes the chain past a multiple of ``XINYONG_AUDIT_ANCHOR_EVERY`` events, an
anchor is signed right after it (``auto_anchor``), as the daily job does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction

from xinyong import runtime
from xinyong.actors import Actor
from xinyong.audit.chain import (
    ACTION_SHAPE,
    SEAL_ACTION,
    AnchorPoint,
    ChainedEvent,
    ChainKeys,
    EventContent,
    Verification,
    body_of,
    canonical_json,
    chain,
    check_anchors,
    event_hash,
    hmac_pads,
    verify_chain,
)
from xinyong.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from xinyong.audit.tags import label_of
from xinyong.config import get_settings, load_chain_keys
from xinyong.db import utcnow
from xinyong.errors import ConfigurationError
from xinyong.identity.scrub import scrub_text, scrub_value

log = logging.getLogger("xinyong.audit")

PENDING = "xinyong.audit.pending"
CROSSED = "xinyong.audit.anchor_due"  # session.info: this commit passed an anchor point
NO_AUTO_ANCHOR = "xinyong.audit.no_auto_anchor"


def chain_key() -> bytes:
    """The key new events are chained with (``XINYONG_AUDIT_CHAIN_KEY``)."""
    return load_chain_keys(get_settings())[0]


def chain_keys() -> ChainKeys:
    """Every scheme a verification accepts: legacy SHA-256, earlier keys, the current key."""
    current, previous = load_chain_keys(get_settings())
    return ChainKeys(current, previous)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    occurred_at: dt.datetime
    action: str
    actor: str
    role: str
    organisation: str | None
    channel: str
    target_type: str | None
    target_id: str | None
    purpose: str | None
    basis: str | None
    details: str

    def content(self, seq: int) -> EventContent:
        return EventContent(
            seq,
            self.occurred_at,
            self.action,
            self.actor,
            self.role,
            self.organisation,
            self.channel,
            self.target_type,
            self.target_id,
            self.purpose,
            self.basis,
            self.details,
        )


def _clip(value: str | None, length: int) -> str | None:
    if value is None:
        return None
    return scrub_text(value)[:length]


def pending_event(
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: int | str | None = None,
    purpose: str | None = None,
    basis: str | None = None,
    details: dict[str, Any] | None = None,
    organisation: str | None = None,
) -> PendingEvent | None:
    """The event to append (``domain:subject:action``), or None while the trail is off.

    Free text and details are scrubbed of anything shaped like an identity number: the
    audit trail must never hold one in clear.
    """
    if not ACTION_SHAPE.match(action):
        raise ValueError(f"audit action must be domain:subject:action, got {action!r}")
    if not runtime.AUDIT_ENABLED:  # off only in bench/audit_bench.py
        return None
    return PendingEvent(
        occurred_at=utcnow(),
        action=action,
        actor=_clip(actor.name, 200) or "",
        role=str(actor.role)[:16],
        organisation=_clip(organisation or actor.organisation_name, 200),
        channel=actor.channel[:16],
        target_type=target_type[:32] if target_type else None,
        target_id=_clip(None if target_id is None else str(target_id), 64),
        purpose=_clip(purpose, 200),
        basis=basis[:32] if basis else None,
        details=canonical_json(scrub_value(details or {})),
    )


def record_event(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: int | str | None = None,
    purpose: str | None = None,
    basis: str | None = None,
    details: dict[str, Any] | None = None,
    organisation: str | None = None,
) -> None:
    """Append an event (``domain:subject:action``) when ``session`` commits."""
    event_ = pending_event(
        actor,
        action,
        target_type=target_type,
        target_id=target_id,
        purpose=purpose,
        basis=basis,
        details=details,
        organisation=organisation,
    )
    queue_event(session, event_)


def queue_event(session: Session, pending: PendingEvent | None) -> None:
    """Append an already built event when ``session`` commits (None: the trail is off)."""
    if pending is not None:
        session.info.setdefault(PENDING, []).append(pending)


def append_pending(session: Session) -> int:
    """Chain the session's queued events onto the head now; how many were appended.

    Called by the ``before_commit`` hook; callable directly when a caller needs the
    events' seq before committing."""
    pending: list[PendingEvent] | None = session.info.pop(PENDING, None)
    if not pending:
        return 0
    conn = session.connection()
    _refuse_an_unsealed_head(session, pending)
    if conn.dialect.name == "postgresql":
        # One round trip: lock the head, hash in the database, insert, move the head; the
        # lock is held until commit. Same hashes as chain.hash_of.
        last = conn.exec_driver_sql(
            f"WITH RECURSIVE {APPEND_CTES} SELECT seq FROM audit_moved", append_params(pending)
        ).scalar_one()
        _note_anchor_point(session, int(last) - len(pending), int(last))
        return len(pending)
    # Take SQLite's write lock before reading the head, so two writers cannot both read
    # the same head.
    head = conn.execute(text("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash"))
    seq, prev_hash = head.one()
    # Rows beyond the head exist only if someone put them there (an insertion with the
    # followers renumbered): append after them, so that recording the verification that
    # names the insertion does not fail on SQLite's unique seq. PostgreSQL's key is
    # (seq, occurred_at) and takes the event at the head's next seq.
    beyond = conn.execute(
        text("SELECT max(seq) FROM audit_events WHERE seq > :s"), {"s": seq}
    ).scalar()
    rows = chained_rows(pending, int(beyond or seq), prev_hash)
    conn.execute(insert(AuditEvent), rows)
    conn.execute(
        text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"),
        {"seq": rows[-1]["seq"], "hash": rows[-1]["hash"]},
    )
    _note_anchor_point(session, seq, rows[-1]["seq"])
    return len(rows)


_SEALED: set[str] = set()  # databases whose head this process found linked with the key


def _refuse_an_unsealed_head(session: Session, pending: list[PendingEvent]) -> None:
    """Once per process and database: refuse to append after a head that is not linked with
    the current key (an upgrade or a key rotation not yet sealed by ``xinyong init``, or a
    chain rewritten by the database), unless the first event is the seal. Appending would
    bury the problem under an event the verifier cannot accept as a seal."""
    where = str(session.get_bind().engine.url)
    if where in _SEALED:
        return
    if pending[0].action != SEAL_ACTION and not head_is_keyed(session):
        raise ConfigurationError(
            "审计链的最后一个事件未用当前审计链密钥链接：若刚升级或更换密钥，请先运行 "
            "xinyong init；否则审计链可能已被改写，请运行 xinyong audit verify 并按事件处置程序调查",
            code="audit_chain_unsealed",
        )
    _SEALED.add(where)


def head_is_keyed(session: Session) -> bool:
    """Whether the chain is empty or its last event is linked with the current key."""
    seq, _ = head_of(session)
    if seq == 0:
        return True
    last = session.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
    if last is None:
        return False
    chained = _as_chained(last)
    return event_hash(chained.prev_hash, chained.content, chain_key()) == chained.hash


def _note_anchor_point(session: Session, before: int, after: int) -> None:
    every = get_settings().audit_anchor_every
    if every and before // every != after // every and not session.info.get(NO_AUTO_ANCHOR):
        session.info[CROSSED] = True


def chained_rows(pending: list[PendingEvent], seq: int, prev_hash: str) -> list[dict[str, Any]]:
    """The rows of ``pending`` chained onto the head (``seq``, ``prev_hash``), in order."""
    chained = chain(prev_hash, (p.content(seq + i + 1) for i, p in enumerate(pending)), chain_key())
    return [
        {
            "seq": c.content.seq,
            "occurred_at": c.content.occurred_at,
            "action": c.content.action,
            "actor": c.content.actor,
            "role": c.content.role,
            "organisation": c.content.organisation,
            "channel": c.content.channel,
            "target_type": c.content.target_type,
            "target_id": c.content.target_id,
            "purpose": c.content.purpose,
            "basis": c.content.basis,
            "details": c.content.details,
            "prev_hash": c.prev_hash,
            "hash": c.hash,
        }
        for c in chained
    ]


_CONTENT = (
    "occurred_at",
    "action",
    "actor",
    "role",
    "organisation",
    "channel",
    "target_type",
    "target_id",
    "purpose",
    "basis",
    "details",
)
# PostgreSQL: the common table expressions that append events to the chain inside any
# statement (put them after ``WITH RECURSIVE``; parameters from ``append_params``). They
# lock the head row (held until the transaction ends), hash the events one after the
# other in the database exactly as ``chain.hash_of`` does (the HMAC from the key's pads:
# sha256(outer || sha256(inner || text))), insert them and move the head, so a writer can
# append its events in the same round trip as the change they describe.
_EVENT_ARRAYS = ", ".join(
    f"%(a_{c})b::{'timestamptz' if c == 'occurred_at' else 'text'}[]" for c in _CONTENT
)
APPEND_CTES = (
    "audit_now AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE), "
    f"audit_ev AS (SELECT * FROM unnest({_EVENT_ARRAYS}) WITH ORDINALITY "
    f"AS e({', '.join(_CONTENT)}, n)), "
    "audit_ch(n, seq, prev, hash) AS (SELECT 0::bigint, seq, NULL::text, hash::text FROM audit_now "
    "UNION ALL SELECT n + 1, seq + 1, hash, encode(sha256(%(a_outer)b::bytea || "
    "sha256(%(a_inner)b::bytea || convert_to(hash || ':' || (seq + 1)::text || ':' || "
    "(%(a_body)b::text[])[n + 1], 'UTF8'))), 'hex')::text FROM audit_ch "
    "WHERE n < cardinality(%(a_body)b::text[])), "
    f"audit_ins AS (INSERT INTO audit_events (seq, {', '.join(_CONTENT)}, prev_hash, hash) "
    f"SELECT ch.seq, {', '.join('e.' + c for c in _CONTENT)}, ch.prev, ch.hash "
    "FROM audit_ch ch JOIN audit_ev e ON e.n = ch.n), "
    "audit_moved AS (UPDATE audit_head SET seq = last.seq, hash = last.hash FROM (SELECT seq, "
    "hash FROM audit_ch ORDER BY n DESC LIMIT 1) last WHERE audit_head.id = 1 "
    "RETURNING audit_head.seq)"
)


def append_params(pending: list[PendingEvent]) -> dict[str, Any]:
    """The parameters of ``APPEND_CTES`` for these events, in order."""
    params: dict[str, Any] = {f"a_{c}": [getattr(p, c) for p in pending] for c in _CONTENT}
    params["a_body"] = [body_of(p.content(0)) for p in pending]
    params["a_inner"], params["a_outer"] = hmac_pads(chain_key())
    return params


@event.listens_for(Session, "before_commit")
def _append_before_commit(session: Session) -> None:
    append_pending(session)


@event.listens_for(Session, "after_commit")
def _anchor_after_commit(session: Session) -> None:
    if not session.info.pop(CROSSED, False):
        return
    bind = session.bind
    # Only a session of the application's engine commits for good; one joined to an outer
    # transaction (a test's, a caller's) may still be rolled back.
    if isinstance(bind, Engine):
        auto_anchor(bind)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(PENDING, None)


# --- reading and verifying ------------------------------------------------------------------


def _as_chained(e: AuditEvent) -> ChainedEvent:
    return ChainedEvent(
        EventContent(
            e.seq,
            e.occurred_at,
            e.action,
            e.actor,
            e.role,
            e.organisation,
            e.channel,
            e.target_type,
            e.target_id,
            e.purpose,
            e.basis,
            e.details,
        ),
        e.prev_hash,
        e.hash,
    )


def _walk(
    session: Session, batch: int = 10_000, after: int = 0, until: int | None = None
) -> Iterator[ChainedEvent]:
    """Every event after ``after`` (up to ``until``) in seq order, in bounded memory."""
    while True:
        query = select(AuditEvent).where(AuditEvent.seq > after)
        if until is not None:
            query = query.where(AuditEvent.seq <= until)
        page = list(session.scalars(query.order_by(AuditEvent.seq).limit(batch)))
        if not page:
            return
        for e in page:
            yield _as_chained(e)
        after = page[-1].seq
        session.expunge_all()


def head_of(session: Session) -> tuple[int, str]:
    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one_or_none()
    if head is None:
        raise RuntimeError("audit_head row missing: run the migrations")
    return int(head[0]), str(head[1])


def verify(
    session: Session, anchors: list[AnchorPoint] | None = None, *, latest: int | None = None
) -> Verification:
    """Walk the whole chain; with anchors, also check the chain still holds each one.

    ``latest`` walks only the last that many events (linked to the hash of the event before
    them and to the head): a quick check for a page, where the whole walk is for the
    command line and its schedule."""
    head = head_of(session)
    start: tuple[int, str] | None = None
    if latest is not None and head[0] > latest:
        first = head[0] - max(latest, 1) + 1
        before = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == first - 1))
        if before is None:
            return Verification(
                False, 0, first - 1, "", first - 1, "deleted", f"缺少第 {first - 1} 号事件"
            )
        start = (first - 1, before)
    after = start[0] if start else 0
    result = verify_chain(
        _walk(session, after=after),
        _seq_of_hash(session),
        head=head,
        start=start,
        keys=chain_keys(),
    )
    if not result.ok or not anchors:
        return result
    failed = anchors_problem(session, anchors)
    if failed is None:
        return result
    return Verification(
        False,
        result.events,
        result.last_seq,
        result.last_hash,
        failed.first_bad_seq,
        failed.problem,
        failed.message,
    )


# --- incremental verification: from the last checkpoint -------------------------------------

CHECKPOINTS_TRIED = 20  # checkpoints looked at, newest first, for one the chain still holds
CHECKPOINTS_KEPT = 20


def _held_checkpoint(session: Session) -> tuple[AuditCheckpoint | None, list[AuditCheckpoint]]:
    """The latest checkpoint whose event the chain still holds with the hash verified then,
    and the later checkpoints it no longer holds (newest first)."""
    stale: list[AuditCheckpoint] = []
    tried = session.scalars(
        select(AuditCheckpoint)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
        .limit(CHECKPOINTS_TRIED)
    )
    for point in tried:
        held = session.scalars(select(AuditEvent.hash).where(AuditEvent.seq == point.seq)).all()
        if point.hash in held:
            return point, stale
        stale.append(point)
    return None, stale


def _stale_checkpoint(session: Session, stale: list[AuditCheckpoint]) -> Verification:
    point = min(stale, key=lambda p: p.seq)
    held = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == point.seq).limit(1))
    at = point.verified_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if held is None:
        message = (
            f"校验点（{at} 校验）记录第 {point.seq} 号事件完好，但链中已没有该事件："
            "事件被删除或链被截断"
        )
    else:
        message = (
            f"校验点（{at} 校验）记录的第 {point.seq} 号事件哈希与链中不同："
            "校验之后，此前的事件被改写"
        )
    return Verification(False, 0, 0, "", point.seq, "checkpoint", message)


def verify_incremental(
    session: Session, anchors: list[AnchorPoint] | None = None, *, batch: int | None = None
) -> Verification:
    """Verify from the latest checkpoint the chain still holds, reading at most ``batch``
    events (``audit_verify_batch``): the checkpoint's own event (re-hashed, so a change to
    it is found) and those after it, up to the head as read. ``complete`` is False when
    the batch ended before the head; the next call goes on from there once the caller
    saves the checkpoint (``save_checkpoint``).

    A change to an event before the checkpoint without recomputing hashes is not read
    here: the full walk (``verify``, ``xinyong audit verify --full``) finds it. A rewrite
    that recomputes hashes changes the hash at a checkpoint or anchor, and is found by the
    comparison with each: a checkpoint the chain no longer holds is skipped for an earlier
    one (so the walk names the first changed event) and then reported itself."""
    limit = max(1, batch or get_settings().audit_verify_batch)
    head = head_of(session)
    base, stale = _held_checkpoint(session)
    after, start = 0, None
    base_seq = base.seq if base is not None else 0
    if base is not None:
        prev = session.scalar(
            select(AuditEvent.prev_hash)
            .where(AuditEvent.seq == base.seq, AuditEvent.hash == base.hash)
            .limit(1)
        )
        after, start = base.seq - 1, (base.seq - 1, str(prev))
    beyond = session.scalar(
        select(AuditEvent.seq)
        .where(AuditEvent.seq > after, AuditEvent.seq <= head[0])
        .order_by(AuditEvent.seq)
        .offset(limit)
        .limit(1)
    )
    partial = beyond is not None
    events: Iterator[ChainedEvent] = _walk(session, after=after, until=head[0])
    if partial:
        events = itertools.islice(events, limit)
    result = verify_chain(
        events,
        _seq_of_hash(session),
        head=None if partial else head,
        start=start,
        keys=chain_keys(),
        partial=partial,
    )
    result = dataclasses.replace(result, verified_from=base_seq)
    if not result.ok:
        return result
    failed: Verification | None = None
    if anchors:
        failed = anchors_problem(session, anchors)
    if failed is None and stale:
        failed = _stale_checkpoint(session, stale)
    if failed is None:
        return result
    return dataclasses.replace(
        result,
        ok=False,
        first_bad_seq=failed.first_bad_seq,
        problem=failed.problem,
        message=failed.message,
    )


def save_checkpoint(session: Session, result: Verification) -> bool:
    """Record how far a successful walk got, so the next check starts there; older
    checkpoints beyond the latest ``CHECKPOINTS_KEPT`` are dropped. Whether one was saved
    (not for a failed walk, nor one that got no further than the checkpoint it began at)."""
    if not result.ok or result.last_seq <= 0 or not result.last_hash:
        return False
    latest = session.scalar(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq.desc()).limit(1))  # fmt: skip
    if latest is not None and latest >= result.last_seq:
        return False
    session.add(
        AuditCheckpoint(
            seq=result.last_seq,
            hash=result.last_hash,
            verified_from=result.verified_from,
            verified_at=utcnow(),
        )
    )
    session.flush()
    kept = select(AuditCheckpoint.id).order_by(AuditCheckpoint.seq.desc()).limit(CHECKPOINTS_KEPT)
    session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.id.not_in(kept)))
    return True


def anchors_problem(session: Session, anchors: list[AnchorPoint]) -> Verification | None:
    """The first anchor the chain no longer holds, as a failed verification; else None."""
    return check_anchors(
        anchors,
        lambda seq: session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq)),
    )


def check_chain(
    session: Session, actor: Actor, *, latest: int | None = None, full: bool = False
) -> Verification:
    """An auditor verifies the chain: its last ``latest`` events, the whole chain
    (``full``), or (neither) incrementally from the last checkpoint, at most
    ``audit_verify_batch`` events; the checkpoint moves on when a walk from the last one
    (or from the first event) finds the chain intact. The check is audited."""
    if latest is not None:
        result = verify(session, latest=latest)
    else:
        result = verify(session) if full else verify_incremental(session)
        save_checkpoint(session, result)
    record_event(session, actor, "audit:chain:verified", details={"ok": result.ok, "events": result.events, "latest": latest, "full": full, "verified_from": result.verified_from, "complete": result.complete, "first_bad_seq": result.first_bad_seq, "problem": result.problem})  # fmt: skip
    return result


ANCHOR_SIGNED = "audit:anchor:signed"


def last_anchor(session: Session) -> dict[str, Any] | None:
    """The latest signed anchor, as the trail records it (the files are kept off the machine)."""
    found = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == ANCHOR_SIGNED)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return event_as_dict(found) if found is not None else None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What an auditor looks for in the trail (every field optional)."""

    actor: str | None = None
    action_prefix: str | None = None  # "query:" (a domain) or "query:archive:read"
    organisation: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: dt.datetime | None = None  # aware; inclusive
    until: dt.datetime | None = None  # aware; exclusive

    def as_details(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "action": self.action_prefix,
            "organisation": self.organisation,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def read_events(
    session: Session,
    reader: Actor,
    where: EventFilter,
    *,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[dict[str, Any]]:
    """Events for an auditor, newest first; the read is itself an audit event."""
    rows = events_as_dicts(
        session,
        actor=where.actor,
        action_prefix=where.action_prefix,
        organisation=where.organisation,
        target_type=where.target_type,
        target_id=where.target_id,
        since=where.since,
        until=where.until,
        limit=limit,
        before_seq=before_seq,
    )
    details = {k: v for k, v in where.as_details().items() if v is not None}
    record_event(session, reader, "audit:events:viewed", details=details | {"count": len(rows)})
    return rows


def _seq_of_hash(session: Session) -> Callable[[str], int | None]:
    def seq_of_hash(h: str) -> int | None:
        return session.scalar(select(AuditEvent.seq).where(AuditEvent.hash == h).limit(1))

    return seq_of_hash


def verify_since(session: Session, anchor: AnchorPoint | None) -> Verification:
    """What ``audit anchor`` checks before it signs: the chain still holds the last anchor
    (its event has the anchored hash), and every event after it links to it and matches
    its own hash, up to the head. Without an anchor, the whole chain.

    That is enough to sign: the new anchor commits to a head that extends the previous
    anchor's, so a rewrite of anything before it is caught by either anchor; an event
    before the last anchor altered without recomputing hashes does not change what is
    signed, and ``audit verify`` (the daily full walk) names it."""
    head = head_of(session)
    if anchor is None:
        return verify_chain(
            _walk(session, until=head[0]), _seq_of_hash(session), head=head, keys=chain_keys()
        )
    held = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == anchor.seq))
    if held != anchor.hash:
        failed = check_anchors([anchor], lambda _seq: held)
        assert failed is not None
        return failed

    # Up to the head as read: events committed after it are the next anchor's business.
    return verify_chain(
        _walk(session, after=anchor.seq, until=head[0]),
        _seq_of_hash(session),
        head=head,
        start=(anchor.seq, anchor.hash),
        keys=chain_keys(),
    )


def events_as_dicts(
    session: Session,
    *,
    actor: str | None = None,
    action_prefix: str | None = None,
    organisation: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[dict[str, Any]]:
    """Events for auditors, newest first, filtered."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(min(max(limit, 1), 1000))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if organisation:
        query = query.where(AuditEvent.organisation == organisation)
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    if before_seq:
        query = query.where(AuditEvent.seq < before_seq)
    return [event_as_dict(e) for e in session.scalars(query)]


def event_as_dict(e: AuditEvent) -> dict[str, Any]:
    import json

    return {
        "seq": e.seq,
        "occurred_at": e.occurred_at.isoformat(),
        "action": e.action,
        "action_name": label_of(e.action),
        "actor": e.actor,
        "role": e.role,
        "organisation": e.organisation,
        "channel": e.channel,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "purpose": e.purpose,
        "basis": e.basis,
        "details": json.loads(e.details),
        "hash": e.hash,
    }


# --- anchors ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnchorOutcome:
    result: Verification  # of the events since the previous anchor
    previous: AnchorPoint | None
    path: Path | None  # the new anchor file; None when the chain was broken


def sign_anchor(
    factory: Callable[[], Session], out: Path, actor: Actor, *, reason: str = "manual"
) -> AnchorOutcome:
    """Verify the chain since the last anchor in ``out`` (the whole chain without one) and,
    if intact, sign its head into a new anchor file; either way the outcome is audited.

    ``factory`` makes the sessions (one to read, one to record): the anchor must commit to
    committed events only. ConfigurationError without a signing key; InvalidInput when an
    anchor in ``out`` is forged."""
    from xinyong.audit import anchors

    key = anchors.signing_key(get_settings())
    last = anchors.latest_anchor(out, key.public_key())
    with factory() as session:
        result = verify_since(session, last)
        session.rollback()
    path = None
    with factory() as session:
        session.info[NO_AUTO_ANCHOR] = True
        if not result.ok:
            record_event(session, actor, "audit:anchor:refused", details={"first_bad_seq": result.first_bad_seq, "problem": result.problem, "since_anchor": last.seq if last else None, "reason": reason})  # fmt: skip
        else:
            path = anchors.write_anchor(out, key, result.last_seq, result.last_hash, utcnow())
            record_event(session, actor, "audit:anchor:signed", details={"anchored_seq": result.last_seq, "hash": result.last_hash, "file": path.name, "verified_from": last.seq if last else 0, "reason": reason})  # fmt: skip
        session.commit()
    return AnchorOutcome(result, last, path)


def auto_anchor(engine: Engine) -> AnchorOutcome | None:
    """The automatic anchor after a commit that passed an anchor point, into the configured
    anchor directory. Never fails the commit that called it: a problem is logged (and a
    broken chain recorded as a refused anchor)."""
    from xinyong.actors import SYSTEM

    try:
        outcome = sign_anchor(
            lambda: Session(engine), get_settings().anchor_dir, SYSTEM, reason="every_n_events"
        )
    except ConfigurationError as exc:  # no signing key: the daily job says so too
        log.warning("automatic audit anchor skipped: %s", exc.message)
        return None
    except Exception:
        log.exception("automatic audit anchor failed")
        return None
    if not outcome.result.ok:
        log.error("automatic audit anchor refused: %s", outcome.result.message)
    return outcome


def seal_legacy_chain(session: Session, actor: Actor) -> bool:
    """After the upgrade to the keyed chain, or a key rotation: if the chain's last event is
    not linked with the current key, append the seal (``audit:chain:keyed`` naming the event
    before it), the only event at which the verifier lets a newer scheme begin. Whether it
    was appended (``xinyong init`` calls this, with the service stopped)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
    else:
        conn.execute(text("UPDATE audit_head SET seq = seq WHERE id = 1"))
    if head_is_keyed(session):
        return False
    seq, head_hash = head_of(session)
    record_event(session, actor, SEAL_ACTION, details={"keyed_after": seq, "head": head_hash})  # fmt: skip
    append_pending(session)
    return True
