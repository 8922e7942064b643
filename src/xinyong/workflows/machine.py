"""A state machine as a table: (state, action) → (next state, roles allowed). Pure.

Every workflow declares one :class:`Machine`; services ask it before changing anything,
so an illegal transition is refused with a clear error before a row is touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xinyong.actors import ROLE_LABELS
from xinyong.errors import Forbidden, InvalidTransition


@dataclass(frozen=True, slots=True)
class Rule:
    target: str
    roles: frozenset[str]


class Machine:
    """States, actions and the table between them, with Chinese names for messages."""

    def __init__(
        self,
        name: str,
        states: Mapping[str, str],
        actions: Mapping[str, str],
        table: Mapping[tuple[str, str], tuple[str, Iterable[str]]],
        *,
        terminal: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.state_names = dict(states)
        self.action_names = dict(actions)
        self.terminal = frozenset(terminal)
        self.table = {key: Rule(target, frozenset(roles)) for key, (target, roles) in table.items()}
        for (state, action), rule in self.table.items():
            if state not in self.state_names or rule.target not in self.state_names:
                raise ValueError(f"{name}: unknown state in {(state, action)}")
            if action not in self.action_names:
                raise ValueError(f"{name}: unknown action {action}")
            if state in self.terminal:
                raise ValueError(f"{name}: transition out of terminal state {state}")

    def rule(self, state: str, action: str) -> Rule | None:
        return self.table.get((state, action))

    def allowed(self, state: str, action: str, role: str) -> bool:
        rule = self.rule(state, action)
        return rule is not None and role in rule.roles

    def next_state(self, state: str, action: str, role: str) -> str:
        """The state after ``action``; refuses an action the state or the role does not allow."""
        if state not in self.state_names:
            raise InvalidTransition(f"{self.name}状态 {state} 未知", code="unknown_state")
        if action not in self.action_names:
            raise InvalidTransition(f"{self.name}操作 {action} 未知", code="unknown_action")
        rule = self.rule(state, action)
        if rule is None:
            raise InvalidTransition(
                f"{self.name}当前为“{self.state_names[state]}”，不能{self.action_names[action]}",
                code="invalid_transition",
            )
        if role not in rule.roles:
            raise Forbidden(
                f"{ROLE_LABELS.get(role, role)}无权对{self.name}执行“{self.action_names[action]}”",
                code="role_not_allowed",
            )
        return rule.target

    def actions_for(self, state: str, role: str) -> list[str]:
        """What ``role`` may do now (for pages and API answers)."""
        return [a for (s, a), rule in self.table.items() if s == state and role in rule.roles]
