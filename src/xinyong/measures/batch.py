"""Batch comparison (批量比对): a department's list of people → the same rows with verdicts.

Streamed: the input is read row by row and the result streamed into the XLSX
(``measures.xlsx``), so memory stays flat whatever the file size. Small batches, and
every batch on SQLite, go in chunks of rows whose facts are loaded per chunk (on
PostgreSQL: lookup and facts of the chunk in one statement). From ``Settings.batch_set_based_rows``
rows on PostgreSQL the batch goes set-based: all rows into a temporary table by COPY, the facts
of all their subjects in a few hash-joined passes over the archive, the rows read back in
order through a server-side cursor. Every hit is a read of a person's data and is logged
as a query (by COPY on PostgreSQL) in the same transaction as the reads: a failed run
leaves no query log and no result file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import multiprocessing
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any, TypeVar

from psycopg.types.string import TextLoader
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, cli_operator
from xinyong.audit.services import record_event
from xinyong.audit.tags import EventTag
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import Measure
from xinyong.catalog.services import current_catalog
from xinyong.config import Keys, get_settings
from xinyong.db import is_postgres, session_factory, utcnow
from xinyong.errors import InvalidInput, UnreadableFile
from xinyong.identity.masking import mask_value
from xinyong.identity.protection import IdentityProtector, protector_for
from xinyong.measures.engine import EFFECT_NAMES, VERDICT_NAMES, SubjectFacts, decide
from xinyong.measures.facts import (
    BATCH_RESULT_SQL,
    BATCH_ROWS,
    BATCH_ROWS_DDL,
    BATCH_TABLES,
    batch_facts_statements,
    facts_by_indexes,
    facts_from_row,
    load_facts_bulk,
)
from xinyong.measures.models import Check
from xinyong.measures.xlsx import StreamingWorkbook
from xinyong.queries.models import QueryBasis
from xinyong.queries.recorder import CopyRecorder, Read
from xinyong.records.formats import normalize_header
from xinyong.records.parsers import RawRow, open_table
from xinyong.subjects.models import Subject
from xinyong.subjects.services import blind_index_for

CHUNK = 10_000
BATCH_WORK_MEM = "256MB"
FETCH_ROWS = 5_000
INDEX_CACHE = 100_000
NUMBER_HEADERS = (
    "证件号码",
    "身份证号",
    "身份证号码",
    "公民身份号码",
    "统一社会信用代码",
    "id_number",
)
TYPE_HEADERS = ("证件类型", "id_type")
RESULT_HEADERS = ("核查结论", "适用措施", "原因", "核查说明")


@dataclass
class BatchSummary:
    batch_ref: str
    scenario: str
    total: int = 0
    invalid: int = 0
    verdicts: Counter[str] | None = None
    found: int = 0  # rows of persons the archive knows (each one a query-log row)

    def as_dict(self) -> dict[str, Any]:
        verdicts = self.verdicts or Counter()
        return {
            "batch_ref": self.batch_ref,
            "scenario": self.scenario,
            "total": self.total,
            "invalid": self.invalid,
            "blocked": verdicts["blocked"],
            "restricted": verdicts["restricted"],
            "eased": verdicts["eased"],
            "clear": verdicts["clear"],
        }


def _find(headers: list[str], names: Iterable[str]) -> str | None:
    wanted = {normalize_header(n) for n in names}
    for header in headers:
        if normalize_header(header) in wanted:
            return header
    return None


def compare_rows(
    session: Session,
    actor: Actor,
    protector: IdentityProtector,
    headers: list[str],
    rows: Iterable[RawRow],
    *,
    scenario: str,
    operator: str,
    emit: Callable[[RawRow, list[str]], None],
    on: dt.date | None = None,
) -> BatchSummary:
    """Compare the rows in the caller's transaction: every hit is logged in it, so a run
    that fails leaves no query log behind (the caller rolls back)."""
    on = on or dt.date.today()
    catalog = current_catalog(session)
    scenario_entry = catalog.scenarios.get(scenario)
    if scenario_entry is None:
        raise InvalidInput(f"应用场景 {scenario} 不存在", code="unknown_scenario")
    number_header = _find(headers, NUMBER_HEADERS)
    if number_header is None:
        raise UnreadableFile("文件缺少“证件号码”列", code="missing_columns")
    type_header = _find(headers, TYPE_HEADERS)
    summary = BatchSummary(uuid.uuid4().hex[:16], scenario, verdicts=Counter())
    verdicts = summary.verdicts
    assert verdicts is not None
    batch_check = Check(
        department_id=actor.department_id,
        actor=actor.name,
        operator=operator[:200],
        scenario=scenario,
        business_ref=f"批量比对 {summary.batch_ref}",
        subject_id=None,
        verdict="clear",
        decisions=[],
        batch_ref=summary.batch_ref,
    )
    session.add(batch_check)
    session.flush()
    # decide() skips the measures of other scenarios; doing it once here changes nothing.
    measures = [m for m in catalog.measures.values() if not m.scenarios or scenario in m.scenarios]
    postgres = is_postgres(session)
    purpose = f"{scenario_entry.name}（批量比对 {summary.batch_ref}）"[:200]

    def fields(raw: RawRow) -> Fields:
        """The row's number, certificate type and reading problem."""
        number = raw.values.get(number_header, "").strip()
        id_type = (raw.values.get(type_header, "").strip() if type_header else None) or None
        return number, id_type, None if raw.problem is None else raw.problem.message

    classifier = _Classifier(protector)

    def classify(raw: RawRow) -> tuple[str | None, str | None]:
        return classifier(*fields(raw))

    def answered(raw: RawRow, problem: str | None, outcome: Outcome | None) -> Hit | None:
        """Emit the row's result; the read to log when it is a hit."""
        summary.total += 1
        if problem is not None:
            summary.invalid += 1
            emit(raw, ["无效", "", "", problem])
            return None
        if outcome is None:
            # Unknown to the archive: answered like a person with nothing against them.
            verdicts["clear"] += 1
            emit(raw, [VERDICT_NAMES["clear"], "", "", "无记录"])
            return None
        subject_id, verdict, cells, codes = outcome
        summary.found += 1
        verdicts[verdict] += 1
        emit(raw, cells)
        return subject_id, verdict, codes

    def answer(raw: RawRow, problem: str | None, subject: SubjectFacts | None) -> Hit | None:
        if subject is None:
            return answered(raw, problem, None)
        return answered(raw, problem, outcome_of(subject, scenario, measures, catalog, on))

    reads = _ReadLog(actor, purpose, batch_check.id)

    # The first rows are held until the batch is known to be large enough to go set-based.
    threshold = get_settings().batch_set_based_rows
    source = iter(rows)
    head = list(islice(source, threshold)) if postgres else []
    if postgres and len(head) >= threshold:
        _compare_set_based(
            session,
            headers,
            chain(head, source),
            fields,
            answered,
            reads,
            _Decider(catalog, scenario, measures, on, protector.keys),
        )
    else:
        _compare_chunked(
            session, catalog, chain(head, source), classify, answer, reads, on, postgres
        )
    batch_check.decisions = [summary.as_dict()]
    session.flush()
    # One audit event for the whole file, whichever path compared it (the query-log rows
    # name each person found): the bulk-export rule counts its rows.
    record_event(session, actor, EventTag.QUERY_CHECK_BATCH, target_type="check", target_id=batch_check.id, purpose=purpose, basis=QueryBasis.LEGAL_DUTY.value, organisation=actor.organisation_name, details={"batch_ref": summary.batch_ref, "scenario": scenario, "rows": summary.total - summary.invalid, "invalid": summary.invalid, "found": summary.found})  # fmt: skip
    return summary


