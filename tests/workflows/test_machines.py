"""Every state × every action × every role of every workflow, against tables written out
here by hand from the rules, so a change to a machine must be a change to this file too."""

from __future__ import annotations

import itertools

import pytest

from xinyong.actors import Role
from xinyong.commitments.workflow import COMMITMENT_MACHINE
from xinyong.errors import Forbidden, InvalidTransition
from xinyong.objections.workflow import OBJECTION_MACHINE
from xinyong.repair.workflow import repair_machine
from xinyong.tipoffs.workflow import TIPOFF_MACHINE
from xinyong.workflows.machine import Machine

ROLES = [r.value for r in Role] + ["public"]
DEPT_MARK = {"clerk", "reviewer", "admin"}
DEPT_DECIDE = {"reviewer", "admin"}
APPLICANT = {"person", "institution", "admin"}

OBJECTION_EXPECTED: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("filed", "accept"): ("accepted", DEPT_MARK),
    ("accepted", "extend"): ("extended", DEPT_DECIDE),
    **{
        (state, "escalate"): ("escalated", {"admin", "system"})
        for state in ("filed", "accepted", "extended")
    },
    **{
        (state, "withdraw"): ("withdrawn", APPLICANT) for state in ("filed", "accepted", "extended")
    },
    **{
        (state, action): (target, DEPT_DECIDE)
        for state in ("filed", "accepted", "extended")
        for action, target in (
            ("correct", "corrected"),
            ("revoke", "revoked"),
            ("uphold", "upheld"),
        )
    },
    **{
        ("escalated", action): (target, {"admin"})
        for action, target in (
            ("correct", "corrected"),
            ("revoke", "revoked"),
            ("uphold", "upheld"),
        )
    },
}

REPAIR_WITH_OFFICE = {
    ("submitted", "approve"): ("dept_approved", {"reviewer"}),
    ("submitted", "reject"): ("rejected", {"reviewer"}),
    ("submitted", "withdraw"): ("withdrawn", APPLICANT),
    ("dept_approved", "approve"): ("approved", {"admin"}),
    ("dept_approved", "reject"): ("rejected", {"admin"}),
    ("dept_approved", "withdraw"): ("withdrawn", APPLICANT),
}
REPAIR_WITHOUT_OFFICE = {
    ("submitted", "approve"): ("approved", {"reviewer"}),
    ("submitted", "reject"): ("rejected", {"reviewer"}),
    ("submitted", "withdraw"): ("withdrawn", APPLICANT),
}
TRACKERS = {"clerk", "reviewer", "department", "admin"}
COMMITMENT_EXPECTED = {
    ("signed", "fulfil"): ("fulfilled", TRACKERS),
    ("signed", "partly"): ("partly", TRACKERS),
    ("signed", "break"): ("unfulfilled", TRACKERS),
}
TIPOFF_EXPECTED = {
    ("received", "route"): ("routed", {"admin", "system"}),
    ("received", "reject"): ("rejected", {"admin"}),
    ("routed", "return"): ("received", {"clerk", "reviewer", "admin"}),
    ("routed", "investigate"): ("investigating", {"clerk", "reviewer", "admin"}),
    ("routed", "close"): ("closed", {"reviewer", "admin"}),
    ("routed", "reject"): ("rejected", {"reviewer", "admin"}),
    ("investigating", "close"): ("closed", {"reviewer", "admin"}),
}

MACHINES = [
    ("objection", OBJECTION_MACHINE, OBJECTION_EXPECTED),
    ("repair+office", repair_machine(True), REPAIR_WITH_OFFICE),
    ("repair", repair_machine(False), REPAIR_WITHOUT_OFFICE),
    ("commitment", COMMITMENT_MACHINE, COMMITMENT_EXPECTED),
    ("tipoff", TIPOFF_MACHINE, TIPOFF_EXPECTED),
]


def _cases() -> list[
    tuple[str, Machine, dict[tuple[str, str], tuple[str, set[str]]], str, str, str]
]:
    return [
        (name, machine, expected, state, action, role)
        for name, machine, expected in MACHINES
        for state, action, role in itertools.product(
            machine.state_names, machine.action_names, ROLES
        )
    ]


@pytest.mark.parametrize(
    ("name", "machine", "expected", "state", "action", "role"),
    _cases(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_state_action_role(
    name: str,
    machine: Machine,
    expected: dict[tuple[str, str], tuple[str, set[str]]],
    state: str,
    action: str,
    role: str,
) -> None:
    rule = expected.get((state, action))
    if rule is None:
        with pytest.raises(InvalidTransition) as refused:
            machine.next_state(state, action, role)
        assert machine.state_names[state] in refused.value.message
        assert not machine.allowed(state, action, role)
    elif role not in rule[1]:
        with pytest.raises(Forbidden) as forbidden:
            machine.next_state(state, action, role)
        assert forbidden.value.code == "role_not_allowed"
        assert not machine.allowed(state, action, role)
    else:
        assert machine.next_state(state, action, role) == rule[0]
        assert machine.allowed(state, action, role)
        assert action in machine.actions_for(state, role)


@pytest.mark.parametrize(("name", "machine", "expected"), MACHINES, ids=[m[0] for m in MACHINES])
def test_tables_are_exactly_the_expected_ones(
    name: str, machine: Machine, expected: dict[tuple[str, str], tuple[str, set[str]]]
) -> None:
    actual = {k: (r.target, set(r.roles)) for k, r in machine.table.items()}
    assert actual == expected
    for state in machine.terminal:
        assert not any(s == state for s, _ in machine.table), state


def test_unknown_states_and_actions_are_refused_clearly() -> None:
    with pytest.raises(InvalidTransition, match="未知"):
        OBJECTION_MACHINE.next_state("nonsense", "accept", "admin")
    with pytest.raises(InvalidTransition, match="未知"):
        OBJECTION_MACHINE.next_state("filed", "nonsense", "admin")


def test_a_table_with_an_exit_from_a_terminal_state_is_rejected() -> None:
    with pytest.raises(ValueError):
        Machine(
            "x", {"a": "A", "b": "B"}, {"go": "Go"}, {("b", "go"): ("a", {"admin"})}, terminal=["b"]
        )
