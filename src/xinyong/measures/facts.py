"""The facts the measures engine decides on (``engine.SubjectFacts``), each part built once.

A subject's facts are its records in use, its list entries in force, the span of its
records (its last negative decision, its first decision), its score and the same of the
organisations it represents. Each part is one SQLAlchemy Core expression below, over any
alias of its table; every way the facts are read is built from them:

- ``load_facts_bulk``: many subjects in a handful of set-based queries (any database);
- ``facts_select``: one subject (or, on PostgreSQL, many) in one statement, its parts as
  JSON, compiled for the session's dialect. PostgreSQL runs it over the driver
  (``facts_statement``: the compiled text and parameters, also run by the check API's
  fast path on its async connections, where the server prepares it);
- ``batch_facts_statements``: the set-based batch comparison's temporary tables
  (PostgreSQL), the same parts compiled into them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ClauseElement,
    Column,
    ColumnElement,
    FromClause,
    Integer,
    MetaData,
    ScalarSelect,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.util import ClauseAdapter

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import InformationItem
from xinyong.lists.models import EntryStatus, ListEntry
from xinyong.measures.engine import ListFact, RecordFact, SubjectFacts
from xinyong.records.display_sql import used_clause
from xinyong.records.models import Record, RecordState
from xinyong.scoring.models import SubjectScore
from xinyong.subjects.models import Subject, SubjectLink

RECORDS = Record.__table__
LISTS = ListEntry.__table__
SUBJECTS = Subject.__table__
LINKS = SubjectLink.__table__
SCORES = SubjectScore.__table__


def record_domain_of(stored: str | None, item: InformationItem | None) -> str:
    """A record's domain: the one its content named when it was graded (双公示), else its
    item's (records.grading.record_domain)."""
    return stored or (item.domain if item else "")


# ------------------------------------------------------------------------------- the parts


def used(r: FromClause, on: dt.date) -> ColumnElement[bool]:
    """``records.display.used_clause`` over the records alias ``r``."""
    return ClauseAdapter(r).traverse(used_clause(on))


def record_fact_columns(r: FromClause) -> list[ColumnElement[Any]]:
    """A ``RecordFact``'s columns (less its item's name), in ``_record_fact``'s order."""
    c = r.c
    return [c.id, c.item_code, c.nature, c.grade, c.decision_date, c.document_number, c.domain]


def list_fact_columns(e: FromClause) -> list[ColumnElement[Any]]:
    """A ``ListFact``'s columns, in its order."""
    return [e.c.id, e.c.list_kind, e.c.reasons, e.c.start_date]


def last_negative(r: FromClause) -> ColumnElement[Any]:
    """The last negative decision among records ``r`` still standing (active or expired):
    an aggregate."""
    standing = [literal(RecordState.ACTIVE.value), literal(RecordState.EXPIRED.value)]
    return func.max(r.c.decision_date).filter(
        and_(r.c.nature == literal("negative"), r.c.state.in_(standing))
    )


def known_since(r: FromClause) -> ColumnElement[Any]:
    """The first decision among records ``r``: an aggregate."""
    return func.min(r.c.decision_date)


def in_force(e: FromClause, on: dt.date) -> ColumnElement[bool]:
    """List entries ``e`` in force on ``on``. An entry resting on a record that is disputed,
    repaired, revoked or expired punishes no one while that lasts (the record is not used).
    The record is looked up by its key (a subplan): for a whole batch that is a few hundred
    thousand index probes, where a join hashed the entire `records` table."""
    rested = RECORDS.alias("lr")
    rests_on_used = (
        select(used(rested, on)).where(rested.c.id == e.c.record_id).correlate(e).scalar_subquery()
    )
    return and_(
        e.c.status == EntryStatus.LISTED.value,
        or_(e.c.end_date.is_(None), e.c.end_date >= on),
        or_(e.c.record_id.is_(None), rests_on_used),
    )


# -------------------------------------------------------------------- many subjects (ORM)


