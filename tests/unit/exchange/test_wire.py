"""Reading a page of the upper platform's list feed: never applied unless well formed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.exchange.wire import (
    BadListPage,
    ListPage,
    WireListEntry,
    WireRecord,
    WireSubject,
    parse_list_page,
)


def entry(seq: int, status: str = "listed") -> dict[str, object]:
    return WireListEntry(
        seq=seq,
        entry_id=seq,
        status="listed" if status == "listed" else "ended",
        list_kind="black",
        reasons="失信被执行人",
        basis="依据",
        record=WireRecord(
            item_code="DISHONEST_JUDGMENT_DEBTOR",
            document_number=f"（2026）执{seq}号",
            decision_date="2026-01-02",
            state="active",
            version=1,
            subject=WireSubject(kind="person", id_type="身份证", id_number="x", name="钱七"),
        ),
    ).model_dump()


def page(seqs: list[int], next_after: int, more: bool = False) -> bytes:
    return json.dumps(
        {
            "source": "100000",
            "entries": [entry(s) for s in seqs],
            "next_after": next_after,
            "more": more,
        }
    ).encode()


@given(st.lists(st.integers(1, 10**9), unique=True, max_size=20), st.integers(0, 10))
def test_increasing_pages_are_read_back_exactly(seqs: list[int], gap: int) -> None:
    ordered = sorted(seqs)
    after = (ordered[0] - 1) if ordered else 0
    next_after = (ordered[-1] if ordered else after) + gap
    parsed = parse_list_page(page(ordered, next_after), after)
    assert isinstance(parsed, ListPage)
    assert [e.seq for e in parsed.entries] == ordered and parsed.next_after == next_after


@given(st.binary(max_size=300))
def test_any_bytes_either_parse_or_fail_with_the_stable_code(raw: bytes) -> None:
    try:
        parse_list_page(raw, 0)
    except BadListPage as exc:
        assert exc.code == "exchange_bad_page" and "上级平台" in exc.message


@given(st.lists(st.integers(1, 1000), min_size=2, max_size=10))
def test_entries_out_of_order_or_at_the_cursor_are_refused(seqs: list[int]) -> None:
    if seqs == sorted(set(seqs)):
        seqs = list(reversed(seqs))
    with pytest.raises(BadListPage):
        parse_list_page(page(seqs, max(seqs)), 0)


def test_a_cursor_that_goes_back_or_stands_still_with_more_is_refused() -> None:
    with pytest.raises(BadListPage, match="游标"):
        parse_list_page(page([5, 6], 5), 4)
    with pytest.raises(BadListPage, match="游标"):
        parse_list_page(page([], 4, more=True), 4)
    with pytest.raises(BadListPage, match="序号"):
        parse_list_page(page([4], 4), 4)
    assert parse_list_page(page([], 4), 4).entries == []
