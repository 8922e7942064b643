"""Writing the history of every workflow step (the one hook for the audit trail)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.workflows.models import WorkflowTransition


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

    The tamper-evident audit chain (a later issue) hooks here: every workflow step of the
    platform passes through this function and nowhere else."""
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
    return row


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
