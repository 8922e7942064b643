"""Checks (联合奖惩核查): facts from the archive, the engine's decisions, the record of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import PendingEvent, pending_event, queue_event, record_event
from xinyong.audit.tags import EventTag
from xinyong.bulk import table_columns
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.services import current_catalog
from xinyong.db import is_postgres, utcnow
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.identity.protection import IdentityProtector
from xinyong.measures.engine import (
    EFFECT_NAMES,
    VERDICT_NAMES,
    CheckOutcome,
    SubjectFacts,
    decide,
)
from xinyong.measures.facts import facts_by_index, load_facts_bulk
from xinyong.measures.models import Check, CheckFeedback
from xinyong.queries.models import QueryBasis
from xinyong.queries.recorder import OrmRecorder, Read, SetRecorder
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.subjects.services import archive_index, blind_index_for, is_other_document


def outcome_as_dict(outcome: CheckOutcome) -> list[dict[str, Any]]:
    return [
        {
            "measure": d.measure.code,
            "name": d.measure.name,
            "kind": d.measure.kind,
            "effect": d.measure.effect,
            "effect_name": EFFECT_NAMES[d.measure.effect],
            "basis": d.measure.basis,
            "departments": list(d.measure.departments),
            "triggers": [
                {
                    "kind": t.kind,
                    "ref": t.ref,
                    "text": t.text,
                    "via_organisation": t.via_organisation,
                }
                for t in d.triggers
            ],
        }
        for d in outcome.decisions
    ]


@dataclass(frozen=True)
class CheckResult:
    check_id: int
    verdict: str
    decisions: list[dict[str, Any]]
    found: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "verdict": self.verdict,
            "verdict_name": VERDICT_NAMES[self.verdict],
            "decisions": self.decisions,
        }


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """A validated check request: what to look up and how its read is to be logged."""

    scenario: str
    index: str
    operator: str
    business_ref: str
    action: str
    purpose: str
    batch_ref: str | None


def plan_check(
    catalog: Catalog,
    protector: IdentityProtector,
    *,
    id_number: str,
    scenario: str,
    operator: str,
    business_ref: str,
    id_type: str | None = None,
    batch_ref: str | None = None,
) -> CheckPlan:
    """Validate a check request (scenario, operator, identity number); no database."""
    scenario_entry = catalog.scenarios.get(scenario)
    if scenario_entry is None:
        raise InvalidInput(f"应用场景 {scenario} 不存在", code="unknown_scenario")
    if not operator.strip() or not business_ref.strip():
        raise InvalidInput("须填写经办人和业务编号", code="missing_operator")
    index = blind_index_for(protector, id_number, id_type)
    operator = operator.strip()[:200]
    business_ref = business_ref.strip()[:200]
    return CheckPlan(
        scenario=scenario,
        index=index,
        operator=operator,
        business_ref=business_ref,
        action="check:batch" if batch_ref else "check:run",
        purpose=f"{scenario_entry.name}（业务编号 {business_ref}，经办人 {operator}）"[:200],
        batch_ref=batch_ref,
    )


def answer_check(
    plan: CheckPlan, facts: SubjectFacts | None, catalog: Catalog, on: dt.date
) -> tuple[str, list[dict[str, Any]]]:
    """The verdict and the decisions (as the API shapes them) for the subject's facts."""
    if facts is None:
        return "clear", []
    outcome = decide(facts, plan.scenario, catalog.measures.values(), catalog.grades, on)
    return outcome.verdict, outcome_as_dict(outcome)


def check_read(
    actor: Actor,
    plan: CheckPlan,
    subject_id: int,
    check_id: int,
    verdict: str,
    decisions: list[dict[str, Any]],
    at: dt.datetime | None = None,
) -> Read:
    """A check's read of a known subject, as every path records it (queries.recorder)."""
    return Read(
        actor,
        subject_id,
        action=plan.action,
        purpose=plan.purpose,
        basis=QueryBasis.LEGAL_DUTY.value,
        returned={
            "check_id": check_id,
            "verdict": verdict,
            "measures": [d["measure"] for d in decisions],
        },
        details={"check_id": check_id},
        at=at,
    )


def check_not_found_event(actor: Actor, plan: CheckPlan, check_id: int) -> PendingEvent | None:
    """The audit event of a check of someone the archive does not know (no query log)."""
    return pending_event(actor, EventTag.QUERY_CHECK_NOT_FOUND, target_type="check", target_id=check_id, purpose=plan.purpose, basis=QueryBasis.LEGAL_DUTY.value, details={"batch_ref": plan.batch_ref})  # fmt: skip


