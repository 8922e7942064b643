"""Checks (联合奖惩核查): facts from the archive, the engine's decisions, the record of it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.services import current_catalog
from xinyong.errors import Forbidden, InvalidInput, NotFound
from xinyong.identity.protection import IdentityProtector
from xinyong.lists.models import EntryStatus, ListEntry
from xinyong.measures.engine import (
    EFFECT_NAMES,
    VERDICT_NAMES,
    CheckOutcome,
    ListFact,
    RecordFact,
    SubjectFacts,
    decide,
)
from xinyong.measures.models import Check, CheckFeedback
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query
from xinyong.records.display import used_clause
from xinyong.records.models import Record, RecordState
from xinyong.scoring.models import SubjectScore
from xinyong.subjects.models import Subject, SubjectLink
from xinyong.subjects.services import find_subject


def load_facts_bulk(
    session: Session,
    subject_ids: Collection[int],
    catalog: Catalog,
    on: dt.date,
    *,
    with_orgs: bool = True,
) -> dict[int, SubjectFacts]:
    """Facts of many subjects in a handful of set-based queries (checks and batch runs)."""
    ids = sorted(set(subject_ids))
    if not ids:
        return {}
    records: dict[int, list[RecordFact]] = defaultdict(list)
    lists: dict[int, list[ListFact]] = defaultdict(list)
    items = catalog.items
    for sid, rid, item, nature, grade, decided, document in session.execute(
        select(
            Record.subject_id,
            Record.id,
            Record.item_code,
            Record.nature,
            Record.grade,
            Record.decision_date,
            Record.document_number,
        ).where(Record.subject_id.in_(ids), used_clause(on))
    ):
        known = items.get(item)
        records[sid].append(
            RecordFact(
                rid,
                item,
                known.name if known else item,
                known.domain if known else "",
                nature,
                grade,
                decided,
                document,
            )
        )
    for sid, eid, kind, reasons, start in session.execute(
        select(
            ListEntry.subject_id,
            ListEntry.id,
            ListEntry.list_kind,
            ListEntry.reasons,
            ListEntry.start_date,
        )
        .outerjoin(Record, Record.id == ListEntry.record_id)
        .where(
            ListEntry.subject_id.in_(ids),
            ListEntry.status == EntryStatus.LISTED.value,
            or_(ListEntry.end_date.is_(None), ListEntry.end_date >= on),
            # An entry resting on a record that is disputed, repaired, revoked or expired
            # punishes no one while that lasts (the record is not used).
            or_(ListEntry.record_id.is_(None), used_clause(on)),
        )
    ):
        lists[sid].append(ListFact(eid, kind, reasons, start))
    spans = {
        sid: (last, first)
        for sid, last, first in session.execute(
            select(
                Record.subject_id,
                func.max(Record.decision_date).filter(
                    Record.nature == "negative",
                    Record.state.in_([RecordState.ACTIVE.value, RecordState.EXPIRED.value]),
                ),
                func.min(Record.decision_date),
            )
            .where(Record.subject_id.in_(ids))
            .group_by(Record.subject_id)
        )
    }
    scores = dict(
        session.execute(
            select(SubjectScore.subject_id, SubjectScore.score).where(
                SubjectScore.subject_id.in_(ids)
            )
        ).all()
    )
    names = dict(session.execute(select(Subject.id, Subject.name).where(Subject.id.in_(ids))).all())
    org_facts: dict[int, list[SubjectFacts]] = defaultdict(list)
    if with_orgs:
        links = session.execute(
            select(SubjectLink.person_id, SubjectLink.organisation_id).where(
                SubjectLink.person_id.in_(ids)
            )
        ).all()
        if links:
            orgs = load_facts_bulk(session, {org for _, org in links}, catalog, on, with_orgs=False)
            for person, org in links:
                org_facts[person].append(orgs[org])
    return {
        sid: SubjectFacts(
            sid,
            names.get(sid, ""),
            tuple(records[sid]),
            tuple(lists[sid]),
            scores.get(sid),
            spans.get(sid, (None, None))[0],
            spans.get(sid, (None, None))[1],
            tuple(org_facts[sid]),
        )
        for sid in ids
    }


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
    scenario_entry = catalog.scenarios.get(scenario)
    if scenario_entry is None:
        raise InvalidInput(f"应用场景 {scenario} 不存在", code="unknown_scenario")
    if not operator.strip() or not business_ref.strip():
        raise InvalidInput("须填写经办人和业务编号", code="missing_operator")
    subject = find_subject(session, protector, id_number, id_type)
    decisions: list[dict[str, Any]] = []
    verdict = "clear"
    if subject is not None:
        facts = load_facts_bulk(session, [subject.id], catalog, on)[subject.id]
        outcome = decide(facts, scenario, catalog.measures.values(), catalog.grades, on)
        decisions = outcome_as_dict(outcome)
        verdict = outcome.verdict
    check = Check(
        department_id=actor.department_id,
        actor=actor.name,
        operator=operator.strip()[:200],
        scenario=scenario,
        business_ref=business_ref.strip()[:200],
        subject_id=subject.id if subject else None,
        verdict=verdict,
        decisions=decisions,
        batch_ref=batch_ref,
    )
    session.add(check)
    session.flush()
    if subject is not None:
        log_query(
            session,
            actor,
            subject.id,
            action="check:batch" if batch_ref else "check:run",
            purpose=f"{scenario_entry.name}（业务编号 {check.business_ref}，经办人 {check.operator}）",
            basis=QueryBasis.LEGAL_DUTY,
            returned={
                "check_id": check.id,
                "verdict": verdict,
                "measures": [d["measure"] for d in decisions],
            },
        )
    else:
        record_event(session, actor, "query:check:not_found", target_type="check", target_id=check.id, purpose=scenario_entry.name, basis=QueryBasis.LEGAL_DUTY.value, details={"batch_ref": batch_ref})  # fmt: skip
    return CheckResult(check.id, verdict, decisions, subject is not None)


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
    feedback = CheckFeedback(
        check_id=check.id,
        department_id=check.department_id,
        measure_code=measure,
        applied=applied,
        outcome=outcome.strip()[:200],
        note=(note or "").strip()[:2000] or None,
        actor=actor.name,
    )
    session.add(feedback)
    session.flush()
    record_event(session, actor, "measures:feedback:added", target_type="check", target_id=check.id, details={"feedback_id": feedback.id, "measure": measure, "applied": applied})  # fmt: skip
    return feedback


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
        ).group_by(CheckFeedback.department_id, CheckFeedback.measure_code, month)
    ).all()
    return [
        {"department_id": d, "measure": m, "month": mo, "feedback": n, "applied": int(a or 0)}
        for d, m, mo, n, a in rows
    ]


def checks_of_department(session: Session, department_id: int) -> Iterable[Check]:
    return session.scalars(
        select(Check).where(Check.department_id == department_id).order_by(Check.id.desc())
    )
