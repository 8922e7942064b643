"""The black-list procedure as its parties read it: the notice (告知) with reasons, basis,
rights and deadline; the person's defence (陈述申辩) with its evidence files; the decision
with its own reasons and how it weighed the defence.

The rules live in ``lists.services`` (notify, submit_defence, decide); this module only
gathers what the person (personal centre, ``/api/v1/me/blacklist-procedures``, CLI) and
the deciding department (workbench, ``/api/v1/blacklist-procedures``) see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.catalog.models import Department
from xinyong.errors import NotFound
from xinyong.identity.masking import Audience, mask_name
from xinyong.lists.models import EntryStatus, ListEntry, ListKind
from xinyong.lists.services import DEFENCE_EVIDENCE
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.workflows.access import log_case_reads
from xinyong.workflows.evidence import evidence_as_dicts, evidence_of

STATUS_NAMES = {
    EntryStatus.NOTIFIED.value: "已告知，陈述申辩期内",
    EntryStatus.LISTED.value: "已决定列入",
    EntryStatus.WITHDRAWN.value: "决定不予列入",
    EntryStatus.ENDED.value: "已移出",
}


def procedure_as_dict(
    session: Session, entry: ListEntry, on: dt.date | None = None
) -> dict[str, Any]:
    on = on or dt.date.today()
    department = session.get(Department, entry.department_id) if entry.department_id else None
    record = session.get(Record, entry.record_id) if entry.record_id else None
    organisation = None
    if entry.parent_entry_id is not None:
        parent = session.get(ListEntry, entry.parent_entry_id)
        org = session.get(Subject, parent.subject_id) if parent else None
        organisation = org.name if org else None
    open_defence = (
        entry.status == EntryStatus.NOTIFIED.value
        and entry.defence_statement is None
        and entry.defence_until is not None
        and on <= entry.defence_until
    )
    return {
        "id": entry.id,
        "subject_id": entry.subject_id,
        "status": entry.status,
        "status_name": STATUS_NAMES.get(entry.status, entry.status),
        "source": entry.source,
        "organisation": organisation,  # 落实到人: the organisation the entry came through
        "department": department.name if department else None,
        "record_id": entry.record_id,
        "document_number": record.document_number if record else None,
        "notice": {
            "reasons": entry.reasons,
            "basis": entry.basis,
            "measures": entry.measures,
            "remedies": entry.remedies,
            "rights": "您有权在截止日期前进行陈述和申辩，并提交证明材料；"
            "逾期未提出的，视为放弃陈述申辩。",
            "notified_on": entry.notified_on.isoformat() if entry.notified_on else None,
            "defence_until": entry.defence_until.isoformat() if entry.defence_until else None,
        },
        "defence": None
        if entry.defence_statement is None
        else {
            "statement": entry.defence_statement,
            "submitted_at": entry.defence_at.isoformat() if entry.defence_at else None,
            "evidence": evidence_as_dicts(evidence_of(session, DEFENCE_EVIDENCE, entry.id)),
        },
        "may_submit_defence": open_defence,
        "decision": None
        if entry.status == EntryStatus.NOTIFIED.value
        else {
            "decided_on": entry.decided_on.isoformat() if entry.decided_on else None,
            "reasons": entry.decision_reasons,
            "defence_review": entry.defence_review,
        },
    }


def _procedures(session: Session) -> Any:
    return select(ListEntry).where(
        ListEntry.list_kind == ListKind.BLACK.value, ListEntry.notified_on.is_not(None)
    )


def procedures_of_subject(session: Session, subject_id: int) -> list[dict[str, Any]]:
    """The person's own black-list procedures, newest first (their own view, not logged as
    a read of someone else's data)."""
    rows = session.scalars(
        _procedures(session).where(ListEntry.subject_id == subject_id).order_by(ListEntry.id.desc())
    )
    return [procedure_as_dict(session, e) for e in rows]


def procedures_of_department(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The procedures a department decides (the credit office: all), defences first; the
    read of each person's procedure is logged like any case read."""
    stmt = _procedures(session).order_by(ListEntry.id.desc())
    if not actor.is_admin:
        stmt = stmt.where(ListEntry.department_id == actor.department_id)
    entries = list(session.scalars(stmt))
    log_case_reads(
        session,
        actor,
        [(e.subject_id, e.id) for e in entries],
        action="blacklist:view",
        what="严重失信主体名单列入程序",
    )
    rows = []
    for e in entries:
        row = procedure_as_dict(session, e)
        subject = session.get(Subject, e.subject_id)
        row["subject_name"] = mask_name(subject.name, Audience.GOVERNMENT) if subject else ""
        rows.append(row)
    rows.sort(key=lambda r: (r["status"] != EntryStatus.NOTIFIED.value, r["defence"] is None))
    return rows


def own_procedure(session: Session, actor: Actor, entry_id: int) -> ListEntry:
    """The person's own procedure entry (NotFound for anyone else's)."""
    entry = session.get(ListEntry, entry_id)
    if entry is None or entry.subject_id != actor.subject_id or entry.notified_on is None:
        raise NotFound("名单程序不存在", code="list_entry_not_found")
    return entry