Classify = Callable[[RawRow], tuple[str | None, str | None]]
Fields = tuple[str, str | None, str | None]  # number, certificate type, reading problem
Hit = tuple[int, str, tuple[str, ...]]  # subject, verdict, measure codes
Answer = Callable[[RawRow, str | None, SubjectFacts | None], Hit | None]
# subject, verdict, the result columns, measure codes
Outcome = tuple[int, str, list[str], tuple[str, ...]]
Answered = Callable[[RawRow, str | None, Outcome | None], Hit | None]


def outcome_of(
    subject: SubjectFacts, scenario: str, measures: list[Measure], catalog: Catalog, on: dt.date
) -> Outcome:
    """The engine's decision for one row, as the result file's columns. Pure."""
    outcome = decide(subject, scenario, measures, catalog.grades, on)
    decisions = outcome.decisions
    cells = [
        VERDICT_NAMES[outcome.verdict],
        "；".join(f"{d.measure.name}（{EFFECT_NAMES[d.measure.effect]}）" for d in decisions),
        "；".join(t.text for d in decisions for t in d.triggers)[:2000],
        "",
    ]
    return subject.subject_id, outcome.verdict, cells, tuple(d.measure.code for d in decisions)


# A set-based batch's fetched rows: the JSON columns as text, decoded where they are decided.
Fetched = tuple[int, str | None, str, int | None, str | None, str | None, str | None, str, int | None, str | None]  # fmt: skip


