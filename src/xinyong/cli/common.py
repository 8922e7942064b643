"""Shared CLI plumbing: one transaction per command, errors printed in Chinese, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from xinyong.db import session_factory
from xinyong.errors import XinyongError

console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(code)


@contextmanager
def cli_session() -> Iterator[Session]:
    """A session whose work is committed when the command succeeds, rolled back otherwise."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except XinyongError as exc:
        session.rollback()
        fail(f"{exc.message}（{exc.code}）")
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
