"""The hash chain, pure: canonical serialisation, keyed hashing, and the verification walk.

Each event's hash is ``HMAC-SHA256(chain key, prev_hash ":" seq ":" canonical JSON of its
content)``, the chain key held outside the database (``XINYONG_AUDIT_CHAIN_KEY``, like the
blind-index key). Changing, deleting, inserting or reordering an event therefore breaks
the chain at that point, and whoever holds only the database — a superuser included —
cannot recompute the hashes after a change: a rewrite is caught without anchors. Cutting
events off the end is caught by the signed anchors (``anchors.py``), taken automatically.

Schemes, oldest first (``ChainKeys.schemes``): events chained before the keyed scheme
used plain ``SHA-256`` of the same text (``key=None``); after a key rotation, events
chained with a previous key. A chain may only move forward through the schemes, so the
older ones can be a prefix only, and its last event must use the current key: a
database that rewrites the chain in plain SHA-256 (or with a key of its own) is caught.

No database here: the walk takes events in seq order and a lookup from hash to seq.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
ACTION_SHAPE = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class EventContent:
    """What an event says; the hash covers all of it."""

    seq: int
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
    details: str  # canonical JSON text


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    content: EventContent
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def timestamp(value: dt.datetime) -> str:
    """UTC, microseconds, always the same shape (the database keeps microseconds)."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body_of(content: EventContent) -> str:
    """Everything the event says except its seq, as one canonical JSON text."""
    return canonical_json(
        [
            timestamp(content.occurred_at),
            content.action,
            content.actor,
            content.role,
            content.organisation,
            content.channel,
            content.target_type,
            content.target_id,
            content.purpose,
            content.basis,
            content.details,
        ]
    )


def hash_of(prev_hash: str, seq: int, body: str, key: bytes | None = None) -> str:
    """``HMAC-SHA256(key, prev_hash ":" seq ":" body)`` in hex; without a key, the legacy
    ``SHA-256`` of the same text. PostgreSQL computes the same HMAC with two ``sha256``
    calls over the pads of ``hmac_pads`` (``services`` appends events that way, in one
    statement), so the database never stores the key."""
    message = f"{prev_hash}:{seq}:{body}".encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer pads of HMAC-SHA256 (RFC 2104):
    ``HMAC(k, m) = SHA256(outer || SHA256(inner || m))``."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def event_hash(prev_hash: str, content: EventContent, key: bytes | None = None) -> str:
    return hash_of(prev_hash, content.seq, body_of(content), key)


def chain(
    prev_hash: str, contents: Iterable[EventContent], key: bytes | None = None
) -> list[ChainedEvent]:
    """Hash ``contents`` onto a chain whose last hash is ``prev_hash`` (with ``key``)."""
    out = []
    for content in contents:
        h = event_hash(prev_hash, content, key)
        out.append(ChainedEvent(content, prev_hash, h))
        prev_hash = h
    return out


@dataclass(frozen=True, slots=True)
class ChainKeys:
    """The keys a verification accepts: the current one, earlier ones after a rotation
    (oldest first), and whether events from before the keyed scheme (plain SHA-256) may
    start the chain."""

    current: bytes
    previous: tuple[bytes, ...] = ()
    legacy: bool = True

    def schemes(self) -> tuple[bytes | None, ...]:
        return ((None,) if self.legacy else ()) + self.previous + (self.current,)


# --- verification ---------------------------------------------------------------------------

PROBLEM_NAMES = {
    "altered": "事件内容被篡改",
    "deleted": "事件被删除",
    "inserted": "事件被插入",
    "reordered": "事件顺序被调换",
    "head": "链头与最后一个事件不一致",
    "anchor": "与签名锚点不符（整条链被改写或截断）",
    "unkeyed": "链尾事件未用当前审计链密钥链接（整条链被改写）",
    "checkpoint": "与校验点不符（已校验过的事件被改写或删除）",
}


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    events: int  # events walked
    last_seq: int
    last_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None  # a key of PROBLEM_NAMES
    message: str | None = None  # Chinese, for the auditor
    # An incremental check: the walk began after event ``verified_from`` (0: the genesis),
    # and ``complete`` says whether it reached the head (False: stopped after a batch).
    verified_from: int = 0
    complete: bool = True

    @property
    def verified_through(self) -> int:
        """The last event the walk found intact (every event from ``verified_from`` on)."""
        if self.ok:
            return self.last_seq
        return max(0, min(self.last_seq, (self.first_bad_seq or 1) - 1))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "rows_checked": self.events,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "verified_from": self.verified_from,
            "verified_through": self.verified_through,
            "complete": self.complete,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "problem_name": PROBLEM_NAMES.get(self.problem or ""),
            "message": self.message,
        }


