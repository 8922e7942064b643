"""bulk.copy_columns writes what bulk.copy_rows writes: the same rows, read back alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.bulk import copy_columns, copy_rows
from xinyong.db import utcnow
from xinyong.subjects.models import Subject

AWKWARD = ["张三", "tab\there", "line\nbreak", "back\\slash", "cr\rlf\r\n", "\\N", "", " 空 格 "]


NOW = utcnow()


def _subjects(prefix: str) -> dict[str, list[Any]]:
    now = NOW
    count = len(AWKWARD)
    return {
        "kind": ["person"] * count,
        "id_type": ["身份证"] * count,
        "id_index": [f"{prefix}{i:030d}" for i in range(count)],
        "id_cipher": [bytes([i, 0, 92, 9, 10, 255]) for i in range(count)],
        "name": AWKWARD,
        "birth_date": [dt.date(1980, 1, 1 + i) if i % 2 else None for i in range(count)],
        "sex": ["M", None] * (count // 2),
        "region_code": ["110105"] * count,
        "created_at": [now] * count,
        "updated_at": [now] * count,
    }


def _read(session: Session, prefix: str) -> list[tuple[Any, ...]]:
    found = session.execute(
        select(
            Subject.name,
            Subject.id_cipher,
            Subject.birth_date,
            Subject.sex,
            Subject.created_at,
        )
        .where(Subject.id_index.like(f"{prefix}%"))
        .order_by(Subject.id_index)
    )
    return [tuple(row) for row in found]


def test_copy_columns_writes_what_copy_rows_writes(session: Session) -> None:
    by_column = _subjects("c")
    assert copy_columns(session, Subject.__table__, by_column) == len(AWKWARD)
    by_row = _subjects("r")
    names = list(by_row)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*by_row.values(), strict=True)]
    copy_rows(session, Subject.__table__, rows, columns=names)
    columns_read, rows_read = _read(session, "c"), _read(session, "r")
    assert [r[0] for r in columns_read] == AWKWARD
    assert [r[1] for r in columns_read] == by_column["id_cipher"]
    assert [r[2] for r in columns_read] == by_column["birth_date"]
    assert columns_read == rows_read


def test_copy_columns_of_nothing_and_of_uneven_columns(session: Session) -> None:
    assert copy_columns(session, Subject.__table__, {"name": []}) == 0
    with pytest.raises(ValueError):
        copy_columns(session, Subject.__table__, {"name": ["a"], "kind": []})
