"""The pure chain: every kind of tampering is named at the first event it touches."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from xinyong.audit.chain import (
    GENESIS_HASH,
    AnchorPoint,
    ChainedEvent,
    EventContent,
    chain,
    check_anchors,
    event_hash,
    verify_chain,
)

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def content(seq: int, actor: str = "user:clerk1") -> EventContent:
    return EventContent(
        seq,
        T0 + dt.timedelta(seconds=seq),
        "query:archive:view",
        actor,
        "clerk",
        "市场监管局",
        "api",
        "subject",
        str(100 + seq),
        "依法履职",
        "legal_duty",
        '{"query_log_id":' + str(seq) + "}",
    )


def build(n: int = 10) -> list[ChainedEvent]:
    return chain(GENESIS_HASH, [content(i) for i in range(1, n + 1)])


def walk(events: list[ChainedEvent], head: tuple[int, str] | None = None):  # type: ignore[no-untyped-def]
    by_hash = {e.hash: e.content.seq for e in events}
    return verify_chain(events, by_hash.get, head=head)


def renumber(e: ChainedEvent, seq: int) -> ChainedEvent:
    return dataclasses.replace(e, content=dataclasses.replace(e.content, seq=seq))


def test_intact_chain_verifies() -> None:
    events = build()
    result = walk(events, head=(10, events[-1].hash))
    assert result.ok and result.events == 10 and result.last_seq == 10
    assert walk([]).ok


def test_hash_covers_every_field() -> None:
    base = content(1)
    h = event_hash(GENESIS_HASH, base)
    for f in dataclasses.fields(EventContent):
        value = getattr(base, f.name)
        if isinstance(value, int):
            changed = value + 1
        elif isinstance(value, dt.datetime):
            changed = value + dt.timedelta(microseconds=1)
        else:
            changed = value + "x"
        assert event_hash(GENESIS_HASH, dataclasses.replace(base, **{f.name: changed})) != h
    assert event_hash("1" * 64, base) != h


def test_altered_event() -> None:
    events = build()
    events[4] = dataclasses.replace(
        events[4], content=dataclasses.replace(events[4].content, actor="user:someone")
    )
    result = walk(events)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 5, "altered")


def test_altered_event_with_its_hash_recomputed() -> None:
    events = build()
    changed = dataclasses.replace(events[4].content, purpose="改过")
    events[4] = ChainedEvent(changed, events[4].prev_hash, event_hash(events[4].prev_hash, changed))
    result = walk(events)
    assert (result.first_bad_seq, result.problem) == (5, "altered")


def test_deleted_event() -> None:
    events = build()
    del events[4]
    result = walk(events)
    assert (result.first_bad_seq, result.problem) == (5, "deleted")


def test_deleted_event_and_the_rest_renumbered() -> None:
    events = build()
    del events[4]
    events = events[:4] + [renumber(e, e.content.seq - 1) for e in events[4:]]
    result = walk(events)
    assert (result.first_bad_seq, result.problem) == (5, "deleted")


def test_deleted_tail_caught_by_head() -> None:
    events = build()
    result = walk(events[:8], head=(10, events[-1].hash))
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 9, "deleted")


def test_inserted_event_with_renumbering() -> None:
    events = build()
    forged = chain(events[3].hash, [content(5, actor="user:forger")])[0]
    events = events[:4] + [forged] + [renumber(e, e.content.seq + 1) for e in events[4:]]
    result = walk(events)
    assert (result.first_bad_seq, result.problem) == (5, "inserted")


def test_inserted_events_relinked_but_followers_untouched() -> None:
    events = build()
    forged = chain(events[3].hash, [content(5, "user:f1"), content(6, "user:f2")])
    # The attacker shifts the followers' seq but cannot rehash them.
    events = events[:4] + forged + [renumber(e, e.content.seq + 2) for e in events[4:]]
    result = walk(events)
    assert (result.first_bad_seq, result.problem) == (5, "inserted")


def test_reordered_events() -> None:
    events = build()
    a, b = events[3], events[4]
    events[3], events[4] = renumber(b, 4), renumber(a, 5)
    result = walk(events)
    assert (result.first_bad_seq, result.problem) == (4, "reordered")


def test_duplicate_seq() -> None:
    events = build()
    events.insert(5, events[4])
    result = walk(events)
    assert (result.first_bad_seq, result.problem) == (5, "inserted")


def test_rewritten_chain_passes_the_walk_but_not_the_anchor() -> None:
    events = build()
    anchor = AnchorPoint(8, events[7].hash, "2026-11-23T02:00:08+00:00", "anchor-8.json")
    contents = [e.content for e in events]
    contents[2] = dataclasses.replace(contents[2], actor="user:innocent")
    rewritten = chain(GENESIS_HASH, contents)
    assert walk(rewritten, head=(10, rewritten[-1].hash)).ok
    by_seq = {e.content.seq: e.hash for e in rewritten}
    failed = check_anchors([anchor], by_seq.get)
    assert failed is not None and (failed.first_bad_seq, failed.problem) == (8, "anchor")
    assert check_anchors([anchor], {e.content.seq: e.hash for e in events}.get) is None


def test_truncated_chain_fails_the_anchor() -> None:
    events = build()
    anchor = AnchorPoint(10, events[9].hash, "t", "anchor-10.json")
    failed = check_anchors([anchor], {e.content.seq: e.hash for e in events[:7]}.get)
    assert failed is not None and "截断" in (failed.message or "")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        event_hash(
            GENESIS_HASH, dataclasses.replace(content(1), occurred_at=dt.datetime(2026, 1, 1))
        )


def test_a_walk_from_an_anchor_checks_only_what_follows_it_and_links_it() -> None:
    events = build(10)
    anchor = (4, events[3].hash)
    by_hash = {e.hash: e.content.seq for e in events}
    tail = events[4:]
    result = verify_chain(tail, by_hash.get, head=(10, events[-1].hash), start=anchor)
    assert result.ok and (result.events, result.last_seq) == (6, 10)
    # Nothing after the anchor: the anchor is the head.
    assert verify_chain([], by_hash.get, head=anchor, start=anchor).ok
    # An event after the anchor altered is named.
    altered = dataclasses.replace(tail[2], content=content(7, actor="user:mallory"))
    broken = verify_chain([*tail[:2], altered, *tail[3:]], by_hash.get, start=anchor)
    assert (broken.ok, broken.first_bad_seq, broken.problem) == (False, 7, "altered")
    # A tail that does not follow the anchored hash (the chain was rewritten before it).
    other = chain("f" * 64, [content(i) for i in range(5, 11)])
    assert not verify_chain(other, by_hash.get, start=anchor).ok


def test_a_newer_scheme_begins_only_at_a_seal() -> None:
    """Plain SHA-256 events (before the keyed chain) followed by keyed ones verify only when
    the first keyed one is the seal naming the event before it: a chain the database forged
    in SHA-256 is not made good by the events appended after it."""
    from xinyong.audit.chain import SEAL_ACTION, ChainKeys

    key = b"k" * 32
    keys = ChainKeys(key)
    legacy = build(4)
    seal = dataclasses.replace(
        content(5), action=SEAL_ACTION, details='{"head":"x","keyed_after":4}'
    )
    sealed = legacy + chain(legacy[-1].hash, [seal, content(6)], key)
    by_hash = {e.hash: e.content.seq for e in sealed}
    assert verify_chain(sealed, by_hash.get, keys=keys).ok
    unsealed = legacy + chain(legacy[-1].hash, [content(5), content(6)], key)
    result = verify_chain(unsealed, by_hash.get, keys=keys)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 5, "unkeyed")
    # A seal naming another event is no seal.
    wrong = dataclasses.replace(seal, details='{"keyed_after":2}')
    forged = legacy + chain(legacy[-1].hash, [wrong], key)
    assert verify_chain(forged, by_hash.get, keys=keys).problem == "unkeyed"
    # All in SHA-256 with a key configured: the last event is not the key's.
    assert verify_chain(legacy, by_hash.get, keys=keys).problem == "unkeyed"
    # Keyed from the first event on (a new installation): no seal needed.
    fresh = chain(GENESIS_HASH, [content(i) for i in range(1, 4)], key)
    assert verify_chain(fresh, {e.hash: e.content.seq for e in fresh}.get, keys=keys).ok
