"""Workflow fixtures: a department, its reviewer, a person with negative records, all made
through the real submission pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from xinyong.actors import Actor, Role, cli_operator
from xinyong.catalog.models import Department
from xinyong.identity.protection import protector_for
from xinyong.records.models import Record
from xinyong.subjects.services import find_subject

TODAY = dt.date.today()
ADMIN = cli_operator("test")


def reviewer(dept: Department) -> Actor:
    return Actor(f"reviewer:{dept.code}", Role.REVIEWER, dept.id, dept.code)


def person(subject_id: int) -> Actor:
    return Actor("person:test", Role.PERSON, subject_id=subject_id, channel="web")


@dataclass
class Case:
    dept: Department
    number: str
    subject_id: int
    record: Record

    @property
    def person(self) -> Actor:
        return person(self.subject_id)

    @property
    def reviewer(self) -> Actor:
        return reviewer(self.dept)


def submit_record(
    session: Session,
    dept: Department,
    item: str,
    *,
    number: str | None = None,
    decided: dt.date | None = None,
    document: str | None = None,
) -> Case:
    number = number or factories.resident_id()
    dept = factories.provider_of(session, item, dept)  # a department sends only its items
    row = factories.generic_row(
        item,
        session=session,
        id_number=number,
        name="钱七",
        decided=(decided or TODAY - dt.timedelta(days=20)).isoformat(),
        document=document,
        部门代码=dept.code,
    )
    result = factories.submit_rows(session, [row])
    assert result.accepted == 1, result.errors
    subject = find_subject(session, protector_for(), number)
    assert subject is not None
    record = session.scalars(
        select(Record)
        .where(Record.subject_id == subject.id, Record.item_code == item)
        .order_by(Record.id.desc())
    ).first()
    assert record is not None
    return Case(dept, number, subject.id, record)


@pytest.fixture()
def dept(session: Session) -> Department:
    return factories.department(session, provides="RUMOUR_SPREADING")  # the cases' item


@pytest.fixture()
def other_dept(session: Session) -> Department:
    return factories.department(session, provides="RUMOUR_SPREADING")
