"""Submission jobs: an uploaded file is stored and queued; a job runner imports it.

A request that posts a file (the workbench, ``POST /api/v1/submissions``) stores it under
the job folder (``Settings.effective_job_dir``), creates its batch 排队中 (queued) with
``SubmissionBatch.job`` and answers at once. A job runner claims the oldest queued batch
with a conditional UPDATE (``queued`` → ``running``), so that of several server processes
exactly one runs it; on SQLite a batch is claimed only while no other job runs, so the
database has one job writing at a time. The job runs the usual pipeline
(``ingest_file``, one commit per chunk): other requests wait at most a chunk for the
write lock. The batch's counts are its progress; at the end its result.

A job survives a restart: a queued batch is simply claimed by the next runner; a running
one whose heartbeat went stale (``mark_interrupted_batches``) is queued again while its
file is kept and it has attempts left (running the file again is harmless: the merge is
keyed on department, item, document number and subject), else marked 中断. A runner told
to stop (the server shutting down) queues its job again after the chunk in flight.

The server's lifespan runs ``run_pending_jobs`` in a background thread (``start_worker``);
tests and ``xinyong jobs run`` call it directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.config import Settings, get_settings
from xinyong.db import affected, is_busy_error, is_postgres, utcnow, writing_factory
from xinyong.errors import UnreadableFile, XinyongError
from xinyong.records.models import BatchStatus, SubmissionBatch

log = logging.getLogger("xinyong.jobs")

# A job is run at most this many times (a resumed job counts again): a file that kills
# its process every time is marked 中断 rather than retried for ever.
MAX_ATTEMPTS = 3
INTERNAL_FAILURE = "internal: 导入时发生内部错误，请联系信用办"
SQLITE_YIELD_SECONDS = 0.15  # after each chunk's commit on SQLite (see run_job)
# On SQLite a job's chunk holds the one write lock while every request that writes (or
# records a read) waits up to its busy bound: a job's chunks are small, so that a request
# waits a fraction of a second, and the job itself waits as long as it must.
SQLITE_JOB_CHUNK_ROWS = 2_500
SQLITE_JOB_BUSY_SECONDS = 600.0


class JobStopped(Exception):
    """The runner was told to stop: the job is queued again after the chunk in flight."""


def new_job_folder(settings: Settings | None = None) -> Path:
    """An empty folder of its own for one uploaded file (the file keeps its name)."""
    folder = (settings or get_settings()).effective_job_dir / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def queue_file(
    session: Session,
    actor: Actor,
    path: Path,
    *,
    channel: str,
    item_code: str | None = None,
    department_code: str | None = None,
) -> SubmissionBatch:
    """Create the queued batch of a stored file. Whether the actor may submit for the
    department is decided now (the request is answered with it); the rows, by the job."""
    from xinyong.submissions.ingest import submitting_department

    department = submitting_department(session, actor, department_code)
    batch = SubmissionBatch(
        department_id=department.id if department else actor.department_id,
        submitted_by=actor.name,
        channel=channel,
        filename=path.name,
        item_code=item_code,
        status=BatchStatus.QUEUED.value,
        job={
            "path": str(path),
            "item_code": item_code,
            "department_code": department_code,
            "actor": dataclasses.asdict(actor),
            "attempts": 0,
        },
    )
    session.add(batch)
    session.flush()
    record_event(session, actor, "records:submission:queued", target_type="submission_batch", target_id=batch.id, details={"channel": channel})  # fmt: skip
    return batch


def requeue_or_drop(batch: SubmissionBatch) -> bool:
    """A job's batch found 运行中 and silent: queue it again (True) while its file is kept
    and it has attempts left; otherwise drop the file (False: the caller marks it 中断)."""
    job = batch.job
    if not job:
        return False
    path = Path(job["path"])
    if path.is_file() and int(job.get("attempts", 0)) < MAX_ATTEMPTS:
        batch.status = BatchStatus.QUEUED.value
        batch.heartbeat_at = utcnow()
        return True
    _drop_file(job)
    return False


def claim_next(session: Session) -> int | None:
    """Claim the oldest queued batch (queued → running) and commit; its id, or None."""
    for _ in range(5):  # another runner may claim the candidate first
        candidate = session.scalar(
            select(SubmissionBatch.id)
            .where(SubmissionBatch.status == BatchStatus.QUEUED.value)
            .order_by(SubmissionBatch.id)
            .limit(1)
        )
        if candidate is None:
            return None
        claim = (
            update(SubmissionBatch)
            .where(
                SubmissionBatch.id == candidate,
                SubmissionBatch.status == BatchStatus.QUEUED.value,
            )
            .values(status=BatchStatus.RUNNING.value, started_at=utcnow(), heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if not is_postgres(session):
            # SQLite has one writer: one job at a time, whichever process runs it.
            other = aliased(SubmissionBatch)
            claim = claim.where(
                ~exists().where(
                    other.status == BatchStatus.RUNNING.value,
                    other.job.is_not(None),
                )
            )
        claimed = affected(session.execute(claim))
        session.commit()
        if claimed:
            return candidate
        if not is_postgres(session):
            return None  # another job is running (or took this one): wait for it
    return None


def run_pending_jobs(
    factory: sessionmaker[Session] | None = None,
    *,
    stop: threading.Event | None = None,
    limit: int | None = None,
) -> int:
    """Run queued jobs until none is left (or ``limit`` ran, or ``stop`` is set); how many
    were run. Stale running jobs are queued again (or marked 中断) first."""
    from xinyong.db import session_factory
    from xinyong.submissions.ingest import mark_interrupted_batches

    reader = factory or session_factory()
    # Every transaction of the runner that writes takes SQLite's lock when it begins and
    # waits for it, rather than failing after a read (db.request_session); an idle runner
    # only reads, so it never queues behind a running job's chunk.
    writer = writing_factory(reader, busy_seconds=SQLITE_JOB_BUSY_SECONDS)
    ran = 0
    recovered = False
    while limit is None or ran < limit:
        if stop is not None and stop.is_set():
            break
        with reader() as session:
            queued, stale, busy = _waiting(session)
        if stale and not recovered:
            with writer() as session:
                mark_interrupted_batches(session)
                session.commit()
            recovered = True
            continue
        if not queued or busy:
            break
        with writer() as session:
            batch_id = claim_next(session)
        if batch_id is None:
            break
        run_job(writer, batch_id, stop=stop)
        ran += 1
    return ran


def _waiting(session: Session) -> tuple[bool, bool, bool]:
    """(a batch is queued, a running batch went silent, SQLite is running a job already)."""
    from xinyong.submissions.ingest import STALE_BATCH_MINUTES

    queued = session.scalar(
        select(SubmissionBatch.id)
        .where(SubmissionBatch.status == BatchStatus.QUEUED.value)
        .limit(1)
    )
    stale_before = utcnow() - dt.timedelta(minutes=STALE_BATCH_MINUTES)
    running = session.execute(
        select(SubmissionBatch.heartbeat_at, SubmissionBatch.started_at, SubmissionBatch.job).where(
            SubmissionBatch.status == BatchStatus.RUNNING.value
        )
    ).all()
    stale = any((beat or started) < stale_before for beat, started, _ in running)
    busy = not is_postgres(session) and any(job is not None for *_, job in running)
    session.rollback()
    return queued is not None, stale, busy


def run_job(
    factory: sessionmaker[Session], batch_id: int, *, stop: threading.Event | None = None
) -> str:
    """Import the file of a claimed batch; the batch's final status."""
    from xinyong.submissions.ingest import ingest_file

    with factory() as session:
        batch = session.get(SubmissionBatch, batch_id)
        if batch is None or batch.job is None or batch.status != BatchStatus.RUNNING.value:
            return batch.status if batch is not None else "missing"
        job = dict(batch.job)
        job["attempts"] = int(job.get("attempts", 0)) + 1
        batch.job = job
        session.commit()
        actor = Actor(**job["actor"])

        sqlite = not is_postgres(session)

        def chunk_done() -> None:
            session.commit()
            if stop is not None and stop.is_set():
                raise JobStopped
            if sqlite:
                # Let the writers waiting in their busy handlers (which sleep up to 100 ms
                # between tries) take the lock before the next chunk does: without the
                # pause the job would take it again at once and starve them for its length.
                time.sleep(SQLITE_YIELD_SECONDS)

        try:
            ingest_file(
                session,
                actor,
                Path(job["path"]),
                item_code=job.get("item_code"),
                department_code=job.get("department_code"),
                channel=batch.channel,
                chunk_rows=min(get_settings().import_chunk_rows, SQLITE_JOB_CHUNK_ROWS)
                if sqlite
                else None,
                on_chunk=chunk_done,
                batch=batch,
            )
            session.commit()
        except JobStopped:
            session.rollback()
            _set_status(session, batch_id, BatchStatus.QUEUED.value)
            return BatchStatus.QUEUED.value
        except UnreadableFile as exc:
            session.rollback()
            _fail(session, actor, batch_id, f"{exc.code}: {exc.message}", exc.code)
        except XinyongError as exc:
            session.rollback()
            _fail(session, actor, batch_id, f"{exc.code}: {exc.message}", exc.code)
        except Exception as exc:
            session.rollback()
            if is_busy_error(exc) and job["attempts"] < MAX_ATTEMPTS:
                log.warning("submission job %s waited too long for a lock; queued again", batch_id)
                _set_status(session, batch_id, BatchStatus.QUEUED.value)
                return BatchStatus.QUEUED.value
            log.exception("submission job %s failed", batch_id)
            _fail(session, actor, batch_id, INTERNAL_FAILURE, "internal")
        _drop_file(job)
        return BatchStatus.DONE.value if _status(session, batch_id) == "done" else "failed"


