"""xinyong backup / restore on the embedded database; PostgreSQL is pointed to its tools."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TEST_DATABASE_URL
from tests.integration.security.conftest import Instance, identity_numbers, penalty_csv


def test_backup_and_restore(instance: Instance, tmp_path: Path) -> None:
    if TEST_DATABASE_URL:
        refused = instance.run("backup", str(tmp_path / "b.sqlite3"), check=False)
        assert refused.returncode == 1 and "pg_dump" in refused.stderr
        return
    first = penalty_csv(tmp_path / "a.csv", identity_numbers(50))
    instance.run("import", str(first), "--department", "SECDEPT")
    out = tmp_path / "backups" / "xinyong-backup.sqlite3"
    done = instance.run("backup", str(out))
    assert "审计链到第" in done.stdout and "不含密钥" in done.stdout
    import json

    keys = json.loads((instance.home / "keys.json").read_text(encoding="utf-8"))
    blob = out.read_bytes()
    assert not any(value.encode() in blob for value in keys.values())  # keys kept apart
    assert instance.run("backup", str(out), check=False).returncode == 1  # never overwrites

    later = penalty_csv(tmp_path / "b.csv", identity_numbers(30, start=50), documents="后罚")
    instance.run("import", str(later), "--department", "SECDEPT")
    assert instance.scalar("SELECT count(*) FROM records") == 80

    restored = instance.run("restore", str(out))
    assert "已从" in restored.stdout
    assert instance.scalar("SELECT count(*) FROM records") == 50
    assert '"ok": true' in instance.run("audit", "verify", "--json").stdout
    assert list(instance.home.glob("xinyong.sqlite3.before-restore-*"))


def test_restore_refuses_a_backup_with_a_broken_chain(instance: Instance, tmp_path: Path) -> None:
    if TEST_DATABASE_URL:
        return
    import sqlite3

    instance.run("audit", "verify")  # one event
    out = tmp_path / "b.sqlite3"
    instance.run("backup", str(out))
    conn = sqlite3.connect(out)
    conn.execute("UPDATE audit_events SET actor = 'x'")
    conn.commit()
    conn.close()
    refused = instance.run("restore", str(out), check=False)
    assert refused.returncode == 1 and "审计链异常" in refused.stderr


def test_restore_into_a_home_without_keys_says_so(instance: Instance, tmp_path: Path) -> None:
    if TEST_DATABASE_URL:
        return
    first = penalty_csv(tmp_path / "a.csv", identity_numbers(5))
    instance.run("import", str(first), "--department", "SECDEPT")
    out = tmp_path / "xinyong-backup.sqlite3"
    instance.run("backup", str(out))
    keys = instance.home / "keys.json"
    kept = tmp_path / "keys-kept-apart.json"
    keys.rename(kept)  # a new machine: the backup has come, the key file not yet
    refused = instance.run("restore", str(out), check=False)
    assert refused.returncode == 1, refused.stdout
    assert "内部错误" not in refused.stderr
    assert f"此处没有密钥文件 {keys}（备份不含密钥）" in refused.stderr.replace("\n", "")
    kept.rename(keys)
    assert "已从" in instance.run("restore", str(out)).stdout
