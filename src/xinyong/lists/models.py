"""List membership: every entry is history, with its basis, start, end and how it ended."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk, utcnow


class ListKind(enum.StrEnum):
    RED = "red"  # 红名单 / 守信激励对象
    BLACK = "black"  # 严重失信主体名单
    WATCH = "watch"  # 重点关注名单


LIST_NAMES = {
    ListKind.RED: "红名单",
    ListKind.BLACK: "严重失信主体名单",
    ListKind.WATCH: "重点关注名单",
}


class EntryStatus(enum.StrEnum):
    NOTIFIED = "notified"  # 已告知, defence period running (陈述申辩)
    LISTED = "listed"  # 列入
    WITHDRAWN = "withdrawn"  # 不予列入 after the defence
    ENDED = "ended"  # 移出


class EndReason(enum.StrEnum):
    PERIOD_OVER = "period_over"  # 期满
    REPAIRED = "repaired"  # 信用修复
    REVOKED = "revoked"  # 决定撤销
    EXIT_CONDITION = "exit_condition"  # 满足移出条件
    SOURCE_REMOVED = "source_removed"  # 上级名单移出


# The label tables of the enums above and of ListEntry.source (people read these).
ENTRY_STATUS_NAMES = {
    EntryStatus.NOTIFIED: "已告知（陈述申辩期）",
    EntryStatus.LISTED: "在列",
    EntryStatus.WITHDRAWN: "不予列入",
    EntryStatus.ENDED: "已移出",
}
END_REASON_NAMES = {
    EndReason.PERIOD_OVER: "期满",
    EndReason.REPAIRED: "信用修复",
    EndReason.REVOKED: "决定撤销",
    EndReason.EXIT_CONDITION: "满足移出条件",
    EndReason.SOURCE_REMOVED: "上级名单移出",
}
ENTRY_SOURCE_NAMES = {
    "record": "依据信用记录",
    "procedure": "列入程序决定",
    "responsible_person": "落实到人",
    "upper_platform": "上级平台名单",
}


def label(names: dict[Any, str], value: str | None) -> str:
    """The Chinese label of a stored code; "—" for none, the code itself if unknown."""
    if value is None:
        return "—"
    return names.get(value, value)


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
