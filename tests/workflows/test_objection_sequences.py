"""Random sequences of objection actions by random roles, on the database: whatever is
tried, the record is disputed exactly while an objection is open, a refused step changes
nothing, and every accepted step is in the history."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.workflows.conftest import ADMIN, TODAY, person, reviewer, submit_record
from xinyong.actors import SYSTEM, Actor, Role
from xinyong.catalog.models import Department
from xinyong.errors import XinyongError
from xinyong.objections.services import (
    accept_objection,
    decide_objection,
    escalate_overdue,
    extend_objection,
    file_objection,
    withdraw_objection,
)
from xinyong.objections.workflow import OPEN_STATES
from xinyong.workflows.history import history_of

ACTIONS = ["accept", "extend", "escalate", "corrected", "revoked", "upheld", "withdraw"]
WHO = ["person", "stranger", "reviewer", "other_reviewer", "clerk", "admin", "system"]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(WHO)), max_size=6))
def test_random_sequences_keep_the_record_consistent(
    session: Session, dept: Department, other_dept: Department, steps: list[tuple[str, str]]
) -> None:
    savepoint = session.begin_nested()
    try:
        case = submit_record(
            session, dept, "RUMOUR_SPREADING", decided=TODAY - dt.timedelta(days=60)
        )
        actors: dict[str, Actor] = {
            "person": case.person,
            "stranger": person(case.subject_id + 7),
            "reviewer": reviewer(dept),
            "other_reviewer": reviewer(other_dept),
            "clerk": Actor("clerk", Role.CLERK, dept.id, dept.code),
            "admin": ADMIN,
            "system": SYSTEM,
        }
        filed_on = dt.date(2026, 9, 30)
        objection = file_objection(
            session, case.person, case.record.id, reason="不是我", on=filed_on
        )
        accepted_steps = 1
        for action, who in steps:
            actor = actors[who]
            before = (objection.state, case.record.state, case.record.version)
            try:
                if action == "accept":
                    accept_objection(session, actor, objection.id)
                elif action == "extend":
                    extend_objection(session, actor, objection.id, reason="需要调查")
                elif action == "escalate":
                    if not escalate_overdue(session, actor, dt.date(2026, 12, 31)):
                        raise XinyongError("nothing overdue")
                elif action == "withdraw":
                    withdraw_objection(session, actor, objection.id)
                else:
                    decide_objection(
                        session,
                        actor,
                        objection.id,
                        outcome=action,
                        reason="处理",
                        corrections={"behaviour": "更正后的行为"},
                    )
            except XinyongError:
                assert (objection.state, case.record.state, case.record.version) == before
                continue
            accepted_steps += 1
        open_now = objection.state in OPEN_STATES
        assert (case.record.state == "disputed") == open_now
        if objection.state in ("corrected", "upheld", "withdrawn"):
            assert case.record.state == "active"
        if objection.state == "revoked":
            assert case.record.state == "revoked"
        assert case.record.version == (2 if objection.state == "corrected" else 1)
        assert len(history_of(session, "objection", objection.id)) == accepted_steps
    finally:
        savepoint.rollback()
