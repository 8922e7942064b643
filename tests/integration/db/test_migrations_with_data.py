"""Migrations on a SQLite archive that already holds data: a table others reference can be
rebuilt (Alembic's batch mode on SQLite) without losing or orphaning a row."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests import factories
from xinyong.db import make_engine
from xinyong.measures.models import Check, CheckFeedback
from xinyong.migrate import upgrade
from xinyong.records.models import Record, RecordVersion


def test_0014_rebuilds_referenced_tables_of_a_filled_sqlite_archive(tmp_path: Path) -> None:
    engine = make_engine(url=f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    try:
        upgrade(engine, "0013")
        with Session(engine) as session:
            from xinyong.catalog.services import load_defaults

            load_defaults(session)
            dept = factories.department(session)
            factories.submit_rows(session, [factories.penalty_row(dept=dept) for _ in range(3)])
            record = session.scalars(select(Record)).first()
            assert record is not None
            # Rows in the tables that reference `records` and `checks`.
            session.execute(
                text(
                    "INSERT INTO record_versions (record_id, subject_id, department_id, "
                    "item_code, item_version, document_number, nature, decision_date, facts, "
                    "open_level, display_from, state, version, content_hash, updated_at, "
                    "superseded_at) SELECT id, subject_id, department_id, item_code, "
                    "item_version, document_number, nature, decision_date, facts, open_level, "
                    "display_from, state, version, content_hash, updated_at, updated_at "
                    "FROM records WHERE id = :id"
                ),
                {"id": record.id},
            )
            check = Check(department_id=dept.id, actor="t", operator="王", scenario="S",
                          business_ref="B", subject_id=record.subject_id, verdict="clear",
                          decisions=[])  # fmt: skip
            session.add(check)
            session.flush()
            session.add(CheckFeedback(check_id=check.id, department_id=dept.id, measure_code="M",
                                      applied=False, outcome="未适用", actor="t"))  # fmt: skip
            session.commit()
            before = [session.scalar(select(func.count()).select_from(m)) for m in (Record, RecordVersion, Check, CheckFeedback)]  # fmt: skip

        upgrade(engine, "0014")

        with engine.connect() as conn:
            assert (
                conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0014"
            )
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again
            assert conn.exec_driver_sql("PRAGMA foreign_key_list(records)").fetchall() == []
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        with Session(engine) as session:
            after = [session.scalar(select(func.count()).select_from(m)) for m in (Record, RecordVersion, Check, CheckFeedback)]  # fmt: skip
            assert after == before and before[1] == 1 and before[3] == 1
    finally:
        engine.dispose()


def test_a_migration_leaving_broken_keys_is_rolled_back(tmp_path: Path) -> None:
    engine = make_engine(url=f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    try:
        upgrade(engine, "0013")
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        raw = engine.raw_connection()
        try:
            raw.execute("PRAGMA foreign_keys=OFF")
            # A feedback row whose check does not exist (a key the migration would keep).
            raw.execute(
                "INSERT INTO check_feedback (check_id, measure_code, applied, outcome, actor, "
                "created_at) VALUES (999, 'M', 0, 'x', 't', '2026-01-01')"
            )
            raw.commit()
        finally:
            raw.close()
        from xinyong.errors import ConfigurationError

        with pytest.raises(ConfigurationError) as caught:
            upgrade(engine)
        assert caught.value.code == "migration_foreign_keys"
        assert "check_feedback" in caught.value.message
        with engine.connect() as conn:
            assert (
                conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0013"
            )
    finally:
        engine.dispose()
