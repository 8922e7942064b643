"""Process tuning for bulk work (xinyong.runtime): it changes how, never what."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from xinyong import runtime


def test_in_background_hands_items_over_in_order_and_raises_in_the_caller() -> None:
    with runtime.in_background(iter(range(50)), name="t-runtime") as items:
        assert list(items) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad chunk")

    with (
        pytest.raises(ValueError, match="bad chunk"),
        runtime.in_background(failing(), name="t-runtime") as items,
    ):
        assert next(items) == 1
        next(items)
    assert not [t for t in threading.enumerate() if t.name == "t-runtime"]


def test_in_background_off_produces_in_the_callers_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime, "IN_BACKGROUND", False)
    seen: list[str] = []

    def items() -> Iterator[int]:
        for n in range(3):
            seen.append(threading.current_thread().name)
            yield n

    with runtime.in_background(items()) as produced:
        assert list(produced) == [0, 1, 2]
    assert set(seen) == {threading.current_thread().name}


def test_fewer_collections_nests_and_restores() -> None:
    before = gc.get_threshold()
    with runtime.fewer_collections():
        assert gc.get_threshold()[0] == 100_000
        with runtime.fewer_collections():
            assert gc.get_threshold()[0] == 100_000
        assert gc.get_threshold()[0] == 100_000
    assert gc.get_threshold() == before


def test_return_freed_memory_is_harmless() -> None:
    runtime.return_freed_memory()
