"""Queueing notices. Idempotent: the same dedupe key never queues twice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.notices.models import Notice


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


def notices_of(session: Session, subject_id: int) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice).where(Notice.subject_id == subject_id).order_by(Notice.id.desc())
        )
    )
