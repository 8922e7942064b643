"""The tip-off (举报) state machine and tracking codes. Pure (the rate limit of filing is
``xinyong.ratelimit``'s ``tipoff``)."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets

from xinyong.actors import Role
from xinyong.workflows.machine import Machine


class TipoffState(enum.StrEnum):
    RECEIVED = "received"  # 已收到，待分派
    ROUTED = "routed"  # 已转办至责任部门
    INVESTIGATING = "investigating"  # 核查中
    CLOSED = "closed"  # 已办结
    REJECTED = "rejected"  # 不予受理


class TipoffAction(enum.StrEnum):
    ROUTE = "route"
    RETURN = "return"
    INVESTIGATE = "investigate"
    CLOSE = "close"
    REJECT = "reject"


STATE_NAMES = {
    TipoffState.RECEIVED: "已收到，待分派",
    TipoffState.ROUTED: "已转责任部门",
    TipoffState.INVESTIGATING: "核查中",
    TipoffState.CLOSED: "已办结",
    TipoffState.REJECTED: "不予受理",
}
ACTION_NAMES = {
    TipoffAction.ROUTE: "转办",
    TipoffAction.RETURN: "退回信用办",
    TipoffAction.INVESTIGATE: "开始核查",
    TipoffAction.CLOSE: "办结",
    TipoffAction.REJECT: "不予受理",
}
_OFFICE = {Role.ADMIN.value, Role.SYSTEM.value}
_DEPT = {Role.CLERK.value, Role.REVIEWER.value, Role.ADMIN.value}
_DECIDE = {Role.REVIEWER.value, Role.ADMIN.value}
S, A = TipoffState, TipoffAction
TIPOFF_MACHINE = Machine(
    "举报",
    {s.value: n for s, n in STATE_NAMES.items()},
    {a.value: n for a, n in ACTION_NAMES.items()},
    {
        (S.RECEIVED, A.ROUTE): (S.ROUTED, _OFFICE),
        (S.RECEIVED, A.REJECT): (S.REJECTED, {Role.ADMIN.value}),
        (S.ROUTED, A.RETURN): (S.RECEIVED, _DEPT),
        (S.ROUTED, A.INVESTIGATE): (S.INVESTIGATING, _DEPT),
        (S.ROUTED, A.CLOSE): (S.CLOSED, _DECIDE),
        (S.ROUTED, A.REJECT): (S.REJECTED, _DECIDE),
        (S.INVESTIGATING, A.CLOSE): (S.CLOSED, _DECIDE),
    },
    terminal=[S.CLOSED, S.REJECTED],
)

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def new_tracking_code() -> str:
    return "JB" + "".join(secrets.choice(_ALPHABET) for _ in range(12))


def tracking_hash(code: str) -> str:
    """Only the hash is stored: the code is the submitter's secret."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


def scrub_identity_numbers(text: str) -> str:
    """An identity number typed into a tip-off is not stored in clear."""
    return _ID_NUMBER.sub(
        lambda m: m.group(0)[:4] + "*" * (len(m.group(0)) - 6) + m.group(0)[-2:], text
    )
