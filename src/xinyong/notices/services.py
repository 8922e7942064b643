"""Queueing notices. Idempotent: the same dedupe key never queues twice."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import String, case, cast, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.db import UtcDateTime, affected, utcnow
from xinyong.errors import NotFound
from xinyong.notices.models import Notice


class CaseAboutRecord(Protocol):
    """A workflow case about one record (an objection, a repair application)."""

    @property
    def id(self) -> int: ...

    @property
    def subject_id(self) -> int: ...

    @property
    def record_id(self) -> int: ...

    @property
    def state(self) -> str: ...


def queue_notice(
    session: Session,
    subject_id: int,
    *,
    kind: str,
    title: str,
    body: str,
    dedupe_key: str,
    record_id: int | None = None,
    list_entry_id: int | None = None,
) -> Notice | None:
    if session.scalar(select(Notice.id).where(Notice.dedupe_key == dedupe_key)) is not None:
        return None
    notice = Notice(
        subject_id=subject_id,
        kind=kind,
        title=title[:200],
        body=body,
        record_id=record_id,
        list_entry_id=list_entry_id,
        dedupe_key=dedupe_key[:200],
    )
    session.add(notice)
    session.flush()
    return notice


def queue_case_notice(
    session: Session, workflow: str, case: CaseAboutRecord, title: str, body: str
) -> Notice | None:
    """The person's notice of a case's step: one per case and state it reached."""
    return queue_notice(
        session,
        case.subject_id,
        kind=f"{workflow}:{case.state}",
        title=title,
        body=body,
        dedupe_key=f"{workflow}:{case.id}:{case.state}",
        record_id=case.record_id,
    )


def queue_new_record_notices(session: Session, batch_id: int) -> int:
    """信用告知 (Jiangyin §四(三)): a person is told when a negative record about them is
    made. Set-based over one submission batch; a record is announced once."""
    from xinyong.records.models import Record
    from xinyong.subjects.models import Subject, SubjectKind

    key = literal("record:new:") + cast(Record.id, String)
    # An organisation has a credit archive (信用档案), not a personal one.
    opening = case(
        (
            Subject.kind == SubjectKind.ORGANISATION.value,
            literal("贵单位有一条新的失信信息记入信用档案（决定文书号 "),
        ),
        else_=literal("您有一条新的失信信息记入个人信用档案（决定文书号 "),
    )
    rows = (
        select(
            Record.subject_id,
            literal("record:new"),
            literal("新增失信信息告知"),
            opening
            + Record.document_number
            + literal("）。如有异议，可提出异议申请；符合条件的，可申请信用修复。"),
            Record.id,
            key,
            literal("queued"),
            literal(utcnow(), UtcDateTime),
        )
        .join(Subject, Subject.id == Record.subject_id)
        .where(Record.batch_id == batch_id, Record.nature == "negative")
    )
    # ON CONFLICT rather than NOT EXISTS: on a nearly empty notices table the planner
    # probes it by sequential scan, and the scan grows with every row this statement
    # inserts (quadratic: 100,000 records took over ten minutes).
    postgres = session.get_bind().dialect.name == "postgresql"
    result = session.execute(
        (pg_insert if postgres else sqlite_insert)(Notice)
        .from_select(
            [
                "subject_id",
                "kind",
                "title",
                "body",
                "record_id",
                "dedupe_key",
                "status",
                "created_at",
            ],
            rows,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return affected(result)


def notices_of(session: Session, subject_id: int) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice).where(Notice.subject_id == subject_id).order_by(Notice.id.desc())
        )
    )


def _own_subject(actor: Actor) -> int:
    if actor.subject_id is None:
        raise NotFound("通知不存在", code="notice_not_found")
    return actor.subject_id


def mark_read(session: Session, actor: Actor, notice_id: int) -> Notice:
    """The person has read one of their notices (信用告知 inbox). Idempotent."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.subject_id != _own_subject(actor):
        raise NotFound("通知不存在", code="notice_not_found")
    if notice.read_at is None:
        notice.read_at = utcnow()
        session.flush()
    return notice


def mark_all_read(session: Session, actor: Actor) -> int:
    """Every unread notice of the person marked read; how many were unread."""
    result = session.execute(
        update(Notice)
        .where(Notice.subject_id == _own_subject(actor), Notice.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return affected(result)
