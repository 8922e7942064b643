"""A workflow's cases, one place for what each workflow's services do alike: a case
opened with its evidence and first step (``open_case``: objections, repair applications,
commitments, tip-offs); found, read and listed as their readers may (``CaseKind``:
objections, repair applications, commitments); the fields every view of a case about a
record shows (``case_head``, ``case_tail``).

Who may read a case is :mod:`xinyong.workflows.access` (the person, the deciding
department, the office, the institution that filed it; never an auditor); every read is
logged as a read of the person's data (``log_case_read``, ``log_case_reads``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from xinyong.actors import Actor, Role
from xinyong.errors import NotFound
from xinyong.records.models import Record
from xinyong.workdays.services import calendar_for
from xinyong.workflows.access import (
    log_case_read,
    log_case_reads,
    may_read_subject,
    refuse_auditor,
    scope_case_list,
)
from xinyong.workflows.evidence import Upload, evidence_as_dicts, evidence_of, store_evidence
from xinyong.workflows.history import SteppedCase, history_as_dicts, history_of, record_transition
from xinyong.workflows.machine import Machine


class CaseRow(Protocol):
    """What every case row has: its id, the person it is about, the deciding department."""

    @property
    def id(self) -> int: ...

    @property
    def subject_id(self) -> int: ...

    @property
    def department_id(self) -> int | None: ...


_Case = TypeVar("_Case", bound=CaseRow)


@dataclass(frozen=True)
class CaseKind(Generic[_Case]):
    """One workflow's cases: their table, who filed each, and the words of its refusals
    and of its reads in the query log."""

    model: type[_Case]
    filed_by: InstrumentedAttribute[str]  # the filer's name (an institution reads its own)
    state: InstrumentedAttribute[str]
    action: str  # the query log's action, e.g. objection:view
    what: str  # what is read, for the query log's purpose: 异议
    content: str  # what an auditor is refused: 异议内容
    refusal: str  # the list refused to anyone else: 无权查看异议
    missing: str  # not found: 异议不存在
    missing_code: str  # objection_not_found

    def _column(self, name: str) -> InstrumentedAttribute[Any]:
        column: InstrumentedAttribute[Any] = getattr(self.model, name)
        return column

    def get(self, session: Session, case_id: int) -> _Case:
        """The case, else NotFound."""
        case = session.get(self.model, case_id)
        if case is None:
            raise NotFound(self.missing, code=self.missing_code)
        return case

    def readable(self, actor: Actor, case: _Case) -> bool:
        """The institution that filed it, or whoever may read the person's case."""
        mine = (
            actor.role == Role.INSTITUTION and getattr(case, self.filed_by.key) == actor.name[:200]
        )
        return mine or may_read_subject(actor, case.subject_id, case.department_id)

    def read(self, session: Session, actor: Actor, case_id: int) -> _Case:
        """One case for a reader who may see it (else NotFound, as if it did not exist);
        the read is logged."""
        refuse_auditor(actor, self.content)
        case = self.get(session, case_id)
        if not self.readable(actor, case):
            raise NotFound(self.missing, code=self.missing_code)
        log_case_read(
            session, actor, case.subject_id, action=self.action, what=self.what, ids=[case.id]
        )
        return case

    def list(
        self, session: Session, actor: Actor, *, state: str | None = None, limit: int = 200
    ) -> list[_Case]:
        """The cases the actor may see, newest first (``scope_case_list``); one logged read
        per person."""
        refuse_auditor(actor, self.content)
        stmt = select(self.model).order_by(self._column("id").desc()).limit(limit)
        stmt = scope_case_list(
            stmt,
            actor,
            subject=self._column("subject_id"),
            filed_by=self.filed_by,
            department=self._column("department_id"),
            refusal=self.refusal,
        )
        if state:
            stmt = stmt.where(self.state == state)
        rows = list(session.scalars(stmt))
        log_case_reads(
            session,
            actor,
            [(c.subject_id, c.id) for c in rows],
            action=self.action,
            what=self.what,
        )
        return rows


class CaseOfRecord(CaseRow, Protocol):
    """A case about one record (an objection, a repair application)."""

    @property
    def record_id(self) -> int: ...


def case_head(case: CaseOfRecord, record: Record | None) -> dict[str, Any]:
    """The first fields of a case about a record, as the case views show them."""
    return {
        "id": case.id,
        "record_id": case.record_id,
        "subject_id": case.subject_id,
        "department_id": case.department_id,
        "document_number": record.document_number if record else None,
    }


def open_case(
    session: Session,
    actor: Actor,
    case: SteppedCase,
    workflow: str,
    action: str,
    reason: str | None = None,
    evidence: list[Upload] | None = None,
) -> None:
    """A new case: stored, its evidence files kept, its first step (``action``, into the
    case's state) in the history."""
    session.add(case)
    session.flush()
    if evidence:
        store_evidence(session, actor, workflow, case.id, evidence)
    record_transition(
        session,
        actor,
        workflow=workflow,
        entity_id=case.id,
        action=action,
        from_state=None,
        to_state=case.state,
        reason=reason,
    )


class DecidedCase(CaseRow, Protocol):
    """A case with a deadline for its decision (an objection, a repair application)."""

    @property
    def state(self) -> str: ...

    @property
    def decide_by(self) -> dt.date: ...

    @property
    def decided_on(self) -> dt.date | None: ...

    @property
    def decision_reason(self) -> str | None: ...


def case_tail(
    session: Session,
    workflow: str,
    case: DecidedCase,
    machine: Machine,
    actor: Actor | None,
    open_states: Collection[str],
    since: dt.date,
) -> dict[str, Any]:
    """The last fields of a case view: whether its deadline (counted from ``since``) is
    provisional, its decision, what the reader may do next, its evidence files and its
    steps."""
    return {
        # 暂定: counted through a year whose State Council schedule is not loaded yet
        "provisional": case.state in open_states
        and calendar_for(session).provisional_between(since, case.decide_by),
        "decided_on": case.decided_on.isoformat() if case.decided_on else None,
        "decision_reason": case.decision_reason,
        "actions": machine.actions_for(case.state, actor.role) if actor else [],
        "evidence": evidence_as_dicts(evidence_of(session, workflow, case.id)),
        "history": history_as_dicts(history_of(session, workflow, case.id)),
    }
