"""Writing the history of every workflow step (the one hook for the audit trail)."""

from __future__ import annotations

import re
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.workflows.machine import Machine
from xinyong.workflows.models import WorkflowTransition


class SteppedCase(Protocol):
    """A case that moves through a workflow's states."""

    @property
    def id(self) -> int: ...

    state: str


def record_transition(
    session: Session,
    actor: Actor,
    *,
    workflow: str,
    entity_id: int,
    action: str,
    from_state: str | None,
    to_state: str,
    reason: str | None = None,
) -> WorkflowTransition:
    """Write one step in the caller's transaction.

    Every workflow step of the platform passes through this function and nowhere else, and
    each is an audit event ``workflows:<workflow>:<step>`` in the same transaction (named
    by ``audit.tags.label_of``)."""
    row = WorkflowTransition(
        workflow=workflow,
        entity_id=entity_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor.name[:200],
        role=actor.role,
        department_id=actor.department_id,
        reason=reason,
    )
    session.add(row)
    session.flush()
    record_event(session, actor, f"workflows:{_word(workflow)}:{_word(action)}", target_type=workflow[:32], target_id=entity_id, purpose=reason, details={"transition_id": row.id, "from": from_state, "to": to_state})  # fmt: skip
    return row


def take_step(
    session: Session,
    actor: Actor,
    case: SteppedCase,
    machine: Machine,
    workflow: str,
    action: str,
    reason: str | None,
) -> str:
    """One step of a case: its next state as ``machine`` allows (refused otherwise), and
    the step's history. Returns the state before."""
    before = case.state
    case.state = machine.next_state(before, action, actor.role)
    session.flush()
    record_transition(
        session,
        actor,
        workflow=workflow,
        entity_id=case.id,
        action=action,
        from_state=before,
        to_state=case.state,
        reason=reason,
    )
    return before


def _word(text: str) -> str:
    """An audit action's part: lower-case letters, digits and underscores."""
    word = re.sub(r"[^a-z0-9_]", "_", text.lower()).strip("_")
    return word if word[:1].isalpha() else f"x{word}"


def history_of(session: Session, workflow: str, entity_id: int) -> list[WorkflowTransition]:
    return list(
        session.scalars(
            select(WorkflowTransition)
            .where(
                WorkflowTransition.workflow == workflow, WorkflowTransition.entity_id == entity_id
            )
            .order_by(WorkflowTransition.id)
        )
    )


def history_as_dicts(rows: list[WorkflowTransition]) -> list[dict[str, object]]:
    return [
        {
            "action": t.action,
            "from": t.from_state,
            "to": t.to_state,
            "actor": t.actor,
            "role": t.role,
            "at": t.at.isoformat(),
            "reason": t.reason,
        }
        for t in rows
    ]
