"""Tables shared by the workflows: the transition history and evidence files."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, pk, utcnow


class WorkflowTransition(Base):
    """One step of one workflow: who (and in which role), when, from which state to which,
    and why. Written in the same transaction as the step itself; the audit chain (a later
    issue) hooks :func:`xinyong.workflows.history.record_transition`."""

    __tablename__ = "workflow_transitions"
    __table_args__ = (Index("ix_workflow_transitions_entity", "workflow", "entity_id"),)

    id: Mapped[pk]
    workflow: Mapped[str] = mapped_column(
        String(32)
    )  # objection, repair, commitment, tipoff, record
    entity_id: Mapped[int] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class EvidenceFile(Base):
    """证明材料 / 举报附件: a file kept as bytes, named by its content hash, size-checked."""

    __tablename__ = "evidence_files"
    __table_args__ = (Index("ix_evidence_files_owner", "owner_kind", "owner_id"),)

    id: Mapped[pk]
    owner_kind: Mapped[str] = mapped_column(String(32))  # objection, repair, tipoff
    owner_id: Mapped[int] = mapped_column(BigId)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
