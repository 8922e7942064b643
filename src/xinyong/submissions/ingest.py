"""Submission (归集): a table of rows → validated records merged set-based, in chunks.

Rows are validated in Python, then each chunk is loaded into a temporary staging table
(``COPY`` on PostgreSQL, one ``executemany`` on SQLite) and merged with two set-based
statements: archive the versions a changed row replaces, then upsert on the submission
key. A chunk is one transaction: a crash loses at most the chunk in flight, and running
the file again neither duplicates nor half-writes anything, because the merge is keyed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import Table, UniqueConstraint, delete, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from xinyong import runtime
from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.bulk import copy_columns, staging_table, table_columns
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.changes.effects import apply_batch_consequences
from xinyong.config import get_settings
from xinyong.db import affected, is_postgres, utcnow
from xinyong.errors import Forbidden, InvalidInput, NotFound, UnreadableFile
from xinyong.identity.masking import Audience, mask_name, mask_value
from xinyong.identity.protection import IdentityProtector, protector_for
from xinyong.records.formats import ColumnMap, detect_format, legacy_headers, map_columns
from xinyong.records.grading import grade_source_label
from xinyong.records.models import (
    BatchStatus,
    Record,
    RecordState,
    RecordVersion,
    SubmissionBatch,
    SubmissionError,
)
from xinyong.records.parsers import RawRow, open_table
from xinyong.records.validation import (
    ALIAS_ID_TYPES,
    RowContext,
    RowError,
    RowNote,
    RowValidator,
    SubjectRef,
    ValidRow,
)
from xinyong.subjects.models import LinkRole, Subject, SubjectAlias, SubjectKind, SubjectLink

MAX_ERRORS_IN_SUMMARY = 1000
MAX_NOTES_IN_SUMMARY = 1000
# A running batch whose import has not reported for this long was killed (its process
# ended without finishing): it is marked 中断. A chunk reports every few seconds.
STALE_BATCH_MINUTES = 30
# Rows read and validated together. Smaller than a chunk: the rows as read (a dict of
# every cell) are the largest objects of an import, and they are dropped once validated.
VALIDATION_BATCH_ROWS = 5_000
SQLITE_CHUNK_ROWS = 10_000
# What a unique key violated by an insert raises, from the drivers themselves (the direct
# insert uses the driver's cursor).
INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)
ALIAS_TYPE_VALUES = frozenset(t.value for t in ALIAS_ID_TYPES)
# The columns the raw statements below write, from the models.
SUBJECT_COLUMNS = table_columns(Subject.__table__, without=("id",))
# What a submitted row gives a record; the record's own state, version and times are not.
RECORD_OWN = ("id", "grade_reason", "state", "version", "created_at", "updated_at")
STAGE_COLUMNS = table_columns(Record.__table__, without=RECORD_OWN)
# Validated rows of a chunk wait here for the keyed merge (a temporary table).
STAGE = staging_table("stage_records", Record.__table__, STAGE_COLUMNS)
# What a resubmitted row is matched on: the records' unique key.
RECORD_KEY = next(
    tuple(c.name for c in u.columns)
    for u in cast(Table, Record.__table__).constraints
    if isinstance(u, UniqueConstraint)
)
# Columns a resubmission may change; state and id stay.
UPDATABLE = tuple(c for c in STAGE_COLUMNS if c not in RECORD_KEY)
# A record's columns as its archived version keeps them.
VERSION_COLUMNS = tuple(
    c for c in table_columns(RecordVersion.__table__, without=("id",)) if c in Record.__table__.c
)
# What an archived version adds: the record it was, when and by which batch it was replaced.
VERSION_OWN = table_columns(RecordVersion.__table__, without=("id", *VERSION_COLUMNS))


_LONG_NUMBER = re.compile(r"[0-9A-Za-z]{8,}")


@dataclass
class ImportResult:
    batch_id: int
    record_format: str
    total: int = 0
    accepted: int = 0
    rejected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    # What decided the accepted negative records' grades (records.grading), and the
    # behaviour texts that name no behaviour of the behaviour classification catalog.
    grade_sources: dict[str, int] = field(default_factory=dict)
    unmatched_behaviours: dict[str, int] = field(default_factory=dict)
    unmatched_behaviour_rows: int = 0
    catalog: Catalog | None = field(default=None, repr=False)

    def note_grading(self, rows: Iterable[ValidRow]) -> None:
        for row in rows:
            if row.grade_source:
                self.grade_sources[row.grade_source] = (
                    self.grade_sources.get(row.grade_source, 0) + 1
                )
            text = row.unmatched_behaviour
            if text:
                # Free text may quote a number: never an identity number in a summary.
                text = _LONG_NUMBER.sub(lambda m: mask_value(m.group()), text[:40])
                self.unmatched_behaviour_rows += 1
                if text in self.unmatched_behaviours or len(self.unmatched_behaviours) < 50:
                    self.unmatched_behaviours[text] = self.unmatched_behaviours.get(text, 0) + 1

    def summary_notes(self) -> list[str]:
        """What the department should know about rows that were accepted (Chinese)."""
        if not self.unmatched_behaviour_rows:
            return []
        texts = sorted(self.unmatched_behaviours.items(), key=lambda kv: -kv[1])[:10]
        shown = "、".join(f"“{t}”（{n} 行）" for t, n in texts)
        return [
            f"{self.unmatched_behaviour_rows} 行所填行为未对应信用行为分类目录，"
            f"已按定级规则或目录项默认等级定级：{shown}"
        ]

    notes: list[RowNote] = field(default_factory=list)  # accepted rows worth a look
    note_count: int = 0

    @property
    def exit_code(self) -> int:
        return 0 if self.rejected == 0 else 2

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "format": self.record_format,
            "total": self.total,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "ignored_columns": self.ignored_columns,
            "grade_sources": [
                {"source": source, "label": grade_source_label(source, self.catalog), "rows": n}
                for source, n in sorted(self.grade_sources.items(), key=lambda kv: -kv[1])
            ],
            "summary_notes": self.summary_notes(),
            "errors": [e.as_dict() for e in self.errors],
            "errors_truncated": self.error_count > len(self.errors),
            "notes": [n.as_dict() for n in self.notes],
            "notes_truncated": self.note_count > len(self.notes),
        }


@dataclass(frozen=True)
class TableInput:
    """Anything the pipeline can read: headers and numbered rows."""

    headers: list[str]
    rows: Iterable[RawRow]
    filename: str | None = None
    file_sha256: str | None = None


def _department_maps(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    by_credit: dict[str, int] = {}
    by_code: dict[str, int] = {}
    for dept in session.scalars(select(Department)):
        by_code[dept.code] = dept.id
        if dept.credit_code:
            by_credit[dept.credit_code] = dept.id
    return by_credit, by_code


REQUIRED_COLUMNS = (
    ("subject_name", "主体名称（行政相对人名称）"),
    ("document_number", "决定文书号"),
    ("decision_date", "决定日期"),
)


def _check_headers(columns: ColumnMap, catalog: Catalog, fixed_item: Any) -> None:
    present = {name for _, name in columns.columns.values()}
    missing = [label for name, label in REQUIRED_COLUMNS if name not in present]
    if not present & {"id_number", "resident_id_number", "credit_code"}:
        missing.append("证件号码或统一社会信用代码")
    if fixed_item is None and "item_code" not in present:
        missing.append("目录项（或使用 --item 指定）")
    if fixed_item is not None:
        for spec in fixed_item.fields:
            if spec.required and spec.name not in present:
                missing.append(spec.label)
    if missing:
        raise UnreadableFile("文件缺少必需的列：" + "、".join(missing), code="missing_columns")


def submitting_department(
    session: Session, actor: Actor, department_code: str | None
) -> Department | None:
    """The department a submission is filed under (None: each row names its own), or why
    the actor may not submit for it."""
    fixed_department: Department | None = None
    if actor.is_department:
        if actor.department_id is None:
            raise Forbidden("该密钥未绑定部门", code="no_department")
        fixed_department = session.get(Department, actor.department_id)
        if department_code and fixed_department and department_code != fixed_department.code:
            raise Forbidden("不能代其他部门报送", code="department_mismatch")
    elif department_code:
        fixed_department = session.scalar(
            select(Department).where(Department.code == department_code)
        )
        if fixed_department is None:
            raise NotFound(f"部门 {department_code} 未登记", code="unknown_department")
    elif not actor.is_admin:
        raise Forbidden("无权报送", code="forbidden")
    return fixed_department


def ingest_table(
    session: Session,
    actor: Actor,
    table: TableInput,
    *,
    department_code: str | None = None,
    item_code: str | None = None,
    channel: str = "cli",
    chunk_rows: int | None = None,
    protector: IdentityProtector | None = None,
    on_chunk: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
    queue_for_upper: bool = True,
    batch: SubmissionBatch | None = None,
) -> ImportResult:
    """Validate and merge every row; reject bad rows with reasons; return the summary.

    ``queue_for_upper=False`` keeps the batch out of the exchange outbox: records pulled
    from the upper platform are not pushed back to it.

    ``on_chunk`` is called after each chunk has been flushed: the CLI commits there, so a
    large file is merged in bounded transactions.

    ``batch`` is the batch of a queued job (submissions.jobs), already claimed 运行中: it is
    filled in (and, when the job is resumed, its earlier counts and errors replaced).
    """
    settings = get_settings()
    protector = protector or protector_for(settings)
    catalog = current_catalog(session)
    if not chunk_rows:
        chunk_rows = settings.import_chunk_rows
        if not is_postgres(session):
            # Two chunks are alive at once (one merging, the next validated); on SQLite
            # the database shares the process's memory, so its chunks are smaller.
            chunk_rows = min(chunk_rows, SQLITE_CHUNK_ROWS)

    fixed_department = submitting_department(session, actor, department_code)
    mark_interrupted_batches(session)
    legacy = legacy_headers(table.headers)
    if legacy is not None:  # the earlier 双公示 generation, read as today's
        table = TableInput(
            legacy.headers,
            (RawRow(r.number, legacy.values(r.values), r.problem) for r in table.rows),
            table.filename,
            table.file_sha256,
        )
    record_format = detect_format(table.headers)
    fixed_item = None
    if item_code:
        fixed_item = catalog.item(item_code)
    elif record_format != "generic":
        fixed_item = catalog.item_for_format(record_format)
        if fixed_item is None:
            raise InvalidInput(f"目录中没有 {record_format} 格式的目录项", code="unknown_item")
    columns = map_columns(table.headers, fixed_item)
    _check_headers(columns, catalog, fixed_item)

    by_credit, by_code = _department_maps(session)
    # Who may submit which item is checked where a department submits; what another platform
    # passes on (the upper platform's lists, a city's records) was checked where collected.
    names = (
        {}
        if channel == "exchange"
        else {d.id: (d.name, d.code) for d in session.scalars(select(Department))}
    )
    ctx = RowContext(
        catalog=catalog,
        protector=protector,
        departments_by_credit_code=by_credit,
        departments_by_code=by_code,
        fixed_department_id=fixed_department.id if fixed_department else None,
        restrict_to_department=actor.is_department,
        fixed_item=fixed_item,
        submitted_by=actor.name,
        profile=settings.profile,
        department_names=names,
    )
    validator = RowValidator(ctx, columns)

    if batch is None:
        batch = SubmissionBatch(
            department_id=fixed_department.id if fixed_department else None,
            submitted_by=actor.name,
            channel=channel,
        )
        session.add(batch)
    else:  # a job, perhaps resumed: what an earlier run counted is counted again
        session.execute(delete(SubmissionError).where(SubmissionError.batch_id == batch.id))
        batch.total_rows = batch.accepted = batch.rejected = 0
        batch.created = batch.updated = batch.unchanged = 0
    batch.filename = table.filename
    batch.file_sha256 = table.file_sha256
    batch.record_format = record_format
    batch.item_code = fixed_item.code if fixed_item else None
    session.flush()
    result = ImportResult(
        batch_id=batch.id,
        record_format=record_format,
        ignored_columns=list(columns.unknown),
        catalog=catalog,
    )
    merger = _Merger(session, protector, batch.id, name_header=validator.name_header)

    with runtime.fewer_collections(), runtime.small_sqlite_cache(session):
        validated = _validated_chunks(table.rows, validator, chunk_rows)
        with runtime.in_background(validated, name="xinyong-import-validate") as chunks:
            for chunk in chunks:
                _merge_chunk(session, actor, protector, batch, merger, chunk, result)
                del chunk
                runtime.return_freed_memory()
                if on_chunk is not None:
                    on_chunk()
                if progress is not None:
                    progress(result.total)
        if fixed_item is None:
            result.ignored_columns = [
                h for h in columns.unknown if h not in validator.field_headers
            ]
        if result.created or result.updated:
            batch.heartbeat_at = utcnow()
            session.flush()
            apply_batch_consequences(
                session, batch.id, merger.touched, queue_for_upper=queue_for_upper
            )
    batch.status = BatchStatus.DONE.value
    batch.finished_at = utcnow()
    batch.notes = [n.as_dict() for n in result.notes] or None
    session.flush()
    record_event(session, actor, "records:submission:completed", target_type="submission_batch", target_id=batch.id, details={"format": record_format, "total": result.total, "accepted": result.accepted, "rejected": result.rejected, "created": result.created, "updated": result.updated, "unchanged": result.unchanged})  # fmt: skip
    return result


@dataclass
class _Chunk:
    rows: list[ValidRow]
    errors: list[tuple[RowError, dict[str, str]]]


def _validated_chunks(
    rows: Iterable[RawRow], validator: RowValidator, chunk_rows: int
) -> Iterator[_Chunk]:
    """Validate rows into chunks. A record seen twice ends the chunk, so that the later row
    becomes a new version of the earlier one, as it would in two submissions."""
    chunk = _Chunk([], [])
    keys: set[tuple[int, str, str, str]] = set()
    source = iter(rows)
    while batch := list(itertools.islice(source, min(chunk_rows, VALIDATION_BATCH_ROWS))):
        outcomes = validator.validate_rows(batch)
        # The rejected rows' cells are kept (encrypted) for the error file; the accepted
        # rows' cells are done with, and a chunk of them is most of an import's memory.
        rejected = {i: batch[i].values for i, o in enumerate(outcomes) if isinstance(o, RowError)}
        del batch
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, RowError):
                chunk.errors.append((outcome, rejected[i]))
            else:
                if outcome.key in keys:
                    yield chunk
                    chunk, keys = _Chunk([], []), set()
                chunk.rows.append(outcome)
                keys.add(outcome.key)
            if len(chunk.rows) + len(chunk.errors) >= chunk_rows:
                yield chunk
                chunk, keys = _Chunk([], []), set()
        del outcomes, rejected
    yield chunk


def _merge_chunk(
    session: Session,
    actor: Actor,
    protector: IdentityProtector,
    batch: SubmissionBatch,
    merger: _Merger,
    chunk: _Chunk,
    result: ImportResult,
) -> None:
    result.total += len(chunk.rows) + len(chunk.errors)
    result.accepted += len(chunk.rows)
    result.rejected += len(chunk.errors)
    every = [(one, values) for err, values in chunk.errors for one in err.every()]
    result.error_count += len(every)
    room = MAX_ERRORS_IN_SUMMARY - len(result.errors)
    if room > 0:
        result.errors.extend(err for err, _ in every[:room])
    result.note_grading(chunk.rows)
    created, updated = merger.merge(chunk.rows)
    notes = [n for r in chunk.rows for n in r.notes] + merger.take_notes()
    notes.sort(key=lambda n: n.row)
    result.note_count += len(notes)
    room = MAX_NOTES_IN_SUMMARY - len(result.notes)
    if room > 0:
        result.notes.extend(notes[:room])
    result.created += created
    result.updated += updated
    result.unchanged += len(chunk.rows) - created - updated
    _store_errors(session, protector, batch.id, every)
    batch.heartbeat_at = utcnow()
    batch.total_rows, batch.accepted, batch.rejected = (
        result.total,
        result.accepted,
        result.rejected,
    )
    batch.created, batch.updated, batch.unchanged = (
        result.created,
        result.updated,
        result.unchanged,
    )
    session.flush()
    record_event(session, actor, "records:submission:merged", target_type="submission_batch", target_id=batch.id, details={"rows": len(chunk.rows) + len(chunk.errors), "accepted": len(chunk.rows), "rejected": len(chunk.errors), "created": created, "updated": updated, "total_so_far": result.total})  # fmt: skip


def ingest_file(
    session: Session,
    actor: Actor,
    path: Path,
    *,
    department_code: str | None = None,
    item_code: str | None = None,
    channel: str = "cli",
    chunk_rows: int | None = None,
    protector: IdentityProtector | None = None,
    on_chunk: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: SubmissionBatch | None = None,
) -> ImportResult:
    settings = get_settings()
    digest = _file_sha256(path)
    with open_table(
        path, max_cell_chars=settings.max_cell_chars, max_bytes=settings.max_upload_bytes
    ) as raw:
        table = TableInput(raw.headers, raw.rows(), filename=path.name, file_sha256=digest)
        return ingest_table(
            session,
            actor,
            table,
            department_code=department_code,
            item_code=item_code,
            channel=channel,
            chunk_rows=chunk_rows,
            protector=protector,
            on_chunk=on_chunk,
            progress=progress,
            batch=batch,
        )


def mark_interrupted_batches(session: Session, now: dt.datetime | None = None) -> int:
    """Mark 中断 the batches whose import was killed: still 运行中, silent for too long.

    A job's batch (submissions.jobs) whose file is still kept is queued again instead, and
    the job runner runs the file again (harmless: the merge is keyed).

    Run at the start of every import and by the daily job; the rows merged before the
    interruption stay (each chunk was its own transaction), the batch says it is incomplete.
    """
    now = now or utcnow()
    stale = now - dt.timedelta(minutes=STALE_BATCH_MINUTES)
    batches = session.scalars(
        select(SubmissionBatch).where(SubmissionBatch.status == BatchStatus.RUNNING.value)
    ).all()
    marked = 0
    changed = False
    for batch in batches:
        last = batch.heartbeat_at or batch.started_at
        if last is not None and last < stale:
            from xinyong.submissions.jobs import requeue_or_drop

            if requeue_or_drop(batch):  # a job whose file is kept: run it again
                changed = True
                continue
            batch.status = BatchStatus.INTERRUPTED.value
            batch.failure = (
                "interrupted: 导入进程在完成前中止，已入库的行保留，其余行未处理，请重新提交该文件"
            )
            batch.finished_at = now
            marked += 1
    if marked or changed:
        session.flush()
    return marked


def record_unreadable(
    session: Session, actor: Actor, filename: str | None, error: UnreadableFile, channel: str
) -> int:
    """Keep provenance of a file that could not be read at all."""
    batch = SubmissionBatch(
        department_id=actor.department_id,
        submitted_by=actor.name,
        channel=channel,
        filename=filename,
        status=BatchStatus.FAILED.value,
        failure=f"{error.code}: {error.message}",
        finished_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    record_event(session, actor, "records:submission:failed", target_type="submission_batch", target_id=batch.id, details={"code": error.code})  # fmt: skip
    return batch.id


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _store_errors(
    session: Session,
    protector: IdentityProtector,
    batch_id: int,
    errors: list[tuple[RowError, dict[str, str]]],
) -> None:
    if not errors:
        return
    context = f"batch:{batch_id}"
    session.execute(
        insert(SubmissionError),
        [
            {
                "batch_id": batch_id,
                "row_number": err.row,
                "column": (err.column or "")[:200] or None,
                "code": err.code,
                "message": err.message,
                "value_masked": (err.value or "")[:200] or None,
                "row_cipher": protector.encrypt_text(
                    json.dumps(values, ensure_ascii=False), context
                ),
            }
            for err, values in errors
        ],
    )


def _alias_insert(postgres: bool) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: a concurrent import may link the same document."""
    if postgres:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(SubjectAlias).on_conflict_do_nothing(index_elements=["id_index"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(SubjectAlias).on_conflict_do_nothing(index_elements=["id_index"])


def _fresh_record(now: dt.datetime) -> dict[str, Any]:
    """A new record's own columns (RECORD_OWN but its id, and grade_reason, which only a
    re-grading or correction sets): in use, version 1, created now."""
    return {"state": RecordState.ACTIVE.value, "version": 1, "created_at": now, "updated_at": now}


class _Merger:
    """Loads validated rows into staging and merges them into ``records``."""

    def __init__(
        self,
        session: Session,
        protector: IdentityProtector,
        batch_id: int,
        *,
        name_header: str = "行政相对人名称",
    ) -> None:
        self.session = session
        self.protector = protector
        self.batch_id = batch_id
        self.postgres = is_postgres(session)
        self.subject_ids: dict[str, int] = {}
        self.subject_names: dict[int, str] = {}  # archive's name of each subject seen
        self.name_header = name_header
        self._notes: list[RowNote] = []
        self.touched: set[int] = set()  # subjects whose records this batch created or changed
        self._staged = False
        # Until a chunk meets a record that exists, chunks are inserted without staging.
        self._fresh_keys = True
        self._probed = False  # whether the first chunk has shown if the file is new

    def _ensure_stage(self) -> None:
        if self._staged:
            return
        self.session.execute(CreateTable(STAGE, if_not_exists=True))
        self._staged = True

    # -- subjects ------------------------------------------------------------------------

    def resolve_subjects(self, refs: Iterable[SubjectRef]) -> None:
        if len(self.subject_ids) > 20_000:  # bounded: memory stays flat on any file
            self.subject_ids.clear()
            self.subject_names.clear()
        wanted: dict[str, SubjectRef] = {}
        for ref in refs:
            if ref.id_index not in self.subject_ids:
                wanted.setdefault(ref.id_index, ref)
        if not wanted:
            return
        # A passport or permit linked to a person (an alias) is that person's archive.
        others = [i for i, ref in wanted.items() if ref.id_type in ALIAS_TYPE_VALUES]
        if others:
            self._read_aliases(others)
        self._read_subject_ids([i for i in wanted if i not in self.subject_ids])
        missing = [ref for index, ref in wanted.items() if index not in self.subject_ids]
        if missing:
            now = [utcnow()] * len(missing)
            encrypt = self.protector.encrypt
            columns: dict[str, list[Any]] = {
                "kind": [ref.kind for ref in missing],
                "id_type": [ref.id_type for ref in missing],
                "id_index": [ref.id_index for ref in missing],
                "id_cipher": [encrypt(ref.number, ref.id_index) for ref in missing],
                "name": [ref.name for ref in missing],
                "birth_date": [ref.birth_date for ref in missing],
                "sex": [ref.sex for ref in missing],
                "region_code": [ref.region_code for ref in missing],
                "created_at": now,
                "updated_at": now,
            }
            if self.postgres:
                self._copy_subjects(columns)
            else:
                # Plain executemany (no RETURNING): sorted RETURNING batches are quadratic
                # in the batch size; the ids are read back below instead. A concurrent
                # import may create the same subject: DO NOTHING.
                copy_columns(
                    self.session,
                    Subject.__table__,
                    columns,
                    sqlite_suffix=" ON CONFLICT (id_index) DO NOTHING",
                )
            self._read_subject_ids([ref.id_index for ref in missing])

    def _read_subject_ids(self, indexes: list[str]) -> None:
        """Ids of the subjects with these blind indexes that exist, in one query: an array
        parameter on PostgreSQL, a JSON array on SQLite (not thousands of bound values)."""
        if not indexes:
            return
        if self.postgres:
            query = text("SELECT id, id_index, name FROM subjects WHERE id_index = ANY(:keys)")
            keys: Any = indexes
        else:
            query = text(
                "SELECT id, id_index, name FROM subjects "
                "WHERE id_index IN (SELECT value FROM json_each(:keys))"
            )
            keys = json.dumps(indexes)
        for sid, index, name in self.session.execute(query, {"keys": keys}):
            self.subject_ids[index] = sid
            self.subject_names[sid] = name

    def _read_aliases(self, indexes: list[str]) -> None:
        among = "= ANY(:keys)" if self.postgres else "IN (SELECT value FROM json_each(:keys))"
        keys: Any = indexes if self.postgres else json.dumps(indexes)
        query = text(
            "SELECT a.id_index, s.id, s.name FROM subject_aliases a "
            f"JOIN subjects s ON s.id = a.subject_id WHERE a.id_index {among}"
        )
        for index, sid, name in self.session.execute(query, {"keys": keys}):
            self.subject_ids[index] = sid
            self.subject_names[sid] = name

    def _link_aliases(self, rows: list[ValidRow]) -> None:
        """Store a person's other documents (blind index + ciphertext) against their archive."""
        wanted = {
            alias.id_index: (self.subject_ids[r.subject.id_index], alias)
            for r in rows
            for alias in r.aliases
        }
        if not wanted:
            return
        self._read_aliases([i for i in wanted if i not in self.subject_ids])
        # An alias already linked stays as it is; linked to someone else, the row says so.
        for r in rows:
            for alias in r.aliases:
                linked = self.subject_ids.get(alias.id_index)
                if linked is not None and linked != self.subject_ids[r.subject.id_index]:
                    self._notes.append(
                        RowNote(
                            r.row,
                            None,
                            "alias_of_another",
                            f"该{alias.id_type}已关联到另一人的档案，本行按身份证号归档，"
                            "证件未重新关联，请核实",
                        )
                    )
        new = [(sid, alias) for i, (sid, alias) in wanted.items() if i not in self.subject_ids]
        if new:
            now = utcnow()
            self.session.execute(
                _alias_insert(self.postgres),
                [
                    {
                        "subject_id": sid,
                        "id_type": alias.id_type,
                        "id_index": alias.id_index,
                        "id_cipher": self.protector.encrypt(alias.number, alias.id_index),
                        "source_batch_id": self.batch_id,
                        "created_at": now,
                    }
                    for sid, alias in new
                ],
            )
            for sid, alias in new:
                self.subject_ids[alias.id_index] = sid

    def take_notes(self) -> list[RowNote]:
        """The notes the merge found (names that differ from the archive's), once."""
        notes, self._notes = self._notes, []
        return notes

    def _check_names(self, rows: list[ValidRow]) -> None:
        """A person's name that differs from the archive's for the same number is flagged,
        not silently filed: a typo, a changed name, or someone else's number."""
        for r in rows:
            if r.subject.kind != SubjectKind.PERSON.value:
                continue
            archived = self.subject_names.get(self.subject_ids[r.subject.id_index])
            if archived is not None and archived != r.subject.name:
                self._notes.append(
                    RowNote(
                        r.row,
                        self.name_header,
                        "name_mismatch",
                        f"姓名“{mask_name(r.subject.name, Audience.PUBLIC)}”与档案中同一证件号码的"
                        f"姓名“{mask_name(archived, Audience.PUBLIC)}”不一致，已按证件号码归档，请核实",
                    )
                )

    def _copy_subjects(self, subject_columns: dict[str, list[Any]]) -> None:
        """New subjects through COPY into a staging table, then one set-based insert."""
        conn = self.session.connection()
        conn.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS stage_subjects "
                "(LIKE subjects INCLUDING DEFAULTS EXCLUDING CONSTRAINTS)"
            )
        )
        conn.execute(text("TRUNCATE stage_subjects"))
        columns = ", ".join(SUBJECT_COLUMNS)
        copy_columns(
            self.session,
            Subject.__table__,
            {name: subject_columns[name] for name in SUBJECT_COLUMNS},
            into="stage_subjects",
        )
        conn.execute(
            text(
                f"INSERT INTO subjects ({columns}) SELECT {columns} FROM stage_subjects "
                "ON CONFLICT (id_index) DO NOTHING"
            )
        )

    # -- records -------------------------------------------------------------------------

    def merge(self, rows: list[ValidRow]) -> tuple[int, int]:
        if not rows:
            return 0, 0
        refs: list[SubjectRef] = [r.subject for r in rows]
        refs.extend(r.legal_representative for r in rows if r.legal_representative)
        self.resolve_subjects(refs)
        self._link_aliases(rows)
        self._check_names(rows)
        ids = self.subject_ids
        self.touched.update(ids[r.subject.id_index] for r in rows)
        stage = _stage_columns(rows, ids, self.batch_id)
        if self._fresh_keys and self._probed:
            try:
                with self.session.begin_nested():
                    self._insert_new(stage)
            except INTEGRITY_ERRORS:
                # Some of these records exist already (a resubmission): from now on every
                # chunk takes the keyed merge, which versions what changed.
                self._fresh_keys = False
            else:
                self._link_legal_representatives(rows)
                return len(rows), 0
        created, updated = self._merge_keyed(stage)
        if not self._probed:
            # The first chunk takes the keyed merge: all new, the next chunks are inserted
            # straight; some existing (a resubmission), every chunk is merged. A direct
            # insert that meets an existing record is undone by its savepoint, but on
            # PostgreSQL the rows it wrote before the conflict stay as dead tuples: an
            # unchanged file submitted again must write nothing to ``records``.
            self._probed = True
            self._fresh_keys = created == len(rows)
        self._link_legal_representatives(rows)
        return created, updated

    def _insert_new(self, stage: dict[str, list[Any]]) -> None:
        """Straight into ``records``, one COPY on PostgreSQL: the common case of a file
        whose records are all new. A record that exists already aborts the insert (unique
        key), and the caller's savepoint undoes it."""
        count = len(stage["subject_id"])
        own = {name: [value] * count for name, value in _fresh_record(utcnow()).items()}
        copy_columns(self.session, Record.__table__, stage | own)

    def _merge_keyed(self, stage: dict[str, list[Any]]) -> tuple[int, int]:
        """Stage, archive the versions that change, upsert: (created, updated)."""
        self._ensure_stage()
        conn = self.session.connection()
        staged, records, versions = STAGE.name, Record.__tablename__, RecordVersion.__tablename__
        conn.execute(text(f"TRUNCATE {staged}" if self.postgres else f"DELETE FROM {staged}"))
        copy_columns(self.session, Record.__table__, stage, into=staged)
        join = " AND ".join(f"r.{c} = s.{c}" for c in RECORD_KEY)
        # The archived version: the record's columns, then its own (VERSION_OWN).
        version_own = dict(zip(VERSION_OWN, ("r.id", ":now", ":batch"), strict=True))
        archived = affected(
            conn.execute(
                text(
                    f"INSERT INTO {versions} ({', '.join((*VERSION_COLUMNS, *version_own))}) "
                    f"SELECT {', '.join('r.' + c for c in VERSION_COLUMNS)}, "
                    f"{', '.join(version_own.values())} "
                    f"FROM {records} r JOIN {staged} s ON {join} "
                    "WHERE r.content_hash <> s.content_hash"
                ),
                {"now": utcnow(), "batch": self.batch_id},
            )
        )
        own = _fresh_record(utcnow())
        set_clause = ", ".join(f"{c} = excluded.{c}" for c in UPDATABLE)
        upserted = affected(
            conn.execute(
                text(
                    f"INSERT INTO {records} ({', '.join((*STAGE_COLUMNS, *own))}) "
                    f"SELECT {', '.join(STAGE_COLUMNS)}, {', '.join(':' + c for c in own)} "
                    f"FROM {staged} WHERE true "
                    f"ON CONFLICT ({', '.join(RECORD_KEY)}) DO UPDATE SET "
                    f"{set_clause}, version = {records}.version + 1, "
                    "updated_at = excluded.updated_at "
                    f"WHERE {records}.content_hash <> excluded.content_hash"
                ),
                own,
            )
        )
        return upserted - archived, archived

    def _link_legal_representatives(self, rows: list[ValidRow]) -> None:
        pairs = {
            (
                self.subject_ids[r.subject.id_index],
                self.subject_ids[r.legal_representative.id_index],
            )
            for r in rows
            if r.legal_representative is not None
        }
        if not pairs:
            return
        organisations = sorted({org for org, _ in pairs})
        keys: Any
        if self.postgres:
            among, keys = "= ANY(:keys)", organisations
        else:
            among, keys = "IN (SELECT value FROM json_each(:keys))", json.dumps(organisations)
        existing = {
            (org, person)
            for org, person in self.session.execute(
                text(
                    "SELECT organisation_id, person_id FROM subject_links "
                    f"WHERE role = :role AND organisation_id {among}"
                ),
                {"role": LinkRole.LEGAL_REPRESENTATIVE.value, "keys": keys},
            )
        }
        new = pairs - existing
        if new:
            self.session.execute(
                insert(SubjectLink),
                [
                    {
                        "organisation_id": org,
                        "person_id": person,
                        "role": LinkRole.LEGAL_REPRESENTATIVE.value,
                        "source_batch_id": self.batch_id,
                        "created_at": utcnow(),
                    }
                    for org, person in new
                ],
            )