def _record_fact(catalog: Catalog, row: Any) -> RecordFact:
    rid, item, nature, grade, decided, document, domain = row
    known = catalog.items.get(item)
    if isinstance(decided, str):
        decided = dt.date.fromisoformat(decided)
    return RecordFact(
        rid,
        item,
        known.name if known else item,
        record_domain_of(domain, known),
        nature,
        grade,
        decided,
        document,
    )


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
    r, e = RECORDS, LISTS
    records: dict[int, list[RecordFact]] = defaultdict(list)
    lists: dict[int, list[ListFact]] = defaultdict(list)
    for sid, *fact in session.execute(
        select(r.c.subject_id, *record_fact_columns(r))
        .where(r.c.subject_id.in_(ids), used(r, on))
        .order_by(r.c.id)
    ):
        records[sid].append(_record_fact(catalog, fact))
    for sid, eid, kind, reasons, start in session.execute(
        select(e.c.subject_id, *list_fact_columns(e))
        .where(e.c.subject_id.in_(ids), in_force(e, on))
        .order_by(e.c.id)
    ):
        lists[sid].append(ListFact(eid, kind, reasons, start))
    spans = {
        sid: (last, first)
        for sid, last, first in session.execute(
            select(r.c.subject_id, last_negative(r), known_since(r))
            .where(r.c.subject_id.in_(ids))
            .group_by(r.c.subject_id)
        )
    }
    scores = dict(
        session.execute(
            select(SCORES.c.subject_id, SCORES.c.score).where(SCORES.c.subject_id.in_(ids))
        ).all()
    )
    names = dict(
        session.execute(select(SUBJECTS.c.id, SUBJECTS.c.name).where(SUBJECTS.c.id.in_(ids))).all()
    )
    org_facts: dict[int, list[SubjectFacts]] = defaultdict(list)
    if with_orgs:
        links = session.execute(
            select(LINKS.c.person_id, LINKS.c.organisation_id)
            .where(LINKS.c.person_id.in_(ids))
            .order_by(LINKS.c.id)
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


# ------------------------------------------------------------ one statement, parts as JSON


def _json_array(postgres: bool, *values: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.json_build_array(*values) if postgres else func.json_array(*values)


def _embedded(postgres: bool, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON value inside another: SQLite passes JSON between queries as text."""
    return value if postgres else func.json(value)


def _json_agg(
    postgres: bool,
    values: list[ColumnElement[Any]],
    order: ColumnElement[Any],
    source: Select[Any],
) -> ScalarSelect[Any]:
    """The JSON array of ``values`` over the rows of ``source``, in ``order``. SQLite's
    aggregate takes no order (before 3.44): its rows come in the order of the index on the
    subject, which is the order of their ids; ``facts_from_row`` sorts them by id anyway."""
    if postgres:
        agg = func.json_agg(aggregate_order_by(_json_array(True, *values), order))
    else:
        agg = func.json_group_array(_json_array(False, *values))
    return source.with_only_columns(agg).scalar_subquery()


def _facts_of(postgres: bool, subject: ColumnElement[int], on: dt.date) -> list[Any]:
    """The JSON parts of one subject's facts: records, lists, span, score."""
    r, e, sc = RECORDS.alias("r"), LISTS.alias("e"), SCORES.alias("sc")
    records = _json_agg(
        postgres,
        record_fact_columns(r),
        r.c.id,
        select(r.c.id).where(r.c.subject_id == subject, used(r, on)),
    )
    lists = _json_agg(
        postgres,
        list_fact_columns(e),
        e.c.id,
        select(e.c.id).where(e.c.subject_id == subject, in_force(e, on)),
    )
    span = (
        select(_json_array(postgres, last_negative(r), known_since(r)))
        .where(r.c.subject_id == subject)
        .scalar_subquery()
    )
    score = select(sc.c.score).where(sc.c.subject_id == subject).scalar_subquery()
    return [
        _embedded(postgres, records),
        _embedded(postgres, lists),
        _embedded(postgres, span),
        score,
    ]


def facts_select(
    on: dt.date, dialect: Dialect, *, many: bool = False, placeholder: bool = False
) -> Select[Any]:
    """The subject with the blind index ``:index`` (``many``: those with the indexes in the
    array ``:indexes``, PostgreSQL only, each row led by its index) and its facts as JSON,
    one row: id, name, records, lists, span, score, organisations (``facts_from_row``).
    ``placeholder``: the index is psycopg's ``%(index)s`` itself (``facts_statement``)."""
    postgres = dialect.name == "postgresql"
    s, link, o = SUBJECTS.alias("s"), LINKS.alias("l"), SUBJECTS.alias("o")
    orgs = _json_agg(
        postgres,
        [o.c.id, o.c.name, *_facts_of(postgres, o.c.id, on)],
        link.c.id,
        select(link.c.id)
        .select_from(link.join(o, o.c.id == link.c.organisation_id))
        .where(link.c.person_id == s.c.id),
    )
    lead = [s.c.id_index] if many else []
    statement = select(*lead, s.c.id, s.c.name, *_facts_of(postgres, s.c.id, on), orgs)
    if many:
        if not postgres:
            raise ValueError("many subjects in one statement: PostgreSQL only")
        # One array parameter, not one placeholder per value.
        indexes: ColumnElement[Any] = (
            literal_column("%(indexes)s") if placeholder else bindparam("indexes")
        )
        return statement.where(s.c.id_index == func.any(indexes))
    index: ColumnElement[Any] = literal_column("%(index)s") if placeholder else bindparam("index")
    return statement.where(s.c.id_index == index)


_PG = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
_SQLITE = sqlite.dialect()


def pg_text(clause: ClauseElement) -> str:
    """A part or statement as PostgreSQL text, its values inline (psycopg's ``%``
    escaping: the text is run with parameters)."""
    return str(clause.compile(dialect=_PG, compile_kwargs={"literal_binds": True}))


@functools.lru_cache(maxsize=8)
def facts_statement(on: dt.date, many: bool = False) -> str:
    """``facts_select`` as PostgreSQL text, compiled once a day with its values inline (as
    planned before: constants, not parameters) but ``%(index)s`` (``%(indexes)s``); the
    server prepares it after a few executions on each connection."""
    name = "indexes" if many else "index"
    compiled = pg_text(facts_select(on, _PG, many=many, placeholder=True))
    return compiled.replace(f"%%({name})s", f"%({name})s")


def _loaded(value: Any) -> Any:
    """A JSON part as read: PostgreSQL's driver decodes it, SQLite's gives text."""
    return json.loads(value) if isinstance(value, str) else value


def _by_id(rows: list[list[Any]] | None) -> list[list[Any]]:
    return sorted(rows or (), key=lambda row: int(row[0]))


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
    def date(value: str | None) -> dt.date | None:
        return None if value is None else dt.date.fromisoformat(value)

    span = _loaded(span)
    return SubjectFacts(
        subject_id,
        name,
        tuple(_record_fact(catalog, row) for row in _by_id(_loaded(records))),
        tuple(
            ListFact(eid, kind, reasons, date(start))
            for eid, kind, reasons, start in _by_id(_loaded(lists))
        ),
        score,
        date(span[0]),
        date(span[1]),
        organisations,
    )


def facts_from_row(
    catalog: Catalog,
    subject_id: int,
    name: str,
    records: list[list[Any]] | str | None,
    lists: list[list[Any]] | str | None,
    span: list[str | None] | str,
    score: int | None,
    orgs: list[list[Any]] | str | None,
) -> SubjectFacts:
    """A subject's facts from one row of ``facts_select`` (or of BATCH_RESULT_SQL)."""
    organisations = tuple(_facts_from_json(catalog, *org) for org in _loaded(orgs) or ())
    return _facts_from_json(
        catalog,
        subject_id,
        name,
        _loaded(records),
        _loaded(lists),
        _loaded(span),
        score,
        organisations,
    )


def _driver(session: Session) -> Any:
    return session.connection().connection.driver_connection


def facts_by_index(
    session: Session, index: str, catalog: Catalog, on: dt.date
) -> SubjectFacts | None:
    """The facts of the subject with this blind index, in one statement."""
    if session.get_bind().dialect.name == "postgresql":
        with _driver(session).cursor() as cur:
            row = cur.execute(facts_statement(on), {"index": index}).fetchone()
    else:
        row = session.execute(facts_select(on, _SQLITE), {"index": index}).first()
    return None if row is None else facts_from_row(catalog, *row)


def facts_by_indexes(
    session: Session, indexes: Collection[str], catalog: Catalog, on: dt.date
) -> dict[str, SubjectFacts]:
    """The facts of the subjects with these blind indexes, by index, in one statement
    (PostgreSQL; batch comparison). Unknown indexes are absent."""
    if not indexes:
        return {}
    with _driver(session).cursor() as cur:
        rows = cur.execute(facts_statement(on, many=True), {"indexes": list(indexes)}).fetchall()
    return {row[0]: facts_from_row(catalog, *row[1:]) for row in rows}


# ------------------------------------------------------------------ set-based batch (PostgreSQL)
#
# A large batch comparison reads the facts of up to every person in the city. Per subject
# (the statement above, or facts_by_indexes per chunk) that is ~10 scattered heap pages of
# `records` each, as costly per person as a single check. Instead the batch's blind indexes
# go into the temporary table `batch_rows` (see measures.batch) and the facts of all the
# subjects they match are computed in one pass over each table: sequential scans hashed
# against the batch's subjects, the same parts in the same JSON shapes as facts_select.

BATCH_TABLES = (
    "batch_rows",
    "batch_targets",
    "batch_records",
    "batch_lists",
    "batch_orgs",
)
# The batch's rows (seq: the order of the file, line: its line number, cells: the row as
# JSON), COPied in by measures.batch.
BATCH_ROWS = Table(
    "batch_rows",
    MetaData(),
    Column("seq", Integer, nullable=False),
    Column("line", Integer, nullable=False),
    Column("id_index", Text),
    Column("problem", Text),
    Column("cells", JSON, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
BATCH_ROWS_DDL = str(CreateTable(BATCH_ROWS).compile(dialect=_PG))
# The other temporary tables as the statements below read them.
_TARGETS = table(
    "batch_targets", column("id"), column("id_index"), column("name"), column("named", Boolean)
)
_BATCH_RECORDS = table(
    "batch_records",
    column("subject_id"),
    column("records"),
    column("last_negative"),
    column("known_since"),
)
_BATCH_LISTS = table("batch_lists", column("subject_id"), column("lists"))
_ORGS = table("batch_orgs", column("person_id"), column("orgs"))


def _batch_targets() -> str:
    """The batch's subjects (``named``: a row names them) and the organisations they
    represent, each once."""
    s, o, link = SUBJECTS.alias("s"), SUBJECTS.alias("o"), LINKS.alias("l")
    named = (
        select(s.c.id, s.c.id_index, s.c.name)
        .where(s.c.id_index.in_(select(BATCH_ROWS.c.id_index)))
        .cte("named")
    )
    p = named.alias("p")
    both = union_all(
        select(named.c.id, named.c.id_index, named.c.name, true().label("named")),
        select(o.c.id, o.c.id_index, o.c.name, false()).select_from(
            link.join(p, p.c.id == link.c.person_id).join(o, o.c.id == link.c.organisation_id)
        ),
    ).subquery("t")
    return pg_text(
        select(
            both.c.id, both.c.id_index, both.c.name, func.bool_or(both.c.named).label("named")
        ).group_by(both.c.id, both.c.id_index, both.c.name)
    )


def _with_facts(
    source: FromClause, subject_id: ColumnElement[Any]
) -> tuple[FromClause, list[ColumnElement[Any]]]:
    """``source`` joined to the facts the batch's tables hold of ``subject_id`` (none when
    unknown), and those facts in facts_select's order: records, lists, span, score."""
    br, bl, sc = _BATCH_RECORDS.alias("br"), _BATCH_LISTS.alias("bl"), SCORES.alias("sc")
    joined = (
        source.outerjoin(br, br.c.subject_id == subject_id)
        .outerjoin(bl, bl.c.subject_id == subject_id)
        .outerjoin(sc, sc.c.subject_id == subject_id)
    )
    span = func.json_build_array(br.c.last_negative, br.c.known_since)
    return joined, [br.c.records, bl.c.lists, span, sc.c.score]


def _batch_orgs() -> str:
    """Each person's organisations with their facts, from the batch's tables: a JSON array
    per organisation (id, name, records, lists, span, score), in the links' order."""
    link, p, o = LINKS.alias("l"), _TARGETS.alias("p"), _TARGETS.alias("o")
    joined, facts = _with_facts(
        link.join(p, and_(p.c.id == link.c.person_id, p.c.named)).join(
            o, o.c.id == link.c.organisation_id
        ),
        o.c.id,
    )
    org = func.json_build_array(o.c.id, o.c.name, *facts)
    return pg_text(
        select(link.c.person_id, func.json_agg(aggregate_order_by(org, link.c.id)).label("orgs"))
        .select_from(joined)
        .group_by(link.c.person_id)
    )


def _batch_result() -> str:
    """The batch's rows in their order, each with its subject's facts (none when unknown)."""
    b, t, g = BATCH_ROWS.alias("b"), _TARGETS.alias("t"), _ORGS.alias("g")
    joined, facts = _with_facts(
        b.outerjoin(t, and_(t.c.id_index == b.c.id_index, t.c.named)), t.c.id
    )
    return pg_text(
        select(b.c.line, b.c.problem, b.c.cells, t.c.id, t.c.name, *facts, g.c.orgs)
        .select_from(joined.outerjoin(g, g.c.person_id == t.c.id))
        .order_by(b.c.seq)
    )


def _batch_records(on: dt.date) -> str:
    r, t = RECORDS.alias("r"), _TARGETS.alias("t")
    facts = func.json_agg(aggregate_order_by(_json_array(True, *record_fact_columns(r)), r.c.id))
    return pg_text(
        select(
            r.c.subject_id,
            facts.filter(used(r, on)).label("records"),
            last_negative(r).label("last_negative"),
            known_since(r).label("known_since"),
        )
        .select_from(r.join(t, t.c.id == r.c.subject_id))
        .group_by(r.c.subject_id)
    )


def _batch_lists(on: dt.date) -> str:
    e, t = LISTS.alias("e"), _TARGETS.alias("t")
    facts = func.json_agg(aggregate_order_by(_json_array(True, *list_fact_columns(e)), e.c.id))
    return pg_text(
        select(e.c.subject_id, facts.label("lists"))
        .select_from(e.join(t, t.c.id == e.c.subject_id))
        .where(in_force(e, on))
        .group_by(e.c.subject_id)
    )


def batch_facts_statements(on: dt.date) -> list[tuple[str, bool]]:
    """The statements that compute, from `batch_rows`, the facts of the batch's subjects
    and of the organisations they represent (`batch_targets`: records in use and span in
    `batch_records`, list entries in force in `batch_lists`) and each person's
    organisations' facts (`batch_orgs`); with each, whether it must be planned with hash
    joins only. BATCH_RESULT_SQL then reads them with the scores, row by row."""
    return [
        (f"CREATE TEMP TABLE batch_targets ON COMMIT DROP AS {_batch_targets()}", False),
        ("ANALYZE batch_targets", False),
        # One sequential scan of `records`, hashed against the targets: the planner, left
        # alone, walks ix_records_subject_id in a merge join instead and reads the heap in
        # random order (171 s against ~60 s for a million persons, docs/benchmarks.md).
        (f"CREATE TEMP TABLE batch_records ON COMMIT DROP AS {_batch_records(on)}", True),
        (f"CREATE TEMP TABLE batch_lists ON COMMIT DROP AS {_batch_lists(on)}", False),
        ("ANALYZE batch_records, batch_lists", False),
        (f"CREATE TEMP TABLE batch_orgs ON COMMIT DROP AS {_batch_orgs()}", False),
    ]


BATCH_RESULT_SQL = _batch_result()
