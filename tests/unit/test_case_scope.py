"""The one case-list scoping (workflows.access.scope_case_list) of objections, repair
applications and commitments: who sees which cases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from xinyong.actors import Actor, Role
from xinyong.commitments.models import Commitment
from xinyong.errors import Forbidden
from xinyong.objections.models import Objection
from xinyong.repair.models import RepairApplication
from xinyong.workflows.access import scope_case_list

CASES = [
    (Objection, Objection.filed_by),
    (RepairApplication, RepairApplication.applied_by),
    (Commitment, Commitment.made_by),
]


def _where(model: Any, filer: Any, actor: Actor) -> str:
    stmt = scope_case_list(
        select(model),
        actor,
        subject=model.subject_id,
        filed_by=filer,
        department=model.department_id,
        refusal="无权查看",
    )
    compiled = stmt.compile(compile_kwargs={"literal_binds": True})
    return str(compiled).partition("WHERE")[2].strip()


@pytest.mark.parametrize(("model", "filer"), CASES)
def test_each_role_sees_its_own_cases(model: Any, filer: Any) -> None:
    table = model.__tablename__
    column = filer.key
    person = Actor(name="p", role=Role.PERSON, subject_id=7)
    assert _where(model, filer, person) == f"{table}.subject_id = 7"
    assert _where(model, filer, Actor(name="p", role=Role.PERSON)) == f"{table}.subject_id = -1"
    bank = Actor(name="某银行", role=Role.INSTITUTION)
    assert _where(model, filer, bank) == f"{table}.{column} = '某银行'"
    for role in (Role.CLERK, Role.REVIEWER, Role.DEPARTMENT):
        clerk = Actor(name="c", role=role, department_id=3)
        assert _where(model, filer, clerk) == f"{table}.department_id = 3"
    assert _where(model, filer, Actor(name="c", role=Role.CLERK)) == f"{table}.department_id = -1"
    for role in (Role.ADMIN, Role.SYSTEM):
        assert _where(model, filer, Actor(name="a", role=role)) == ""
    for role in (Role.AUDITOR, Role.PLATFORM):
        with pytest.raises(Forbidden, match="无权查看"):
            _where(model, filer, Actor(name="x", role=role))