class _Classifier:
    """A row's blind index, or the Chinese problem that makes it unusable. Numbers seen
    recently are remembered (a list repeats people, often close together), boundedly so
    that memory stays flat whatever the file."""

    def __init__(self, protector: IdentityProtector) -> None:
        self.protector = protector
        self.seen: dict[tuple[str, str | None], str] = {}

    def __call__(
        self, number: str, id_type: str | None, problem: str | None
    ) -> tuple[str | None, str | None]:
        if problem is not None:
            return None, problem
        if not number:
            return None, "证件号码为空"
        key = (number, id_type)
        index = self.seen.get(key)
        if index is None:
            try:
                index = blind_index_for(self.protector, number, id_type)
            except InvalidInput as exc:
                return None, f"{exc.message}（{mask_value(number)}）"
            if len(self.seen) >= INDEX_CACHE:
                self.seen.clear()
            self.seen[key] = index
        return index, None


@dataclass(frozen=True)
class _Decider:
    """What classifying and deciding rows needs; sent once to each worker process."""

    catalog: Catalog
    scenario: str
    measures: list[Measure]
    on: dt.date
    keys: Keys

    @functools.cached_property
    def classifier(self) -> _Classifier:
        return _Classifier(IdentityProtector(self.keys))

    def classify(self, rows: list[Fields]) -> list[tuple[str | None, str | None]]:
        classifier = self.classifier
        return [classifier(*row) for row in rows]

    def rows(self, fetched: list[Fetched]) -> Decided:
        """Each fetched row's cells and outcome (None: not in the archive)."""
        loads = json.loads
        found: Decided = []
        for _line, _problem, cells, sid, name, records, lists, span, score, orgs in fetched:
            outcome = None
            if sid is not None:
                subject = facts_from_row(
                    self.catalog,
                    sid,
                    name or "",
                    loads(records) if records else None,
                    loads(lists) if lists else None,
                    loads(span),
                    score,
                    loads(orgs) if orgs else None,
                )
                outcome = outcome_of(subject, self.scenario, self.measures, self.catalog, self.on)
            found.append((loads(cells), outcome))
        return found


_decider: _Decider | None = None


def _start_worker(decider: _Decider) -> None:
    global _decider
    _decider = decider


def _classify_in_worker(rows: list[Fields]) -> list[tuple[str | None, str | None]]:
    assert _decider is not None
    return _decider.classify(rows)


def _decide_in_worker(fetched: list[Fetched]) -> Decided:
    assert _decider is not None
    return _decider.rows(fetched)


class _ReadLog:
    """The batch's reads into the query log, one row per hit, by ``CopyRecorder`` (COPY on
    PostgreSQL). They have no audit event of their own: the file's one event follows."""

    def __init__(self, actor: Actor, purpose: str, check_id: int) -> None:
        self.actor = actor
        self.purpose = purpose
        self.check_id = check_id
        self.recorder = CopyRecorder()

    def write(self, session: Session, hits: list[Hit]) -> None:
        now = utcnow()
        reads = [
            Read(
                self.actor,
                sid,
                action="check:batch",
                purpose=self.purpose,
                basis=QueryBasis.LEGAL_DUTY.value,
                returned={"check_id": self.check_id, "verdict": verdict, "measures": list(codes)},
                organisation=self.actor.department_code,
                at=now,
            )
            for sid, verdict, codes in hits
        ]
        self.recorder.record(session, reads)


