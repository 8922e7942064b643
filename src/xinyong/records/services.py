"""The person's archive (诚信档案): every record with its state and visibility."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.catalog.models import Department
from xinyong.catalog.schemas import OPEN_LEVEL_NAMES, OpenLevel
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import utcnow
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.identity.masking import Audience, mask_id_number, mask_name
from xinyong.identity.protection import IdentityProtector
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query
from xinyong.records.display import display_window, visibility
from xinyong.records.models import Record, RecordVersion
from xinyong.subjects.models import Subject
from xinyong.subjects.services import reveal_number


@dataclass(frozen=True)
class ArchiveEntry:
    record: Record
    item_name: str
    department_name: str
    label: str
    used: bool
    grade_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        r = self.record
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
            "open_level": r.open_level,
            "open_level_name": OPEN_LEVEL_NAMES[OpenLevel(r.open_level)],
            "display_from": r.display_from.isoformat(),
            "display_until": r.display_until.isoformat() if r.display_until else None,
            "in_use": self.used,
            "version": r.version,
            "facts": r.facts,
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
    reference: str | None = None,
) -> Archive:
    """The archive as ``audience`` may see it, and the read logged in the same transaction."""
    on = on or dt.date.today()
    catalog = current_catalog(session)
    departments = {d.id: d.name for d in session.scalars(select(Department))}
    entries: list[ArchiveEntry] = []
    rows = session.scalars(
        select(Record)
        .where(Record.subject_id == subject.id)
        .order_by(Record.decision_date.desc(), Record.id.desc())
    )
    for record in rows:
        vis = visibility(
            state=record.state,
            open_level=record.open_level,
            display_from=record.display_from,
            display_until=record.display_until,
            audience=audience,
            on=on,
        )
        if not vis.shown:
            continue
        item = catalog.items.get(record.item_code)
        entries.append(
            ArchiveEntry(
                record,
                item.name if item else record.item_code,
                departments.get(record.department_id, ""),
                vis.label,
                vis.used,
                catalog.grades[record.grade].name if record.grade in catalog.grades else None,
            )
        )
    number = reveal_number(protector, subject)
    shown_number = number if subject.kind == "organisation" else mask_id_number(number, audience)
    archive = Archive(subject, shown_number, mask_name(subject.name, audience), entries)
    log_query(
        session,
        actor,
        subject.id,
        action="archive:view",
        purpose=purpose,
        basis=basis,
        authorization_id=authorization_id,
        reference=reference,
        returned={"audience": audience.value, "records": [e.record.id for e in entries]},
    )
    return archive


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
    )
    if subject_id is not None:
        stmt = stmt.where(Record.subject_id == subject_id)
    ids = list(record_ids)
    if ids:
        stmt = stmt.where(Record.id.in_(ids))
    elif subject_id is None:
        return set()
    return {
        rid
        for rid, state, level, start, until in session.execute(stmt)
        if visibility(
            state=state,
            open_level=level,
            display_from=start,
            display_until=until,
            audience=audience,
            on=on,
        ).shown
    }


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


def change_grade(session: Session, actor: Actor, record_id: int, grade: str, reason: str) -> Record:
    """A department re-grades its own record, with a reason; the change is a new version."""
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound("记录不存在", code="record_not_found")
    if not actor.is_admin and actor.department_id != record.department_id:
        raise Forbidden("只能调整本部门报送记录的等级", code="not_own_record")
    if record.nature != "negative":
        raise InvalidInput("只有失信记录有失信等级", code="not_negative")
    if not reason.strip():
        raise InvalidInput("调整失信等级必须说明理由", code="reason_required")
    catalog = current_catalog(session)
    found = catalog.grade_by_name(grade)
    if found is None:
        raise InvalidInput(f"等级 {grade} 不存在", code="unknown_grade")
    if found.code == record.grade:
        raise InvalidInput("新等级与当前等级相同", code="grade_unchanged")
    item = catalog.item(record.item_code)
    archive_version(session, record)
    _, until = display_window(item, found, record.decision_date, profile=get_settings().profile)
    record_event(session, actor, "records:record:regraded", target_type="record", target_id=record.id, purpose=reason, details={"from": record.grade, "to": found.code, "version": record.version + 1})  # fmt: skip
    record.grade = found.code
    record.grade_source = "department"
    record.grade_set_by = actor.name
    record.grade_reason = reason.strip()[:2000]
    record.display_until = until
    record.version += 1
    record.updated_at = utcnow()
    session.flush()
    _after_record_change(session, record)
    return record


def _after_record_change(session: Session, record: Record) -> None:
    from xinyong.lists.models import ListEntry
    from xinyong.scoring.services import rescore_subjects

    session.execute(
        update(ListEntry)
        .where(ListEntry.record_id == record.id, ListEntry.status == "listed")
        .values(end_date=record.display_until)
    )
    rescore_subjects(session, [record.subject_id], dt.date.today())
