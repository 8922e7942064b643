"""xinyong backup / restore for the embedded SQLite database.

The copy uses SQLite's online backup API, so it is consistent while the server runs (a
snapshot at one commit, WAL included). It never contains the keys: the key file
(``keys.json``) protects the identity numbers in the copy, so it is kept apart, by other
people, on other media (docs/operations.md). PostgreSQL has its own tools (pg_dump,
pg_basebackup with WAL archiving); the commands say so instead of half-doing them.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from xinyong.cli.common import console, fail
from xinyong.config import get_settings, load_keys
from xinyong.errors import ConfigurationError


def _database_file() -> Path:
    settings = get_settings()
    if not settings.is_sqlite:
        fail(
            "备份和恢复命令只用于内置的 SQLite 数据库；PostgreSQL 请使用 pg_dump / "
            "pg_basebackup 和 WAL 归档（见 docs/operations.md）"
        )
    url = settings.effective_database_url
    return Path(url.removeprefix("sqlite:///"))


def _copy(source: Path, target: Path) -> None:
    """Online backup: page by page, consistent at one commit even while others write."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=4096)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _chain_of(path: Path) -> tuple[bool, int, str | None]:
    """Whether the copy's audit chain verifies, its last seq, and the problem if any."""
    from xinyong.audit.services import verify

    engine = create_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            result = verify(session)
            return result.ok, result.last_seq, result.message
    finally:
        engine.dispose()


def _keys_problem(path: Path) -> str | None:
    """Why the configured keys cannot read the copy's identity numbers (one sample), or None."""
    from xinyong.identity.protection import IdentityProtector
    from xinyong.subjects.models import Subject

    settings = get_settings()
    try:
        keys = load_keys(settings)
    except ConfigurationError:
        # A fresh home (a new machine, a disaster): the backup never holds the keys.
        return (
            f"此处没有密钥文件 {settings.key_file}（备份不含密钥）：请先把备份时使用的"
            "密钥文件放回该位置，或配置 XINYONG_BLIND_INDEX_KEY 和 XINYONG_ENCRYPTION_KEY，再恢复"
        )
    protector = IdentityProtector(keys)
    engine = create_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            subject = session.scalar(select(Subject).limit(1))
            if subject is None:
                return None
            try:
                protector.decrypt(subject.id_cipher, subject.id_index)
            except Exception:
                return "当前密钥无法解密备份中的身份证号：请先放回备份时使用的密钥文件"
            return None
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    @app.command()
    def backup(
        out: Annotated[Path, typer.Argument(help="备份文件路径（不得已存在）")],
    ) -> None:
        """在线备份内置数据库（服务运行中也一致）。密钥文件不在备份中，须另行保管。"""
        source = _database_file()
        if not source.exists():
            fail(f"数据库 {source} 不存在")
        if out.exists():
            fail(f"{out} 已存在，不覆盖")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        partial.unlink(missing_ok=True)
        _copy(source, partial)
        check = _integrity(partial)
        if check != "ok":
            partial.unlink(missing_ok=True)
            fail(f"备份文件完整性检查失败：{check}")
        ok, last_seq, problem = _chain_of(partial)
        partial.rename(out)
        out.chmod(0o600)
        console.print(
            f"已备份到 {out}（{out.stat().st_size / 1e6:.1f} MB；审计链到第 {last_seq} 号事件"
            f"{'，完整' if ok else '，异常：' + (problem or '')}）",
            soft_wrap=True,
        )
        console.print(
            f"提示：备份不含密钥。请另行保管 {get_settings().key_file}，不要与备份放在一起。",
            soft_wrap=True,
        )

    @app.command()
    def restore(
        source: Annotated[Path, typer.Argument(help="由 xinyong backup 生成的备份文件")],
        force: Annotated[
            bool, typer.Option("--force", help="审计链异常或密钥不匹配时仍然恢复")
        ] = False,
    ) -> None:
        """从备份恢复内置数据库（先停止服务）。原数据库改名保留。"""
        target = _database_file()
        if not source.exists():
            fail(f"备份文件 {source} 不存在")
        check = _integrity(source)
        if check != "ok":
            fail(f"备份文件完整性检查失败：{check}")
        # The keys first: the audit chain's links are keyed too (XINYONG_AUDIT_CHAIN_KEY).
        keys_problem = _keys_problem(source)
        if keys_problem and not force:
            fail(f"{keys_problem}（确认仍要恢复请加 --force）")
        ok, last_seq, problem = _chain_of(source)
        if not ok and not force:
            fail(f"备份中的审计链异常：{problem}（确认仍要恢复请加 --force）")
        if target.exists():
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = target.with_name(f"{target.name}.before-restore-{stamp}")
            _copy(target, kept)
            console.print(f"原数据库已另存为 {kept}", soft_wrap=True)
        staging = target.with_name(target.name + ".restoring")
        staging.unlink(missing_ok=True)
        shutil.copyfile(source, staging)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        staging.replace(target)
        console.print(f"已从 {source} 恢复（审计链到第 {last_seq} 号事件）", soft_wrap=True)