def pg_check_row(row: dict[str, Any]) -> dict[str, Any]:
    """A check's row as psycopg takes it (the decisions as jsonb)."""
    return row | {"decisions": Jsonb(row["decisions"])}


# The check table's columns the raw statements write (all but the id), from the model.
CHECK_COLUMNS = table_columns(Check.__table__, without=("id",))


def check_row(
    actor: Actor,
    plan: CheckPlan,
    subject_id: int | None,
    verdict: str,
    decisions: list[dict[str, Any]],
    now: dt.datetime,
) -> dict[str, Any]:
    """The check's row by column name (``CHECK_COLUMNS``)."""
    return {
        "department_id": actor.department_id,
        "actor": actor.name,
        "operator": plan.operator,
        "scenario": plan.scenario,
        "business_ref": plan.business_ref,
        "subject_id": subject_id,
        "verdict": verdict,
        "decisions": decisions,
        "batch_ref": plan.batch_ref,
        "created_at": now,
    }


def run_check(
    session: Session,
    actor: Actor,
    protector: IdentityProtector,
    *,
    id_number: str,
    scenario: str,
    operator: str,
    business_ref: str,
    id_type: str | None = None,
    on: dt.date | None = None,
    batch_ref: str | None = None,
) -> CheckResult:
    """The answer to a business system: which measures apply, why, and the verdict.

    A person the archive does not know gets the same answer as one with nothing against
    them ("no records"), so the API reveals nothing about who is in the archive.
    """
    on = on or dt.date.today()
    catalog = current_catalog(session)
    plan = plan_check(
        catalog,
        protector,
        id_number=id_number,
        scenario=scenario,
        operator=operator,
        business_ref=business_ref,
        id_type=id_type,
        batch_ref=batch_ref,
    )
    if is_other_document(id_type):  # a passport or permit linked to a person's archive
        plan = replace(plan, index=archive_index(session, plan.index))
    postgres = is_postgres(session)
    facts: SubjectFacts | None
    if postgres:
        facts = facts_by_index(session, plan.index, catalog, on)
    else:
        found = session.scalar(select(Subject.id).where(Subject.id_index == plan.index))
        facts = None if found is None else load_facts_bulk(session, [found], catalog, on)[found]
    subject_id = facts.subject_id if facts is not None else None
    verdict, decisions = answer_check(plan, facts, catalog, on)
    if postgres:
        now = utcnow()
        with _driver(session).cursor() as cur:
            row = cur.execute(
                _RECORD_CHECK_SQL,
                pg_check_row(check_row(actor, plan, subject_id, verdict, decisions, now)),
            ).fetchone()
        assert row is not None
        check_id = int(row[0])
    else:
        check = Check(**check_row(actor, plan, subject_id, verdict, decisions, utcnow()))
        session.add(check)
        session.flush()
        check_id, now = check.id, check.created_at
    # The read is logged in the same transaction as it was made, or not answered.
    if subject_id is not None:
        recorder = SetRecorder() if postgres else OrmRecorder()
        read = check_read(actor, plan, subject_id, check_id, verdict, decisions, at=now)
        recorder.record(session, [read])
    else:
        queue_event(session, check_not_found_event(actor, plan, check_id))
    return CheckResult(check_id, verdict, decisions, subject_id is not None)


def add_feedback(
    session: Session,
    actor: Actor,
    check_id: int,
    *,
    measure: str,
    applied: bool,
    outcome: str,
    note: str | None = None,
) -> CheckFeedback:
    check = session.get(Check, check_id)
    if check is None or (not actor.is_admin and check.department_id != actor.department_id):
        # Another department's check is answered as not found: its existence is not theirs.
        raise NotFound("核查记录不存在", code="check_not_found")
    if not (actor.is_department or actor.is_admin):
        raise Forbidden("无权反馈", code="forbidden")
    known = {d["measure"] for d in check.decisions}
    if measure not in known:
        raise InvalidInput(f"措施 {measure} 不在该次核查结果中", code="unknown_measure")
    if not outcome.strip():
        raise InvalidInput("须说明处理结果", code="missing_outcome")
    text, remark = outcome.strip()[:200], (note or "").strip()[:2000] or None
    latest = session.scalar(
        select(CheckFeedback)
        .where(CheckFeedback.check_id == check.id, CheckFeedback.measure_code == measure)
        .order_by(CheckFeedback.id.desc())
        .limit(1)
    )
    if latest is not None and (latest.applied, latest.outcome, latest.note) == (
        applied,
        text,
        remark,
    ):
        # The same feedback sent again (a retry, a second click) is the one already given.
        return latest
    feedback = CheckFeedback(
        check_id=check.id,
        department_id=check.department_id,
        measure_code=measure,
        applied=applied,
        outcome=text,
        note=remark,
        actor=actor.name,
    )
    session.add(feedback)
    session.flush()
    record_event(session, actor, "measures:feedback:added", target_type="check", target_id=check.id, details={"feedback_id": feedback.id, "measure": measure, "applied": applied})  # fmt: skip
    return feedback