def _with_seq(content: EventContent, seq: int) -> EventContent:
    return EventContent(
        seq,
        content.occurred_at,
        content.action,
        content.actor,
        content.role,
        content.organisation,
        content.channel,
        content.target_type,
        content.target_id,
        content.purpose,
        content.basis,
        content.details,
    )


SEAL_ACTION = "audit:chain:keyed"


def is_seal(content: EventContent) -> bool:
    """The event that starts a newer scheme: ``audit:chain:keyed`` naming the event
    before it (``services.seal_legacy_chain``)."""
    if content.action != SEAL_ACTION:
        return False
    try:
        return int(json.loads(content.details).get("keyed_after", -1)) == content.seq - 1
    except (ValueError, TypeError, AttributeError):
        return False


def _scheme_name(key: bytes | None) -> str:
    return "不带密钥的 SHA-256" if key is None else "审计链密钥（当前或已停用的）"


def verify_chain(
    events: Iterable[ChainedEvent],
    seq_of_hash: Callable[[str], int | None],
    *,
    head: tuple[int, str] | None = None,
    start: tuple[int, str] | None = None,
    keys: ChainKeys | None = None,
    partial: bool = False,
) -> Verification:
    """Walk ``events`` in seq order; name the first one that breaks the chain, and how.

    ``seq_of_hash`` finds the event that carries a given hash (stored), used only after a
    break to tell a deletion from an insertion or a reordering. ``head`` is the chain head
    as stored (seq, hash): a head beyond the last event means events were cut off the end.
    ``start`` (seq, hash) begins the walk after an event already known good (an anchor's):
    ``events`` then hold only the events after it. ``keys``: the schemes accepted (see the
    module); None walks a chain of the legacy scheme only. ``partial``: ``events`` stop
    before the chain's end (one batch of an incremental check), so neither the head nor the
    last event's scheme is checked.
    """
    schemes: tuple[bytes | None, ...] = keys.schemes() if keys else (None,)
    start_seq, prev_hash = start or (0, GENESIS_HASH)
    expected_seq = start_seq + 1
    prev: ChainedEvent | None = None
    level = 0  # index in ``schemes`` of the last event's scheme: never goes back
    walked = 0

    def scheme_of(prev_hash: str, content: EventContent, h: str) -> int | None:
        body = body_of(content)
        for i in range(level, len(schemes)):
            if hmac.compare_digest(hash_of(prev_hash, content.seq, body, schemes[i]), h):
                return i
        return None

    def bad(seq: int, problem: str, message: str) -> Verification:
        return Verification(
            False, walked, prev.content.seq if prev else start_seq, prev_hash, seq, problem, message
        )

    it = iter(events)
    event = next(it, None)
    while event is not None:
        following = next(it, None)
        seq = event.content.seq
        if seq != expected_seq:
            if seq > expected_seq:
                missing = (
                    f"第 {expected_seq} 号"
                    if seq == expected_seq + 1
                    else f"第 {expected_seq}–{seq - 1} 号"
                )
                return bad(expected_seq, "deleted", f"缺少{missing}事件")
            return bad(seq, "inserted", f"第 {seq} 号事件重复出现")
        linked = event.prev_hash == prev_hash
        found = scheme_of(event.prev_hash, event.content, event.hash) if linked else None
        if found is not None and found > level and walked and not is_seal(event.content):
            # A newer scheme starts only at a seal, written by the key's holder (``xinyong
            # init``): an old-scheme chain forged by the database and followed by new events
            # is not accepted.
            return bad(
                seq,
                "unkeyed",
                f"第 {seq} 号事件起改用{_scheme_name(schemes[found])}，但此前的第 {seq - 1} 号"
                f"事件是以{_scheme_name(schemes[level])}链接的，且未经接续（{SEAL_ACTION}）："
                "此前的链可能被不持有密钥的人改写",
            )
        if found is not None:
            prev, prev_hash, level = event, event.hash, found
            expected_seq += 1
            walked += 1
            event = following
            continue
        if linked:
            if following is not None and following.prev_hash == prev_hash:
                # The next event links to the one before this: this one was put in between
                # (a forger without the key cannot make its hash).
                return bad(
                    seq,
                    "inserted",
                    f"第 {seq} 号事件不在原链中（第 {following.content.seq} 号事件原本紧接第 "
                    f"{seq - 1} 号）",
                )
            return bad(seq, "altered", f"第 {seq} 号事件的内容与其哈希不符")
        # The link to the previous event is broken: where does this event really follow?
        followed = seq_of_hash(event.prev_hash)
        if followed is not None and followed > seq:
            return bad(
                seq,
                "reordered",
                f"第 {seq} 号事件原本排在第 {followed} 号事件之后",
            )
        if followed is not None and followed < seq - 1:
            return bad(
                followed + 1,
                "inserted",
                f"第 {followed + 1}–{seq - 1} 号事件不在原链中（第 {seq} 号事件原本紧接第 "
                f"{followed} 号）",
            )
        if scheme_of(event.prev_hash, _with_seq(event.content, seq + 1), event.hash) is not None:
            return bad(seq, "deleted", f"第 {seq} 号之前有事件被删除，其后的事件被重新编号")
        if scheme_of(event.prev_hash, _with_seq(event.content, seq - 1), event.hash) is not None:
            return bad(seq - 1, "inserted", f"第 {seq - 1} 号事件是插入的，其后的事件被重新编号")
        if prev is not None and scheme_of(event.prev_hash, event.content, event.hash) is not None:
            # This event is intact; the previous one was changed and its hash recomputed.
            return bad(
                prev.content.seq,
                "altered",
                f"第 {prev.content.seq} 号事件被修改并重算了哈希",
            )
        if followed is None:
            return bad(seq, "deleted", f"第 {seq} 号事件之前原有的事件已不存在")
        return bad(seq, "altered", f"第 {seq} 号事件的内容与其哈希不符")
    last_seq = prev.content.seq if prev else start_seq
    if partial:
        return Verification(True, walked, last_seq, prev_hash, complete=False)
    if head is not None and head != (last_seq, prev_hash):
        head_seq, _ = head
        if head_seq > last_seq:
            return Verification(
                False,
                walked,
                last_seq,
                prev_hash,
                last_seq + 1,
                "deleted",
                f"链头记录到第 {head_seq} 号，但最后一个事件是第 {last_seq} 号：末尾的事件被删除",
            )
        return Verification(
            False,
            walked,
            last_seq,
            prev_hash,
            min(head_seq + 1, last_seq) or 1,
            "head",
            f"链头（第 {head_seq} 号）与最后一个事件（第 {last_seq} 号）不一致",
        )
    if prev is not None and level != len(schemes) - 1:
        what = _scheme_name(schemes[level])
        return Verification(
            False,
            walked,
            last_seq,
            prev_hash,
            last_seq,
            "unkeyed",
            f"最后一个事件（第 {last_seq} 号）是以{what}链接的，而不是当前的审计链密钥："
            "整条链可能被不持有密钥的人改写。若刚升级或更换密钥、此后尚未写入事件，"
            "运行 xinyong init 接续；否则请按事件处置程序调查",
        )
    return Verification(True, walked, last_seq, prev_hash)


@dataclass(frozen=True, slots=True)
class AnchorPoint:
    seq: int
    hash: str
    signed_at: str
    source: str  # the anchor file's name


def check_anchors(
    anchors: Iterable[AnchorPoint], hash_at: Callable[[int], str | None]
) -> Verification | None:
    """The first anchor the chain no longer contains, as a failed verification; else None."""
    for anchor in sorted(anchors, key=lambda a: a.seq):
        found = hash_at(anchor.seq)
        if found == anchor.hash:
            continue
        if found is None:
            message = (
                f"锚点 {anchor.source}（{anchor.signed_at} 签名）记录了第 {anchor.seq} 号事件，"
                "但链中已没有该事件：链被截断"
            )
        else:
            message = (
                f"锚点 {anchor.source}（{anchor.signed_at} 签名）记录的第 {anchor.seq} 号事件"
                "哈希与链中不同：此前的事件被改写"
            )
        return Verification(False, 0, 0, "", anchor.seq, "anchor", message)
    return None
