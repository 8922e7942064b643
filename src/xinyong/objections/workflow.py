"""The objection (异议) state machine and its deadlines. Pure.

Filing marks the record 异议处理中 at once (DOMAIN §11). The submitting department marks
the objection received (受理) within ``objection_mark_workdays`` and decides within
``objection_decide_workdays`` working days of filing, extendable once to
``objection_extended_workdays``. An objection still open after its deadline is escalated to
the credit office, which then decides it.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from xinyong.actors import Role
from xinyong.workdays import WorkdayCalendar
from xinyong.workflows.machine import Machine


class ObjectionState(enum.StrEnum):
    FILED = "filed"  # 已提交
    ACCEPTED = "accepted"  # 已受理
    EXTENDED = "extended"  # 已延期
    ESCALATED = "escalated"  # 逾期，信用办督办
    CORRECTED = "corrected"  # 已更正
    REVOKED = "revoked"  # 已撤销记录
    UPHELD = "upheld"  # 维持原记录
    WITHDRAWN = "withdrawn"  # 已撤回


class ObjectionAction(enum.StrEnum):
    ACCEPT = "accept"
    EXTEND = "extend"
    ESCALATE = "escalate"
    CORRECT = "correct"
    REVOKE = "revoke"
    UPHOLD = "uphold"
    WITHDRAW = "withdraw"


STATE_NAMES = {
    ObjectionState.FILED: "已提交",
    ObjectionState.ACCEPTED: "已受理",
    ObjectionState.EXTENDED: "已延期",
    ObjectionState.ESCALATED: "逾期督办",
    ObjectionState.CORRECTED: "已更正",
    ObjectionState.REVOKED: "已撤销记录",
    ObjectionState.UPHELD: "维持原记录",
    ObjectionState.WITHDRAWN: "已撤回",
}
ACTION_NAMES = {
    ObjectionAction.ACCEPT: "受理",
    ObjectionAction.EXTEND: "延期",
    ObjectionAction.ESCALATE: "逾期督办",
    ObjectionAction.CORRECT: "更正记录",
    ObjectionAction.REVOKE: "撤销记录",
    ObjectionAction.UPHOLD: "维持原记录",
    ObjectionAction.WITHDRAW: "撤回",
}
# The outcome a decision names, and the action that makes it.
OUTCOME_ACTIONS = {
    "corrected": ObjectionAction.CORRECT,
    "revoked": ObjectionAction.REVOKE,
    "upheld": ObjectionAction.UPHOLD,
}

S, A = ObjectionState, ObjectionAction
# The department's staff mark receipt; its reviewers decide (Permission.REVIEW).
_DEPT_MARK = {Role.CLERK, Role.REVIEWER, Role.ADMIN}
_DEPT_DECIDE = {Role.REVIEWER, Role.ADMIN}
_OFFICE = {Role.ADMIN}
_ESCALATE = {Role.ADMIN, Role.SYSTEM}
_APPLICANT = {Role.PERSON, Role.INSTITUTION, Role.ADMIN}
_OPEN = (S.FILED, S.ACCEPTED, S.EXTENDED)

_table: dict[tuple[str, str], tuple[str, set[Role]]] = {
    (S.FILED, A.ACCEPT): (S.ACCEPTED, _DEPT_MARK),
    (S.ACCEPTED, A.EXTEND): (S.EXTENDED, _DEPT_DECIDE),
}
for _state in _OPEN:
    _table[(_state, A.ESCALATE)] = (S.ESCALATED, _ESCALATE)
    _table[(_state, A.WITHDRAW)] = (S.WITHDRAWN, _APPLICANT)
    for _action, _target in ((A.CORRECT, S.CORRECTED), (A.REVOKE, S.REVOKED), (A.UPHOLD, S.UPHELD)):
        _table[(_state, _action)] = (_target, _DEPT_DECIDE)
for _action, _target in ((A.CORRECT, S.CORRECTED), (A.REVOKE, S.REVOKED), (A.UPHOLD, S.UPHELD)):
    _table[(S.ESCALATED, _action)] = (_target, _OFFICE)

OBJECTION_MACHINE = Machine(
    "异议",
    {s.value: n for s, n in STATE_NAMES.items()},
    {a.value: n for a, n in ACTION_NAMES.items()},
    {(s, a): (t, {r.value for r in roles}) for (s, a), (t, roles) in _table.items()},
    terminal=[S.CORRECTED, S.REVOKED, S.UPHELD, S.WITHDRAWN],
)
OPEN_STATES = frozenset(s.value for s in (*_OPEN, S.ESCALATED))


@dataclass(frozen=True, slots=True)
class Deadlines:
    mark_by: dt.date
    decide_by: dt.date


def deadlines(
    calendar: WorkdayCalendar,
    filed_on: dt.date,
    *,
    mark_workdays: int,
    decide_workdays: int,
    extended_workdays: int,
    extended: bool = False,
) -> Deadlines:
    """The day by which the objection must be marked and decided (inclusive), counted in
    working days after the filing day."""
    decide = extended_workdays if extended else decide_workdays
    return Deadlines(
        calendar.add_workdays(filed_on, mark_workdays),
        calendar.add_workdays(filed_on, decide),
    )


def is_overdue(state: str, decide_by: dt.date, on: dt.date) -> bool:
    return state in (S.FILED, S.ACCEPTED, S.EXTENDED) and on > decide_by