def _compare_chunked(
    session: Session,
    catalog: Catalog,
    rows: Iterable[RawRow],
    classify: Classify,
    answer: Answer,
    reads: _ReadLog,
    on: dt.date,
    postgres: bool,
) -> None:
    """Small batches, and SQLite: the facts of each chunk of rows by index lookups."""
    chunk: list[tuple[RawRow, str | None, str | None]] = []

    def facts_of(indexes: set[str]) -> dict[str, SubjectFacts]:
        if postgres:
            return facts_by_indexes(session, indexes, catalog, on)
        by_index: dict[str, int] = {}
        for part in _parts(sorted(indexes), 2000):
            for found_index, found_id in session.execute(
                select(Subject.id_index, Subject.id).where(Subject.id_index.in_(part))
            ):
                by_index[found_index] = found_id
        facts = load_facts_bulk(session, set(by_index.values()), catalog, on)
        return {index: facts[sid] for index, sid in by_index.items()}

    def flush() -> None:
        facts = facts_of({index for _, index, _ in chunk if index})
        hits = [
            hit
            for raw, index, problem in chunk
            if (hit := answer(raw, problem, facts.get(index or ""))) is not None
        ]
        if hits:
            reads.write(session, hits)
        chunk.clear()

    for raw in rows:
        chunk.append((raw, *classify(raw)))
        if len(chunk) >= CHUNK:
            flush()
    flush()


K = TypeVar("K")
P = TypeVar("P")
R = TypeVar("R")


def _in_order(
    jobs: Iterable[tuple[K, P]],
    here: Callable[[P], R],
    in_worker: Callable[[P], R],
    pool: ProcessPoolExecutor | None,
    workers: int,
) -> Iterator[tuple[K, R]]:
    """Each job's key with what the work made of its payload, in the jobs' order: done by
    the worker processes when there are any (at most two jobs a worker ahead of the caller,
    so that memory stays flat), else here."""
    if pool is None:
        for key, payload in jobs:
            yield key, here(payload)
        return
    pending: deque[tuple[K, Future[R]]] = deque()
    for key, payload in jobs:
        pending.append((key, pool.submit(in_worker, payload)))
        if len(pending) > 2 * workers:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def _compare_set_based(
    session: Session,
    headers: list[str],
    rows: Iterable[RawRow],
    fields: Callable[[RawRow], Fields],
    answered: Answered,
    reads: _ReadLog,
    decider: _Decider,
) -> None:
    """Large batches on PostgreSQL: all the rows into a temporary table, the facts of all
    their subjects in a few set-based statements (facts.batch_facts_statements), the
    rows read back in order through a server-side cursor. Worker processes
    (``Settings.batch_workers``) compute the rows' blind indexes and decide them while this
    one reads the file, writes the result and logs the hits."""
    workers = get_settings().batch_workers
    pool = (
        ProcessPoolExecutor(
            workers,
            # Not fork: the caller may be a server worker with threads and connections.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(decider,),
        )
        if workers
        else None
    )
    try:
        if pool is not None:
            for _ in range(workers):  # started now, ready when the facts are
                pool.submit(int)
        _compute_facts(session, headers, rows, fields, decider, pool, workers)
        _read_in_order(session, headers, answered, reads, decider, pool, workers)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _compute_facts(
    session: Session,
    headers: list[str],
    rows: Iterable[RawRow],
    fields: Callable[[RawRow], Fields],
    decider: _Decider,
    pool: ProcessPoolExecutor | None,
    workers: int,
) -> None:
    driver: Any = session.connection().connection.driver_connection
    dumps = json.dumps
    source = iter(rows)
    with driver.cursor() as cur:
        # Hashes and sorts over a whole city's records; the transaction's own budget.
        cur.execute(f"SET LOCAL work_mem = '{BATCH_WORK_MEM}'")
        cur.execute(f"DROP TABLE IF EXISTS {', '.join(BATCH_TABLES)}")
        cur.execute(BATCH_ROWS_DDL)
        columns = ", ".join(BATCH_ROWS.c.keys())
        with cur.copy(f"COPY {BATCH_ROWS.name} ({columns}) FROM STDIN") as copy:
            blocks = iter(lambda: list(islice(source, FETCH_ROWS)), [])
            jobs = ((block, [fields(raw) for raw in block]) for block in blocks)
            seq = 0
            for block, found in _in_order(
                jobs, decider.classify, _classify_in_worker, pool, workers
            ):
                for raw, (index, problem) in zip(block, found, strict=True):
                    values = raw.values
                    cells = dumps([values.get(h, "") for h in headers])
                    copy.write_row((seq, raw.number, index, problem, cells))
                    seq += 1
        cur.execute("ANALYZE batch_rows")
        for statement, hash_joins_only in batch_facts_statements(decider.on):
            if hash_joins_only:
                cur.execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_nestloop = off")
            cur.execute(statement)
            if hash_joins_only:
                cur.execute(
                    "SET LOCAL enable_mergejoin TO DEFAULT; SET LOCAL enable_nestloop TO DEFAULT"
                )


