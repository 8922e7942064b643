"""List kinds, entry states and how an entry ended, with their Chinese labels. Pure: the
report content and the engines use them without the database layer (re-exported by
:mod:`xinyong.lists.models`)."""

from __future__ import annotations

import enum
from typing import Any


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