def _stage_columns(
    rows: list[ValidRow], subject_ids: dict[str, int], batch_id: int
) -> dict[str, list[Any]]:
    """The records' columns as staged (``STAGE_COLUMNS``), column by column: no mapping per
    row."""
    columns: dict[str, list[Any]] = {
        "subject_id": [subject_ids[r.subject.id_index] for r in rows],
        "department_id": [r.department_id for r in rows],
        "item_code": [r.item_code for r in rows],
        "item_version": [r.item_version for r in rows],
        "document_number": [r.document_number for r in rows],
        "nature": [r.nature for r in rows],
        "behaviour": [r.behaviour for r in rows],
        "decision_date": [r.decision_date for r in rows],
        "facts": [r.facts_json for r in rows],
        "grade": [r.grade for r in rows],
        "grade_source": [r.grade_source for r in rows],
        "grade_set_by": [r.grade_set_by for r in rows],
        "open_level": [r.open_level for r in rows],
        "display_from": [r.display_from for r in rows],
        "display_until": [r.display_until for r in rows],
        "content_hash": [r.content_hash for r in rows],
        "batch_id": [batch_id] * len(rows),
        "row_number": [r.row for r in rows],
        "domain": [r.domain for r in rows],
    }
    return {name: columns[name] for name in STAGE_COLUMNS}


def json_headers(rows: list[dict[str, Any]]) -> list[str]:
    """Every key of rows posted as JSON objects, in the order first seen (a key the first
    object lacks is still a column)."""
    return list(dict.fromkeys(str(k) for obj in rows for k in obj))


def iter_json_rows(rows: list[dict[str, Any]]) -> Iterator[RawRow]:
    """Rows posted as JSON objects, numbered from 1 as a person counts them."""
    for number, obj in enumerate(rows, start=1):
        values = {str(k): "" if v is None else str(v) for k, v in obj.items()}
        yield RawRow(number=number, values=values, problem=None)
