"""The person's archive (诚信档案): every record with its state and visibility."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.models import Department
from xinyong.catalog.schemas import OPEN_LEVEL_NAMES, OpenLevel
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.errors import InvalidInput, NotFound
from xinyong.identity.masking import Audience, mask_id_number, mask_name
from xinyong.identity.protection import IdentityProtector
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query
from xinyong.records.display import visibility
from xinyong.records.grading import grade_source_label
from xinyong.records.models import CHANNEL_NAMES, Record, RecordVersion, SubmissionBatch
from xinyong.records.states import STATE_NAMES, RecordState
from xinyong.subjects.models import Subject
from xinyong.subjects.services import reveal_number


@dataclass(frozen=True)
class Provenance:
    """Where a record came from (DOMAIN §5): its submission batch, row and submitter."""

    batch_id: int | None
    row_number: int | None
    channel: str | None = None
    filename: str | None = None
    submitted_by: str | None = None
    submitted_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "row_number": self.row_number,
            "channel": self.channel,
            "channel_name": CHANNEL_NAMES.get(self.channel or "", self.channel),
            "filename": self.filename,
            "submitted_by": self.submitted_by,
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
        }


@dataclass(frozen=True)
class ArchiveEntry:
    record: Record
    item_name: str
    department_name: str
    label: str
    used: bool
    grade_name: str | None = None
    grade_source_name: str = ""
    provenance: Provenance | None = None
    # The full archive (档案管理) only: every earlier version, oldest first.
    history: tuple[dict[str, Any], ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        extra: dict[str, Any] = {}
        if self.history is not None:
            extra["history"] = list(self.history)
        return {
            "id": r.id,
            "document_number": r.document_number,
            "item": r.item_code,
            "item_name": self.item_name,
            "nature": r.nature,
            "department": self.department_name,
            "behaviour": r.behaviour,
            "decision_date": r.decision_date.isoformat(),
            "state": r.state,
            "state_label": self.label,
            "grade": r.grade,
            "grade_name": self.grade_name,
            "grade_source": r.grade_source,
            "grade_source_name": self.grade_source_name,
            "open_level": r.open_level,
            "open_level_name": OPEN_LEVEL_NAMES[OpenLevel(r.open_level)],
            "display_from": r.display_from.isoformat(),
            "display_until": r.display_until.isoformat() if r.display_until else None,
            "in_use": self.used,
            "version": r.version,
            "facts": r.facts,
            "provenance": (self.provenance or Provenance(r.batch_id, r.row_number)).as_dict(),
            **extra,
        }


@dataclass(frozen=True)
class Archive:
    subject: Subject
    shown_number: str
    shown_name: str
    entries: list[ArchiveEntry]

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": {
                "id": self.subject.id,
                "kind": self.subject.kind,
                "name": self.shown_name,
                "id_type": self.subject.id_type,
                "id_number": self.shown_number,
                "birth_date": self.subject.birth_date.isoformat()
                if self.subject.birth_date
                else None,
                "sex": self.subject.sex,
                "region_code": self.subject.region_code,
            },
            "records": [e.as_dict() for e in self.entries],
        }


def read_archive(
    session: Session,
    actor: Actor,
    protector: IdentityProtector,
    subject: Subject,
    *,
    audience: Audience,
    purpose: str,
    basis: QueryBasis,
    on: dt.date | None = None,
    authorization_id: int | None = None,
    full: bool = False,
    reference: str | None = None,
) -> Archive:
    """The archive as ``audience`` may see it, and the read logged in the same transaction.

    ``full``: the credit office's whole archive (档案管理, ``Permission.READ_FULL_ARCHIVE``,
    checked by the caller): every record whatever its state or display period, each state
    labelled, with its earlier versions; the read is logged as ``archive:full`` with its
    stated purpose. Everyone else sees what :func:`visibility` lets ``audience`` see.
    """
    if full and len(purpose.strip()) < 2:
        # Every channel (API, page, CLI) reads the whole archive through here.
        raise InvalidInput("查看完整档案须说明查询目的（将记入查询记录）", code="purpose_required")
    on = on or dt.date.today()
    catalog = current_catalog(session)
    publish_minor = get_settings().publish_minor
    departments = {d.id: d.name for d in session.scalars(select(Department))}
    entries: list[ArchiveEntry] = []
    records = list(
        session.scalars(
            select(Record)
            .where(Record.subject_id == subject.id)
            .order_by(Record.decision_date.desc(), Record.id.desc())
        )
    )
    batches = {
        b.id: b
        for b in session.scalars(
            select(SubmissionBatch).where(
                SubmissionBatch.id.in_({r.batch_id for r in records if r.batch_id is not None})
            )
        )
    }
    histories: dict[int, list[dict[str, Any]]] = {}
    if full and records:
        for version in session.scalars(
            select(RecordVersion)
            .where(RecordVersion.record_id.in_([r.id for r in records]))
            .order_by(RecordVersion.record_id, RecordVersion.version)
        ):
            histories.setdefault(version.record_id, []).append(
                _version_dict(version, catalog, batches)
            )
    for record in records:
        if full:
            # The person's own view labels every state and hides nothing: the office's
            # full archive is that view, with history and provenance.
            vis = visibility(
                state=record.state,
                open_level=record.open_level,
                display_from=record.display_from,
                display_until=record.display_until,
                audience=Audience.SELF,
                on=on,
            )
            entry = _entry(record, catalog, departments, vis.label, vis.used, batches)
            entries.append(replace(entry, history=tuple(histories.get(record.id, []))))
            continue
        vis = visibility(
            state=record.state,
            open_level=record.open_level,
            display_from=record.display_from,
            display_until=record.display_until,
            audience=audience,
            on=on,
            grade=record.grade,
            publish_minor=publish_minor,
        )
        if not vis.shown:
            continue
        entries.append(_entry(record, catalog, departments, vis.label, vis.used, batches))
    number = reveal_number(protector, subject)
    shown_number = number if subject.kind == "organisation" else mask_id_number(number, audience)
    archive = Archive(subject, shown_number, mask_name(subject.name, audience), entries)
    log_query(
        session,
        actor,
        subject.id,
        action="archive:full" if full else "archive:view",
        purpose=purpose,
        basis=basis,
        authorization_id=authorization_id,
        reference=reference,
        returned={
            "audience": "full" if full else audience.value,
            "records": [e.record.id for e in entries],
        },
    )
    return archive


def _provenance(record: Record | RecordVersion, batches: dict[int, SubmissionBatch]) -> Provenance:
    batch = batches.get(record.batch_id) if record.batch_id is not None else None
    if batch is None:
        return Provenance(record.batch_id, record.row_number)
    return Provenance(
        batch.id,
        record.row_number,
        batch.channel,
        batch.filename,
        batch.submitted_by,
        batch.started_at,
    )


def _entry(
    record: Record,
    catalog: Catalog,
    departments: dict[int, str],
    label: str,
    used: bool,
    batches: dict[int, SubmissionBatch],
) -> ArchiveEntry:
    item = catalog.items.get(record.item_code)
    return ArchiveEntry(
        record,
        item.name if item else record.item_code,
        departments.get(record.department_id, ""),
        label,
        used,
        catalog.grades[record.grade].name if record.grade in catalog.grades else None,
        grade_source_label(record.grade_source, catalog),
        _provenance(record, batches),
    )


def _version_dict(
    version: RecordVersion, catalog: Catalog, batches: dict[int, SubmissionBatch]
) -> dict[str, Any]:
    grade = catalog.grades.get(version.grade or "")
    return {
        "version": version.version,
        "state": version.state,
        "state_label": STATE_NAMES[RecordState(version.state)],
        "behaviour": version.behaviour,
        "decision_date": version.decision_date.isoformat(),
        "grade": version.grade,
        "grade_name": grade.name if grade else None,
        "grade_source_name": grade_source_label(version.grade_source, catalog),
        "grade_reason": version.grade_reason,
        "display_until": version.display_until.isoformat() if version.display_until else None,
        "facts": version.facts,
        "superseded_at": version.superseded_at.isoformat(),
        "superseded_by_batch": version.superseded_by_batch,
        "provenance": _provenance(version, batches).as_dict(),
    }


def shown_record_ids(
    session: Session,
    audience: Audience,
    on: dt.date,
    *,
    subject_id: int | None = None,
    record_ids: Collection[int] = (),
) -> set[int]:
    """The records (of ``subject_id``, or among ``record_ids``) that ``audience`` is shown
    on ``on``: the archive's own rule, :func:`visibility`, for every derived view (score
    reasons, what-if, lists, reports) so that none shows more than the archive does."""
    stmt = select(
        Record.id,
        Record.state,
        Record.open_level,
        Record.display_from,
        Record.display_until,
        Record.grade,
    )
    if subject_id is not None:
        stmt = stmt.where(Record.subject_id == subject_id)
    ids = list(record_ids)
    if ids:
        stmt = stmt.where(Record.id.in_(ids))
    elif subject_id is None:
        return set()
    publish_minor = get_settings().publish_minor
    return {
        rid
        for rid, state, level, start, until, grade in session.execute(stmt)
        if visibility(
            state=state,
            open_level=level,
            display_from=start,
            display_until=until,
            audience=audience,
            on=on,
            grade=grade,
            publish_minor=publish_minor,
        ).shown
    }


def get_record(session: Session, record_id: int) -> Record:
    """The record, else NotFound (a workflow's case names its record by id)."""
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound("记录不存在", code="record_not_found")
    return record


def record_history(session: Session, record_id: int) -> list[RecordVersion]:
    return list(
        session.scalars(
            select(RecordVersion)
            .where(RecordVersion.record_id == record_id)
            .order_by(RecordVersion.version)
        )
    )


def archive_version(session: Session, record: Record, batch_id: int | None = None) -> None:
    """Copy the record as it is now into its history before it changes."""
    columns = {c.name for c in RecordVersion.__table__.columns} - {
        "id",
        "record_id",
        "superseded_at",
        "superseded_by_batch",
    }
    session.add(
        RecordVersion(
            record_id=record.id,
            superseded_by_batch=batch_id,
            **{name: getattr(record, name) for name in columns},
        )
    )