Decided = list[tuple[list[str], Outcome | None]]


def _read_in_order(
    session: Session,
    headers: list[str],
    answered: Answered,
    reads: _ReadLog,
    decider: _Decider,
    pool: ProcessPoolExecutor | None,
    workers: int,
) -> None:
    driver: Any = session.connection().connection.driver_connection
    with driver.cursor(name=f"batch_{uuid.uuid4().hex[:12]}") as results:
        # Decoded by whoever decides the rows (a worker), not here.
        results.adapters.register_loader("json", TextLoader)
        results.execute(BATCH_RESULT_SQL)
        fetches = iter(lambda: results.fetchmany(FETCH_ROWS), [])
        jobs = ((fetched, fetched) for fetched in fetches)
        for fetched, decided in _in_order(jobs, decider.rows, _decide_in_worker, pool, workers):
            hits = []
            for row, (cells, outcome) in zip(fetched, decided, strict=True):
                raw = RawRow(row[0], dict(zip(headers, cells, strict=True)))
                hit = answered(raw, row[1], outcome)
                if hit is not None:
                    hits.append(hit)
            if hits:
                reads.write(session, hits)
    with driver.cursor() as cur:
        # Dropped at commit anyway; a caller's transaction may go on after the batch.
        cur.execute(f"DROP TABLE {', '.join(BATCH_TABLES)}")
        cur.execute("SET LOCAL work_mem TO DEFAULT")


def _parts(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def compare_file(
    path: Path,
    out: Path,
    *,
    scenario: str,
    operator: str,
    actor: Actor | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    """Compare a CSV/XLSX of people and write RESULT.xlsx: the rows plus verdict columns,
    and a summary sheet."""
    settings = get_settings()
    actor = actor or cli_operator(operator)
    own_session = session is None
    session = session or session_factory()()
    workbook = StreamingWorkbook(out)
    try:
        with open_table(
            path, max_cell_chars=settings.max_cell_chars, max_bytes=settings.max_upload_bytes
        ) as table:
            sheet = workbook.add_sheet("比对结果")
            headers = table.headers
            columns = [*headers, *RESULT_HEADERS]
            sheet.append(["行号", *columns], header=True)
            append = sheet.append

            def emit(raw: RawRow, extra: list[str]) -> None:
                values = raw.values
                append([raw.number, *[values.get(h, "") for h in headers], *extra])

            summary = compare_rows(
                session,
                actor,
                protector_for(settings),
                table.headers,
                table.rows(),
                scenario=scenario,
                operator=operator,
                emit=emit,
            )
        totals = workbook.add_sheet("汇总")
        data = summary.as_dict()
        labels = {
            "batch_ref": "批次",
            "scenario": "应用场景",
            "total": "总行数",
            "blocked": "拦截",
            "restricted": "限制",
            "eased": "激励",
            "clear": "无措施",
            "invalid": "无效行",
        }
        for key, label in labels.items():
            totals.append([label, data[key]])
        workbook.close()
        if own_session:
            session.commit()
        return data
    except BaseException:
        # A failed run leaves nothing: no query log (one transaction), no partial file.
        session.rollback()
        with contextlib.suppress(Exception):
            workbook.close()
        out.unlink(missing_ok=True)
        raise
    finally:
        if own_session:
            session.close()
