"""Audit trail tables: the hash-chained events, the chain head, the verification
checkpoints, and alerts.

``audit_events.seq`` is assigned from ``audit_head`` under the head's row lock at commit
time, so it is strictly increasing without gaps in commit order. ``details`` is the
canonical JSON text that the hash covers (stored as text so that no database
normalisation can change a byte of it).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, JsonDoc, UtcDateTime, created_at, pk


class AuditEvent(Base):
    """One event of the audit trail (审计事件): who did what to whom, why, on what basis.

    On PostgreSQL range-partitioned by ``occurred_at``, one partition a month, primary key
    ``(seq, occurred_at)`` (migration 0013): ``seq`` stays unique because the chain head's
    row lock hands it out, and the verification walks it in order across partitions."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    action: Mapped[str] = mapped_column(String(96), index=True)  # domain:subject:action
    actor: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(16))
    organisation: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(200))
    basis: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON, never an identity number
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain head (one row, id 1): last seq and hash. Its row lock serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """How far the chain was verified (校验点): a walk from the checkpoint before it
    (``verified_from``; 0, the genesis) found every event up to ``seq`` intact, the event at
    ``seq`` carrying ``hash``. Written by ``services.save_checkpoint`` only after such a
    walk; the next check starts here (``services.verify_incremental``)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[pk]
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    hash: Mapped[str] = mapped_column(String(64))
    verified_from: Mapped[int] = mapped_column(BigInteger)
    verified_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AlertStatus(enum.StrEnum):
    OPEN = "open"  # 待处理
    ACKNOWLEDGED = "acknowledged"  # 已确认


class AuditAlert(Base):
    """An anomaly raised by a rule over the audit trail (异常告警), for auditors."""

    __tablename__ = "audit_alerts"
    __table_args__ = (Index("ix_audit_alerts_status_id", "status", "id"),)

    id: Mapped[pk]
    fingerprint: Mapped[str] = mapped_column(String(200), unique=True)  # rule + who + window
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(200))
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    message: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.OPEN.value)
    created_at: Mapped[created_at]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(String(2000))