def current_feedback() -> Select[Any]:
    """The ids of the feedback in force: the latest per check and measure. A department's
    correction replaces its earlier answer, so each check's measure is counted once."""
    return select(func.max(CheckFeedback.id)).group_by(
        CheckFeedback.check_id, CheckFeedback.measure_code
    )


def feedback_statistics(session: Session) -> list[dict[str, Any]]:
    """Checks and feedback by department, measure and month, for the office's dashboards."""
    month = func.substr(
        func.cast(CheckFeedback.created_at, type_=Record.document_number.type), 1, 7
    )
    rows = session.execute(
        select(
            CheckFeedback.department_id,
            CheckFeedback.measure_code,
            month,
            func.count(),
            func.sum(func.cast(CheckFeedback.applied, type_=Record.item_version.type)),
        )
        .where(CheckFeedback.id.in_(current_feedback()))
        .group_by(CheckFeedback.department_id, CheckFeedback.measure_code, month)
    ).all()
    return [
        {"department_id": d, "measure": m, "month": mo, "feedback": n, "applied": int(a or 0)}
        for d, m, mo, n, a in rows
    ]


def checks_of_department(session: Session, department_id: int) -> Iterable[Check]:
    return session.scalars(
        select(Check).where(Check.department_id == department_id).order_by(Check.id.desc())
    )


# -- a department's checks and their feedback (the workbench's 核查记录) -------------------


@dataclass(frozen=True)
class CheckPage:
    checks: list[Check]
    answered: set[int]  # ids of the checks with 反馈 given
    page: int
    has_next: bool


def checks_of(session: Session, actor: Actor, page: int = 1, per_page: int = 20) -> CheckPage:
    """The checks the actor may see, newest first: their department's, or all for the
    office; which of them have feedback."""
    stmt = select(Check)
    if not actor.is_admin:
        stmt = stmt.where(Check.department_id == actor.department_id)
    checks = list(
        session.scalars(
            stmt.order_by(Check.id.desc()).limit(per_page + 1).offset((page - 1) * per_page)
        )
    )
    has_next = len(checks) > per_page
    checks = checks[:per_page]
    answered = set(
        session.scalars(
            select(CheckFeedback.check_id).where(CheckFeedback.check_id.in_([c.id for c in checks]))
        )
    )
    return CheckPage(checks, answered, page, has_next)


def check_for(session: Session, actor: Actor, check_id: int) -> Check:
    """A check the actor may see (their department's, any for the office); else NotFound."""
    check = session.get(Check, check_id)
    if check is None or (not actor.is_admin and check.department_id != actor.department_id):
        raise NotFound("核查记录不存在", code="check_not_found")
    return check


def feedback_of(session: Session, check: Check) -> list[CheckFeedback]:
    """The feedback (反馈) given on a check, in the order given."""
    return list(
        session.scalars(
            select(CheckFeedback)
            .where(CheckFeedback.check_id == check.id)
            .order_by(CheckFeedback.id)
        )
    )


# On PostgreSQL a check is two statements in the request's transaction: the subject and
# all its facts as JSON in one indexed statement (facts.facts_by_index), then the check row
# (below) and its query-log row (queries.recorder.SetRecorder). They go over the session's
# own psycopg connection, which prepares them after a few executions; the ORM path
# (SQLite) returns exactly the same facts.


def _driver(session: Session) -> Any:
    return session.connection().connection.driver_connection


_RECORD_CHECK_SQL = (
    f"INSERT INTO checks ({', '.join(CHECK_COLUMNS)}) "
    f"VALUES ({', '.join(f'%({name})s' for name in CHECK_COLUMNS)}) RETURNING id"
)