def _status(session: Session, batch_id: int) -> str | None:
    return session.scalar(select(SubmissionBatch.status).where(SubmissionBatch.id == batch_id))


STATUS_ATTEMPTS = 20


def _until_written(session: Session, write: Callable[[], None]) -> None:
    """Write a batch's own status. On SQLite the write can meet the lock itself (often the
    job ends here because it met it), so it is tried again until it lands rather than
    leaving the batch 运行中 with its job attached."""
    for attempt in range(STATUS_ATTEMPTS):
        try:
            write()
            return
        except Exception as exc:
            session.rollback()
            if not is_busy_error(exc) or attempt == STATUS_ATTEMPTS - 1:
                raise
            time.sleep(min(0.5 * (attempt + 1), 5.0))


def _set_status(session: Session, batch_id: int, status: str) -> None:
    def write() -> None:
        batch = session.get(SubmissionBatch, batch_id)
        if batch is not None:
            batch.status = status
            batch.heartbeat_at = utcnow()
            session.commit()

    _until_written(session, write)


def _fail(session: Session, actor: Actor, batch_id: int, failure: str, code: str) -> None:
    """The file could not be imported at all: the batch says why (rows merged by earlier
    chunks stay, as in any import)."""

    def write() -> None:
        batch = session.get(SubmissionBatch, batch_id)
        if batch is None:
            return
        batch.status = BatchStatus.FAILED.value
        batch.failure = failure
        batch.finished_at = utcnow()
        session.flush()
        record_event(session, actor, "records:submission:failed", target_type="submission_batch", target_id=batch_id, details={"code": code})  # fmt: skip
        session.commit()

    _until_written(session, write)


def _drop_file(job: dict[str, Any]) -> None:
    folder = Path(job["path"]).parent
    shutil.rmtree(folder, ignore_errors=True)


def start_worker(settings: Settings | None = None) -> tuple[threading.Thread, threading.Event]:
    """The job runner of one server process: a daemon thread polling for queued jobs."""
    settings = settings or get_settings()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                run_pending_jobs(stop=stop)
            except Exception as exc:  # the database may be briefly unavailable: try again
                if is_busy_error(exc):
                    log.warning("submission job runner: database busy, trying again")
                else:
                    log.exception("submission job runner")
            stop.wait(settings.job_poll_seconds)

    thread = threading.Thread(target=loop, name="xinyong-jobs", daemon=True)
    thread.start()
    return thread, stop
