"""The request's unit of work (web.deps.get_session): the one place a request commits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from xinyong import db
from xinyong.catalog.models import Department
from xinyong.errors import Forbidden, keep_work
from xinyong.web.deps import get_session, on_rollback


def _request(method: str = "POST") -> Request:
    return Request({"type": "http", "method": method, "headers": [], "path": "/"})


def _run(body: object, undone: list[str] | None = None) -> None:
    """One request whose handler adds a department, then does ``body`` (raise or not)."""
    sessions: Iterator[Session] = get_session(_request())
    session = next(sessions)
    session.add(Department(code="UOW-1", name="单元测试部门"))
    session.flush()
    if undone is not None:
        on_rollback(session, lambda: undone.append("dropped"))
    if isinstance(body, BaseException):
        with pytest.raises(type(body)):
            sessions.throw(body)
    else:
        with pytest.raises(StopIteration):
            next(sessions)


def _stored(connection: Connection) -> bool:
    with db.session_factory()() as check:
        return check.scalar(select(Department.id).where(Department.code == "UOW-1")) is not None


def test_a_handler_that_returns_commits(connection: Connection) -> None:
    undone: list[str] = []
    _run(None, undone)
    assert _stored(connection)
    assert undone == []


def test_a_domain_error_rolls_back_and_undoes(connection: Connection) -> None:
    undone: list[str] = []
    _run(Forbidden("不可以"), undone)
    assert not _stored(connection)
    assert undone == ["dropped"]


def test_an_error_that_keeps_its_work_commits_it(connection: Connection) -> None:
    undone: list[str] = []
    _run(keep_work(Forbidden("查询被拒绝")), undone)
    assert _stored(connection)
    assert undone == []


def test_an_unexpected_error_rolls_back_and_undoes(connection: Connection) -> None:
    undone: list[str] = []
    _run(RuntimeError("boom"), undone)
    assert not _stored(connection)
    assert undone == ["dropped"]
