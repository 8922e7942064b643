"""List membership: every entry is history, with its basis, start, end and how it ended."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk, utcnow
from xinyong.lists.kinds import (  # re-exported: the tables' callers import them from here
    END_REASON_NAMES as END_REASON_NAMES,
)
from xinyong.lists.kinds import (
    ENTRY_SOURCE_NAMES as ENTRY_SOURCE_NAMES,
)
from xinyong.lists.kinds import (
    ENTRY_STATUS_NAMES as ENTRY_STATUS_NAMES,
)
from xinyong.lists.kinds import (
    LIST_NAMES as LIST_NAMES,
)
from xinyong.lists.kinds import (
    EndReason as EndReason,
)
from xinyong.lists.kinds import (
    EntryStatus as EntryStatus,
)
from xinyong.lists.kinds import (
    ListKind as ListKind,
)
from xinyong.lists.kinds import (
    label as label,
)


class ListEntry(Base):
    __tablename__ = "list_entries"
    __table_args__ = (
        UniqueConstraint("list_kind", "subject_id", "record_id"),
        Index("ix_list_entries_subject_id", "subject_id"),
        Index("ix_list_entries_status_end", "status", "end_date"),
    )

    id: Mapped[pk]
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"))
    list_kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))  # record, procedure, responsible_person
    record_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("records.id"))
    parent_entry_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("list_entries.id"))
    item_code: Mapped[str | None] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    reasons: Mapped[str] = mapped_column(Text)  # 列入理由
    basis: Mapped[str] = mapped_column(Text)  # 列入依据
    measures: Mapped[str | None] = mapped_column(Text)  # 惩戒措施 / 激励措施
    exit_conditions: Mapped[str | None] = mapped_column(Text)  # 移出条件和程序
    remedies: Mapped[str | None] = mapped_column(Text)  # 救济措施
    notified_on: Mapped[dt.date | None] = mapped_column(Date)  # 告知日期
    defence_until: Mapped[dt.date | None] = mapped_column(Date)  # 陈述申辩截止
    defence_statement: Mapped[str | None] = mapped_column(Text)
    defence_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # 申辩提交时间
    defence_review: Mapped[str | None] = mapped_column(Text)  # 对陈述申辩的审查意见
    decision_reasons: Mapped[str | None] = mapped_column(Text)  # 决定理由 (notice's stay)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)  # planned end
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
