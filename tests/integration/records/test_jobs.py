"""Submission jobs (submissions.jobs): queued uploads, one runner at a time, restarts, and a
re-import of unchanged rows that writes nothing but its batch."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests import factories
from xinyong import db
from xinyong.actors import Actor, Role, cli_operator
from xinyong.audit.models import AuditEvent
from xinyong.catalog.models import Department
from xinyong.db import Base
from xinyong.records.models import BatchStatus, Record, SubmissionBatch, SubmissionError
from xinyong.submissions.ingest import STALE_BATCH_MINUTES, ingest_file
from xinyong.submissions.jobs import (
    MAX_ATTEMPTS,
    claim_next,
    new_job_folder,
    queue_file,
    run_job,
    run_pending_jobs,
)

ADMIN = cli_operator("test")


def _rows(dept: Department, n: int, *, bad: int = 0) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=i // 900)
        rows.append(
            factories.penalty_row(
                dept=dept,
                name="张三",
                id_number=factories.resident_id(birth=birth, seq=i % 900),
                document=f"测罚〔2026〕{i:05d}号",
            )
        )
    for i in range(bad):
        rows[i * 7]["证件号码"] = "123"
    return rows


def _queued(
    session: Session, dept: Department, rows: list[dict[str, str]], *, name: str = "处罚.csv"
) -> SubmissionBatch:
    """A file as the workbench stores it: in a job folder of its own, its batch queued."""
    clerk = Actor(name="clerk1", role=Role.CLERK, department_id=dept.id, department_code=dept.code)
    path = factories.write_csv(new_job_folder() / name, rows, encoding="gb18030")
    batch = queue_file(session, clerk, path, channel="web")
    session.commit()
    return batch


def _status(session: Session, batch_id: int) -> str:
    session.expire_all()
    batch = session.get(SubmissionBatch, batch_id)
    assert batch is not None
    return batch.status


def test_submit_queued_running_with_progress_then_done(session: Session) -> None:
    dept = factories.department(session)
    batch = _queued(session, dept, _rows(dept, 250, bad=3))
    assert batch.status == BatchStatus.QUEUED.value and batch.job is not None
    path = Path(batch.job["path"])
    assert path.is_file() and path.parent.parent == db.get_settings().effective_job_dir

    # Progress as another connection would see it: the counts after every chunk's commit.
    seen: list[tuple[str, int]] = []
    original = session.commit

    def watch() -> None:
        original()
        seen.append((_status(session, batch.id), session.get(SubmissionBatch, batch.id).total_rows))  # type: ignore[union-attr]

    claimed = claim_next(session)
    assert claimed == batch.id and _status(session, batch.id) == "running"
    import xinyong.submissions.ingest as ingest_module

    def chunked(*args: object, **kwargs: object) -> object:
        on_chunk = kwargs["on_chunk"]

        def both() -> None:
            on_chunk()  # type: ignore[operator]
            watch()

        kwargs["on_chunk"] = both
        kwargs["chunk_rows"] = 100
        return ingest_file(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ingest_module, "ingest_file", chunked)
        assert run_job(db.session_factory(), batch.id) == "done"

    assert [s for s, _ in seen] == ["running"] * len(seen) and len(seen) >= 3
    assert [n for _, n in seen] == sorted(n for _, n in seen) and seen[0][1] == 100
    session.expire_all()
    done = session.get(SubmissionBatch, batch.id)
    assert done is not None and done.status == "done" and done.finished_at is not None
    assert (done.total_rows, done.accepted, done.rejected, done.created) == (250, 247, 3, 247)
    assert done.filename == "处罚.csv" and done.file_sha256 and done.record_format == "sgs_penalty"
    assert session.scalar(select(func.count()).select_from(SubmissionError).where(SubmissionError.batch_id == batch.id)) == 3  # fmt: skip
    assert not path.parent.exists()  # the stored file is removed once imported
    # Nothing is left to run.
    assert run_pending_jobs() == 0


def test_one_job_at_a_time_on_sqlite_and_each_claimed_once(
    session: Session, is_postgres: bool
) -> None:
    dept = factories.department(session)
    first = _queued(session, dept, _rows(dept, 3))
    second = _queued(session, dept, _rows(dept, 3))
    assert claim_next(session) == first.id
    # A second runner (another server process) claims the next one only on PostgreSQL:
    # SQLite has one writer, so its jobs run one after the other.
    assert claim_next(session) == (second.id if is_postgres else None)
    assert _status(session, first.id) == "running"
    # A claimed batch is never claimed again.
    assert claim_next(session) is None


def test_restart_runs_a_queued_job_and_resumes_a_stale_running_one(session: Session) -> None:
    dept = factories.department(session)
    rows = _rows(dept, 40)
    queued = _queued(session, dept, rows[:20])
    stale = _queued(session, dept, rows[20:])
    # The process running `stale` was killed after its first chunks: 运行中, silent.
    ingest_file(session, ADMIN, Path(stale.job["path"]), chunk_rows=5, batch=stale)  # type: ignore[index]
    stale.status = BatchStatus.RUNNING.value
    stale.finished_at = None
    stale.heartbeat_at = db.utcnow() - dt.timedelta(minutes=STALE_BATCH_MINUTES + 1)
    session.commit()

    # The server starts again: its runner takes the queued job and resumes the stale one.
    assert run_pending_jobs() == 2
    session.expire_all()
    assert _status(session, queued.id) == "done" and _status(session, stale.id) == "done"
    resumed = session.get(SubmissionBatch, stale.id)
    assert resumed is not None and resumed.job is not None and resumed.job["attempts"] == 1
    # Running the file again duplicated nothing: 40 records, each once.
    assert (resumed.total_rows, resumed.accepted, resumed.unchanged) == (20, 20, 20)
    dept_records = select(func.count()).select_from(Record).where(Record.department_id == dept.id)
    assert session.scalar(dept_records) == 40


def test_a_running_job_with_a_fresh_heartbeat_is_left_to_its_runner(session: Session) -> None:
    dept = factories.department(session)
    batch = _queued(session, dept, _rows(dept, 3))
    assert claim_next(session) == batch.id  # another process runs it
    assert run_pending_jobs() == 0
    assert _status(session, batch.id) == "running"


def test_a_stale_job_without_its_file_or_attempts_is_marked_interrupted(
    session: Session,
) -> None:
    dept = factories.department(session)
    lost = _queued(session, dept, _rows(dept, 3))
    tired = _queued(session, dept, _rows(dept, 3))
    shutil.rmtree(Path(lost.job["path"]).parent)  # type: ignore[index]
    tired.job = {**tired.job, "attempts": MAX_ATTEMPTS}  # type: ignore[dict-item]
    for batch in (lost, tired):
        batch.status = BatchStatus.RUNNING.value
        batch.heartbeat_at = db.utcnow() - dt.timedelta(hours=2)
    session.commit()
    assert run_pending_jobs() == 0
    for batch in (lost, tired):
        session.expire_all()
        marked = session.get(SubmissionBatch, batch.id)
        assert marked is not None and marked.status == "interrupted"
        assert marked.failure is not None and "请重新提交该文件" in marked.failure
        assert not Path(marked.job["path"]).exists()  # type: ignore[index]


def test_a_runner_told_to_stop_queues_its_job_again(session: Session) -> None:
    dept = factories.department(session)
    batch = _queued(session, dept, _rows(dept, 30))
    assert claim_next(session) == batch.id
    stop = threading.Event()
    stop.set()  # the server is shutting down while the job runs its first chunk
    assert run_job(db.session_factory(), batch.id, stop=stop) == "queued"
    assert _status(session, batch.id) == "queued"
    assert Path(batch.job["path"]).is_file()  # type: ignore[index]
    # The next start runs it to the end.
    assert run_pending_jobs() == 1 and _status(session, batch.id) == "done"


def test_an_unreadable_file_fails_its_batch_with_the_reason(session: Session) -> None:
    dept = factories.department(session)
    clerk = Actor(name="clerk1", role=Role.CLERK, department_id=dept.id, department_code=dept.code)
    path = new_job_folder() / "名单.csv"
    path.write_text("姓名,年龄\n张三,3\n", encoding="utf-8")
    batch = queue_file(session, clerk, path, channel="api")
    session.commit()
    assert run_pending_jobs() == 1
    session.expire_all()
    failed = session.get(SubmissionBatch, batch.id)
    assert failed is not None and failed.status == "failed"
    assert failed.failure is not None and failed.failure.startswith("missing_columns:")
    assert "缺少必需的列" in failed.failure
    assert session.scalar(select(func.count()).select_from(Record).where(Record.batch_id == batch.id)) == 0  # fmt: skip


# -- an unchanged re-import writes nothing but its batch -------------------------------------


def _table_rows(session: Session) -> dict[str, int]:
    return {
        t.name: int(session.scalar(select(func.count()).select_from(t)) or 0)
        for t in Base.metadata.sorted_tables
    }


def _database_bytes(session: Session, is_postgres: bool) -> int:
    if is_postgres:
        return int(
            session.scalar(
                text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                )
            )
            or 0
        )
    # In the test's transaction no checkpoint can run; the pages in use are what it wrote.
    pages = session.scalar(text("PRAGMA page_count")) or 0
    free = session.scalar(text("PRAGMA freelist_count")) or 0
    size = session.scalar(text("PRAGMA page_size")) or 0
    return int((pages - free) * size)


def test_reimporting_unchanged_rows_writes_nothing_but_the_batch(
    session: Session, tmp_path: Path, is_postgres: bool
) -> None:
    dept = factories.department(session)
    rows = _rows(dept, 3000, bad=0)
    path = factories.write_csv(tmp_path / "处罚.csv", rows, encoding="gb18030")
    first = ingest_file(session, ADMIN, path, chunk_rows=500, on_chunk=session.commit)
    assert (first.created, first.rejected) == (3000, 0)
    session.commit()
    before_rows = _table_rows(session)
    before_bytes = _database_bytes(session, is_postgres)

    again = ingest_file(session, ADMIN, path, chunk_rows=500, on_chunk=session.commit)
    session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3000)
    grown = {
        name: n - before_rows[name]
        for name, n in _table_rows(session).items()
        if n != before_rows[name]
    }
    # The batch's own record: its row and its audit events (one per chunk and the end);
    # nothing per unchanged row (no version, notice, outbox row, score or list entry).
    assert set(grown) <= {"submission_batches", "audit_events"}, grown
    assert grown["submission_batches"] == 1
    events = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.target_id == str(again.batch_id))
    )
    assert grown.get("audit_events", 0) == events and events is not None and events <= 10
    file_size = path.stat().st_size
    growth = _database_bytes(session, is_postgres) - before_bytes
    assert growth <= 0.05 * file_size, (growth, file_size)


def test_the_jobs_command_runs_the_queue(session: Session) -> None:
    from typer.testing import CliRunner

    from xinyong.cli.main import app

    dept = factories.department(session)
    batch = _queued(session, dept, _rows(dept, 5))
    result = CliRunner().invoke(app, ["jobs"])
    assert result.exit_code == 0, result.output
    assert "已运行导入作业 1 个" in result.stdout
    assert _status(session, batch.id) == "done"


def _locked() -> Exception:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    return OperationalError(
        "UPDATE submission_batches …", {}, sqlite3.OperationalError("database is locked")
    )


def test_a_job_put_back_for_a_lock_is_queued_even_when_that_write_meets_the_lock(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job meets SQLite's lock, and so does the write that puts it back: it must still
    # end 排队中 (not 运行中 with its job attached, blocking the runner for half an hour).
    from xinyong.submissions import jobs

    dept = factories.department(session)
    batch = _queued(session, dept, _rows(dept, 5))
    assert claim_next(session) == batch.id

    def busy_import(*args: object, **kwargs: object) -> None:
        raise _locked()

    monkeypatch.setattr("xinyong.submissions.ingest.ingest_file", busy_import)
    monkeypatch.setattr(jobs.time, "sleep", lambda _s: None)
    real_commit = Session.commit
    refusals = {"left": 2}

    def commit(self: Session) -> None:
        if (
            any(isinstance(o, SubmissionBatch) and o.status == "queued" for o in self.dirty)
            and refusals["left"]
        ):
            refusals["left"] -= 1
            raise _locked()
        real_commit(self)

    monkeypatch.setattr(Session, "commit", commit)
    assert run_job(db.session_factory(), batch.id) == "queued"
    monkeypatch.setattr(Session, "commit", real_commit)
    assert refusals["left"] == 0 and _status(session, batch.id) == "queued"


def test_a_lock_met_inside_a_flush_is_a_busy_error_too() -> None:
    # SQLAlchemy reports a flush that met the lock, on the next use of the session, as a
    # PendingRollbackError whose context is the lock: still "busy", not an internal error.
    from sqlalchemy.exc import PendingRollbackError

    try:
        try:
            raise _locked()
        except Exception:
            raise PendingRollbackError("This Session's transaction has been rolled back")  # noqa: B904
    except PendingRollbackError as wrapped:
        assert db.is_busy_error(wrapped)
    assert not db.is_busy_error(PendingRollbackError("rolled back for another reason"))
    assert not db.is_busy_error(ValueError("database is locked"))
