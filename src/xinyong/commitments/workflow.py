"""The credit commitment (信用承诺) types, states and transitions. Pure."""

from __future__ import annotations

import datetime as dt
import enum

from xinyong.actors import Role
from xinyong.workflows.machine import Machine


class CommitmentKind(enum.StrEnum):
    APPROVAL = "approval"  # 审批替代型
    TOLERANCE = "tolerance"  # 容缺受理型
    CERTIFICATION = "certification"  # 证明事项型
    REPAIR = "repair"  # 信用修复型
    INDUSTRY = "industry"  # 行业自律型
    VOLUNTARY = "voluntary"  # 主动型
    EMPLOYMENT = "employment"  # 入职信用承诺书 (Benxi 二.四)


KIND_NAMES = {
    CommitmentKind.APPROVAL: "审批替代型",
    CommitmentKind.TOLERANCE: "容缺受理型",
    CommitmentKind.CERTIFICATION: "证明事项型",
    CommitmentKind.REPAIR: "信用修复型",
    CommitmentKind.INDUSTRY: "行业自律型",
    CommitmentKind.VOLUNTARY: "主动型",
    CommitmentKind.EMPLOYMENT: "入职信用承诺书",
}
# The catalog's 承诺类型 choices (COMMITMENT_BREACH) have no separate 入职 type: an
# employment commitment is a 主动型 commitment to an employer.
CATALOG_KIND = {
    k: (KIND_NAMES[k] if k is not CommitmentKind.EMPLOYMENT else "主动型") for k in CommitmentKind
}


class CommitmentState(enum.StrEnum):
    SIGNED = "signed"  # 已承诺（履行中）
    FULFILLED = "fulfilled"  # 全部履行
    PARTLY = "partly"  # 部分履行
    UNFULFILLED = "unfulfilled"  # 未履行


STATE_NAMES = {
    CommitmentState.SIGNED: "履行中",
    CommitmentState.FULFILLED: "全部履行",
    CommitmentState.PARTLY: "部分履行",
    CommitmentState.UNFULFILLED: "未履行",
}


class CommitmentAction(enum.StrEnum):
    FULFIL = "fulfil"
    PARTLY = "partly"
    BREAK = "break"


ACTION_NAMES = {
    CommitmentAction.FULFIL: "认定全部履行",
    CommitmentAction.PARTLY: "认定部分履行",
    CommitmentAction.BREAK: "认定未履行",
}
BROKEN = frozenset({CommitmentState.PARTLY.value, CommitmentState.UNFULFILLED.value})
_TRACKERS = {Role.CLERK.value, Role.REVIEWER.value, Role.DEPARTMENT.value, Role.ADMIN.value}
# Who may make a commitment: the person, an institution for them, the office's window.
SIGNERS = frozenset({Role.PERSON.value, Role.INSTITUTION.value, Role.ADMIN.value})

COMMITMENT_MACHINE = Machine(
    "信用承诺",
    {s.value: n for s, n in STATE_NAMES.items()},
    {a.value: n for a, n in ACTION_NAMES.items()},
    {
        (CommitmentState.SIGNED, CommitmentAction.FULFIL): (CommitmentState.FULFILLED, _TRACKERS),
        (CommitmentState.SIGNED, CommitmentAction.PARTLY): (CommitmentState.PARTLY, _TRACKERS),
        (CommitmentState.SIGNED, CommitmentAction.BREAK): (CommitmentState.UNFULFILLED, _TRACKERS),
    },
    terminal=[CommitmentState.FULFILLED, CommitmentState.PARTLY, CommitmentState.UNFULFILLED],
)


def commitment_code(region_code: str, on: dt.date, serial: int) -> str:
    """承诺编号: region (GB/T 2260) + date + a six-digit serial of the day."""
    if not (region_code.isdigit() and len(region_code) == 6):
        raise ValueError("region code must be six digits")
    if not 1 <= serial <= 999_999:
        raise ValueError("serial out of range")
    return f"{region_code}{on:%Y%m%d}{serial:06d}"
