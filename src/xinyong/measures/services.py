"""Checks (联合奖惩核查): facts from the archive, the engine's decisions, the record of it."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import PendingEvent, pending_event, queue_event, record_event
from xinyong.audit.tags import EventTag
from xinyong.bulk import table_columns
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import InformationItem
from xinyong.catalog.services import current_catalog
from xinyong.db import is_postgres, utcnow
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
from xinyong.queries.recorder import OrmRecorder, Read, SetRecorder
from xinyong.records.display import used_clause
from xinyong.records.models import Record, RecordState
from xinyong.scoring.models import SubjectScore
from xinyong.subjects.models import Subject, SubjectLink
from xinyong.subjects.services import archive_index, blind_index_for, is_other_document


def record_domain_of(stored: str | None, item: InformationItem | None) -> str:
    """A record's domain: the one its content named when it was graded (双公示), else its
    item's (records.grading.record_domain)."""
    return stored or (item.domain if item else "")


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
    for sid, rid, item, nature, grade, decided, document, domain in session.execute(
        select(
            Record.subject_id,
            Record.id,
            Record.item_code,
            Record.nature,
            Record.grade,
            Record.decision_date,
            Record.document_number,
            Record.domain,
        )
        .where(Record.subject_id.in_(ids), used_clause(on))
        .order_by(Record.id)
    ):
        known = items.get(item)
        records[sid].append(
            RecordFact(
                rid,
                item,
                known.name if known else item,
                record_domain_of(domain, known),
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
        .order_by(ListEntry.id)
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
            select(SubjectLink.person_id, SubjectLink.organisation_id)
            .where(SubjectLink.person_id.in_(ids))
            .order_by(SubjectLink.id)
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
    """The check's row by column name (``CHECK_COLUMNS``), for the PostgreSQL statements."""
    return {
        "department_id": actor.department_id,
        "actor": actor.name,
        "operator": plan.operator,
        "scenario": plan.scenario,
        "business_ref": plan.business_ref,
        "subject_id": subject_id,
        "verdict": verdict,
        "decisions": Jsonb(decisions),
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
                _RECORD_CHECK_SQL, check_row(actor, plan, subject_id, verdict, decisions, now)
            ).fetchone()
        assert row is not None
        check_id = int(row[0])
    else:
        check = Check(
            department_id=actor.department_id,
            actor=actor.name,
            operator=plan.operator,
            scenario=plan.scenario,
            business_ref=plan.business_ref,
            subject_id=subject_id,
            verdict=verdict,
            decisions=decisions,
            batch_ref=batch_ref,
        )
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


# ---------------------------------------------------------------------------- PostgreSQL hot path
#
# A check on PostgreSQL is two statements in the request's transaction: the subject and all
# its facts (records in use, list memberships, span, score, linked organisations' facts)
# as JSON in one indexed statement, then the check row and its query-log row in one
# INSERT … WITH. They go over the session's own psycopg connection, which prepares them
# after a few executions; the ORM path (SQLite) returns exactly the same facts.


def _used_sql(on: dt.date) -> str:
    """``records.display.used_clause`` as PostgreSQL text over the alias ``r``."""
    return str(
        used_clause(on).compile(
            dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True},
        )
    ).replace("records.", "r.")


# The JSON shapes of one subject's facts, shared by the one-subject statement and the
# batch's set-based statements, and read back by _facts_from_json.
_RECORD_JSON = (
    "json_build_array(r.id, r.item_code, r.nature, r.grade, r.decision_date, r.document_number, "
    "r.domain)"
)
_LIST_JSON = "json_build_array(e.id, e.list_kind, e.reasons, e.start_date)"
_LAST_NEGATIVE = (
    "max(r.decision_date) FILTER (WHERE r.nature = 'negative' "
    f"AND r.state IN ('{RecordState.ACTIVE.value}', '{RecordState.EXPIRED.value}'))"
)


def _lists_in_force_sql(on: dt.date) -> str:
    """Conditions on list entries ``e`` in force on ``on``. The record an entry rests on is
    looked up by its key (a subplan): for a whole batch that is a few hundred thousand
    index probes, where a join hashed the entire `records` table."""
    return (
        f"e.status = '{EntryStatus.LISTED.value}' "
        f"AND (e.end_date IS NULL OR e.end_date >= DATE '{on.isoformat()}') "
        f"AND (e.record_id IS NULL OR (SELECT {_used_sql(on)} FROM records r "
        "WHERE r.id = e.record_id))"
    )


@functools.lru_cache(maxsize=8)
def _facts_sql(on: dt.date, many: bool = False) -> str:
    used = _used_sql(on)

    def facts(subject: str) -> str:
        return (
            f"(SELECT json_agg({_RECORD_JSON} ORDER BY r.id) FROM records r "
            f"WHERE r.subject_id = {subject} AND {used}), "
            f"(SELECT json_agg({_LIST_JSON} ORDER BY e.id) FROM list_entries e "
            f"WHERE e.subject_id = {subject} AND {_lists_in_force_sql(on)}), "
            f"(SELECT json_build_array({_LAST_NEGATIVE}, min(r.decision_date)) FROM records r "
            f"WHERE r.subject_id = {subject}), "
            f"(SELECT sc.score FROM subject_scores sc WHERE sc.subject_id = {subject})"
        )

    return (
        f"SELECT {'s.id_index, ' if many else ''}s.id, s.name, {facts('s.id')}, "
        f"(SELECT json_agg(json_build_array(o.id, o.name, {facts('o.id')}) ORDER BY l.id) "
        "FROM subject_links l JOIN subjects o ON o.id = l.organisation_id "
        "WHERE l.person_id = s.id) "
        # Many subjects: one array parameter, not one placeholder per value.
        + (
            "FROM subjects s WHERE s.id_index = ANY(%(indexes)s)"
            if many
            else "FROM subjects s WHERE s.id_index = %(index)s"
        )
    )


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _facts_from_json(
    catalog: Catalog,
    subject_id: int,
    name: str,
    records: list[list[Any]] | None,
    lists: list[list[Any]] | None,
    span: list[str | None],
    score: int | None,
    organisations: tuple[SubjectFacts, ...] = (),
) -> SubjectFacts:
    items = catalog.items
    record_facts = []
    for rid, item, nature, grade, decided, document, *domain in records or ():
        known = items.get(item)
        record_facts.append(
            RecordFact(
                rid,
                item,
                known.name if known else item,
                record_domain_of(domain[0] if domain else None, known),
                nature,
                grade,
                dt.date.fromisoformat(decided),
                document,
            )
        )
    return SubjectFacts(
        subject_id,
        name,
        tuple(record_facts),
        tuple(
            ListFact(eid, kind, reasons, _date(start)) for eid, kind, reasons, start in lists or ()
        ),
        score,
        _date(span[0]),
        _date(span[1]),
        organisations,
    )


def _driver(session: Session) -> Any:
    return session.connection().connection.driver_connection


def facts_by_index(
    session: Session, index: str, catalog: Catalog, on: dt.date
) -> SubjectFacts | None:
    """The facts of the subject with this blind index, in one statement (PostgreSQL)."""
    with _driver(session).cursor() as cur:
        row = cur.execute(_facts_sql(on), {"index": index}).fetchone()
    return None if row is None else facts_from_row(catalog, *row)


def facts_by_indexes(
    session: Session, indexes: Collection[str], catalog: Catalog, on: dt.date
) -> dict[str, SubjectFacts]:
    """The facts of the subjects with these blind indexes, by index, in one statement
    (PostgreSQL; batch comparison). Unknown indexes are absent."""
    if not indexes:
        return {}
    with _driver(session).cursor() as cur:
        rows = cur.execute(_facts_sql(on, many=True), {"indexes": list(indexes)}).fetchall()
    return {row[0]: facts_from_row(catalog, *row[1:]) for row in rows}


# ------------------------------------------------------------------ set-based batch (PostgreSQL)
#
# A large batch comparison reads the facts of up to every person in the city. Per subject
# (the statement above, or facts_by_indexes per chunk) that is ~10 scattered heap pages of
# `records` each, as costly per person as a single check. Instead the batch's blind indexes
# go into the temporary table `batch_rows` (see measures.batch) and the facts of all the
# subjects they match are computed in one pass over each table: sequential scans hashed
# against the batch's subjects, the same facts in the same JSON shapes as _facts_sql.

BATCH_TABLES = (
    "batch_rows",
    "batch_targets",
    "batch_records",
    "batch_lists",
    "batch_orgs",
)
BATCH_ROWS_DDL = (
    "CREATE TEMP TABLE batch_rows (seq integer NOT NULL, line integer NOT NULL, "
    "id_index text, problem text, cells json NOT NULL) ON COMMIT DROP"
)


def batch_facts_statements(on: dt.date) -> list[tuple[str, bool]]:
    """The statements that compute, from `batch_rows`, the facts of the batch's subjects
    and of the organisations they represent (`batch_targets`: records in use and span in
    `batch_records`, list entries in force in `batch_lists`) and each person's
    organisations' facts (`batch_orgs`); with each, whether it must be planned with hash
    joins only. BATCH_RESULT_SQL then reads them with the scores, row by row."""
    used = _used_sql(on)
    return [
        (
            "CREATE TEMP TABLE batch_targets ON COMMIT DROP AS "
            "WITH named AS (SELECT s.id, s.id_index, s.name FROM subjects s "
            "WHERE s.id_index IN (SELECT b.id_index FROM batch_rows b)) "
            "SELECT id, id_index, name, bool_or(named) AS named FROM ("
            "SELECT id, id_index, name, true AS named FROM named UNION ALL "
            "SELECT o.id, o.id_index, o.name, false FROM subject_links l "
            "JOIN named p ON p.id = l.person_id JOIN subjects o ON o.id = l.organisation_id"
            ") t GROUP BY id, id_index, name",
            False,
        ),
        ("ANALYZE batch_targets", False),
        # One sequential scan of `records`, hashed against the targets: the planner, left
        # alone, walks ix_records_subject_id in a merge join instead and reads the heap in
        # random order (171 s against ~60 s for a million persons, docs/benchmarks.md).
        (
            "CREATE TEMP TABLE batch_records ON COMMIT DROP AS "
            f"SELECT r.subject_id, json_agg({_RECORD_JSON} ORDER BY r.id) "
            f"FILTER (WHERE {used}) AS records, {_LAST_NEGATIVE} AS last_negative, "
            "min(r.decision_date) AS known_since "
            "FROM records r JOIN batch_targets t ON t.id = r.subject_id GROUP BY r.subject_id",
            True,
        ),
        (
            "CREATE TEMP TABLE batch_lists ON COMMIT DROP AS "
            f"SELECT e.subject_id, json_agg({_LIST_JSON} ORDER BY e.id) AS lists "
            "FROM list_entries e JOIN batch_targets t ON t.id = e.subject_id "
            f"WHERE {_lists_in_force_sql(on)} GROUP BY e.subject_id",
            False,
        ),
        ("ANALYZE batch_records, batch_lists", False),
        (
            "CREATE TEMP TABLE batch_orgs ON COMMIT DROP AS "
            "SELECT l.person_id, json_agg(json_build_array(o.id, o.name, br.records, bl.lists, "
            "json_build_array(br.last_negative, br.known_since), sc.score) ORDER BY l.id) AS orgs "
            "FROM subject_links l JOIN batch_targets p ON p.id = l.person_id AND p.named "
            "JOIN batch_targets o ON o.id = l.organisation_id "
            "LEFT JOIN batch_records br ON br.subject_id = o.id "
            "LEFT JOIN batch_lists bl ON bl.subject_id = o.id "
            "LEFT JOIN subject_scores sc ON sc.subject_id = o.id GROUP BY l.person_id",
            False,
        ),
    ]


# The batch's rows in their order, each with its subject's facts (none when unknown).
BATCH_RESULT_SQL = (
    "SELECT b.line, b.problem, b.cells, t.id, t.name, br.records, bl.lists, "
    "json_build_array(br.last_negative, br.known_since), sc.score, g.orgs "
    "FROM batch_rows b LEFT JOIN batch_targets t ON t.id_index = b.id_index AND t.named "
    "LEFT JOIN batch_records br ON br.subject_id = t.id "
    "LEFT JOIN batch_lists bl ON bl.subject_id = t.id "
    "LEFT JOIN subject_scores sc ON sc.subject_id = t.id "
    "LEFT JOIN batch_orgs g ON g.person_id = t.id ORDER BY b.seq"
)


def facts_from_row(
    catalog: Catalog,
    subject_id: int,
    name: str,
    records: list[list[Any]] | None,
    lists: list[list[Any]] | None,
    span: list[str | None],
    score: int | None,
    orgs: list[list[Any]] | None,
) -> SubjectFacts:
    """A subject's facts from one row of BATCH_RESULT_SQL (or of _facts_sql)."""
    organisations = tuple(_facts_from_json(catalog, *org) for org in orgs or ())
    return _facts_from_json(catalog, subject_id, name, records, lists, span, score, organisations)


_RECORD_CHECK_SQL = (
    f"INSERT INTO checks ({', '.join(CHECK_COLUMNS)}) "
    f"VALUES ({', '.join(f'%({name})s' for name in CHECK_COLUMNS)}) RETURNING id"
)
