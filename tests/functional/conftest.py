"""A small world with one account of every role, for the API and page tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories
from xinyong.accounts.models import KeyRole, SessionKind
from xinyong.accounts.services import (
    create_user,
    ensure_institution,
    issue_api_key,
    open_session,
    register_person,
)
from xinyong.actors import Role
from xinyong.identity.protection import protector_for
from xinyong.web.app import create_app

PASSWORD = "Test-password-2026"


@dataclass
class World:
    person_number: str
    person_name: str
    subject_id: int
    other_subject_id: int
    institution_id: int
    other_institution_id: int
    department_code: str
    tokens: dict[str, str] = field(default_factory=dict)  # role → bearer credential

    def auth(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture()
def https_client(session: Session) -> Iterator[TestClient]:
    """Over https so that the Secure session cookie is kept, as in production."""
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as c:
        yield c


@pytest.fixture()
def world(session: Session) -> World:
    dept = factories.department(session, code="WDEPT", name="世界市场监管局")
    number = factories.resident_id(seq=311)
    other_number = factories.resident_id(seq=313)
    factories.submit_rows(
        session,
        [
            factories.penalty_row(name="林小满", id_number=number, dept=dept),
            factories.penalty_row(name="周大福", id_number=other_number, dept=dept),
        ],
    )
    protector = protector_for()
    person = register_person(
        session,
        protector,
        id_number=number,
        name="林小满",
        username="linxiaoman",
        password=PASSWORD,
    )
    other = register_person(
        session,
        protector,
        id_number=other_number,
        name="周大福",
        username="zhoudafu",
        password=PASSWORD,
    )
    bank = ensure_institution(session, "测试银行")
    other_bank = ensure_institution(session, "别家银行")
    users = {
        Role.ADMIN: create_user(session, username="admin1", password=PASSWORD, role=Role.ADMIN),
        Role.CLERK: create_user(
            session, username="clerk1", password=PASSWORD, role=Role.CLERK, department_code="WDEPT"
        ),
        Role.REVIEWER: create_user(
            session,
            username="reviewer1",
            password=PASSWORD,
            role=Role.REVIEWER,
            department_code="WDEPT",
        ),
        Role.INSTITUTION: create_user(
            session,
            username="bank1",
            password=PASSWORD,
            role=Role.INSTITUTION,
            institution_name="测试银行",
        ),
        Role.AUDITOR: create_user(
            session, username="auditor1", password=PASSWORD, role=Role.AUDITOR
        ),
        Role.PERSON: person,
    }
    create_user(session, username="target1", password=PASSWORD, role=Role.AUDITOR)
    w = World(
        person_number=number,
        person_name="林小满",
        subject_id=person.subject_id or 0,
        other_subject_id=other.subject_id or 0,
        institution_id=bank.id,
        other_institution_id=other_bank.id,
        department_code="WDEPT",
    )
    for role, user in users.items():
        w.tokens[role.value] = open_session(session, user, SessionKind.BEARER).token
    w.tokens["department"] = issue_api_key(session, KeyRole.DEPARTMENT, "dept system", dept)
    w.tokens["platform"] = issue_api_key(session, KeyRole.PLATFORM, "430199")
    w.tokens["other_person"] = open_session(session, other, SessionKind.BEARER).token
    session.commit()
    return w
