"""Record and submission tables.

``records`` holds the current version of each record, unique on its submission key
(department, catalog item, document number, subject); every earlier version is copied to
``record_versions`` before it is replaced, so history is never lost.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, JsonDoc, UtcDateTime, created_at, pk, utcnow
from xinyong.records.states import STATE_NAMES, RecordState

__all__ = ["STATE_NAMES", "RecordState"]


class _RecordColumns:
    """Columns shared by a record and its archived versions."""

    # No foreign keys to subjects and departments: the import writes these ids from rows
    # it has just read, neither table deletes, and the keys' checks cost a third of a
    # record's write (migration 0014).
    subject_id: Mapped[int] = mapped_column(BigId)
    department_id: Mapped[int] = mapped_column(BigId)
    item_code: Mapped[str] = mapped_column(String(64))
    item_version: Mapped[int] = mapped_column(Integer)
    document_number: Mapped[str] = mapped_column(String(200))
    nature: Mapped[str] = mapped_column(String(16))
    behaviour: Mapped[str | None] = mapped_column(String(500))
    decision_date: Mapped[dt.date] = mapped_column(Date)
    facts: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    grade: Mapped[str | None] = mapped_column(String(32))
    grade_source: Mapped[str | None] = mapped_column(String(80))
    grade_set_by: Mapped[str | None] = mapped_column(String(200))
    grade_reason: Mapped[str | None] = mapped_column(Text)
    # The domain the record's content names (a 双公示 record's 处罚依据…); None: the item's.
    domain: Mapped[str | None] = mapped_column(String(64))
    open_level: Mapped[str] = mapped_column(String(16))
    display_from: Mapped[dt.date] = mapped_column(Date)
    display_until: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default=RecordState.ACTIVE.value)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[int | None] = mapped_column(BigId)
    row_number: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Record(_RecordColumns, Base):
    """信用记录: the current version of one record about one subject.

    Not partitioned, on purpose: docs/scale.md gives the measurements (hash by subject
    slowed the import's keyed merge and the check) and what partitioning would change."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("department_id", "item_code", "document_number", "subject_id"),
        Index("ix_records_subject_id", "subject_id"),
        Index("ix_records_batch_id", "batch_id"),
        # The daily job: records whose display period ends (expiry, 信用告知).
        Index(
            "ix_records_display_until_active",
            "display_until",
            postgresql_where=text("state = 'active'"),
            sqlite_where=text("state = 'active'"),
        ),
    )

    id: Mapped[pk]
    created_at: Mapped[created_at]


class RecordVersion(_RecordColumns, Base):
    """An earlier version of a record, kept when a resubmission or correction replaced it."""

    __tablename__ = "record_versions"
    __table_args__ = (Index("ix_record_versions_record_id", "record_id"),)

    id: Mapped[pk]
    record_id: Mapped[int] = mapped_column(BigId, ForeignKey("records.id"))
    superseded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    superseded_by_batch: Mapped[int | None] = mapped_column(BigId)


class BatchStatus(enum.StrEnum):
    QUEUED = "queued"  # 排队中: an uploaded file waiting for the job runner (submissions.jobs)
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the file could not be read at all
    INTERRUPTED = "interrupted"  # 中断: the import was killed before it finished


# The one label table of SubmissionBatch.channel.
CHANNEL_NAMES = {
    "web": "网页上传",
    "api": "接口报送",
    "cli": "命令行导入",
    "exchange": "上级平台",
}


class SubmissionBatch(Base):
    """One submission (归集批次) with its provenance: who, when, what file, what came of it."""

    __tablename__ = "submission_batches"

    id: Mapped[pk]
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    submitted_by: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str | None] = mapped_column(String(300))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    record_format: Mapped[str | None] = mapped_column(String(32))
    item_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.RUNNING.value)
    failure: Mapped[str | None] = mapped_column(Text)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Last sign of life of the import (each merged chunk): a silent running batch was killed.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Accepted rows worth a look (15-digit numbers converted, names differing from the
    # archive's): [{row, column, code, message}], the first ones of the batch.
    notes: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDoc)
    # A file run by the job runner (submissions.jobs): {path, item_code, department_code,
    # actor, attempts}; None for imports run in the caller's process (CLI, JSON rows).
    job: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)


class SubmissionError(Base):
    """A rejected row: where, why, and the row itself encrypted for the error file."""

    __tablename__ = "submission_errors"

    id: Mapped[pk]
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("submission_batches.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    value_masked: Mapped[str | None] = mapped_column(String(200))
    row_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
