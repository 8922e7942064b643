"""Batch comparison (批量比对): a department's list of people → the same rows with verdicts.

Streamed in chunks: the input is read row by row, facts are loaded set-based per chunk
(on PostgreSQL: lookup and facts of the whole chunk in one statement, the query-log rows
by COPY), and the result is streamed into the XLSX (``measures.xlsx``), so memory stays
flat whatever the file size. Every hit is a read of a person's data and is logged as a
query in the chunk's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, cli_operator
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import is_postgres, session_factory, utcnow
from xinyong.errors import InvalidInput, UnreadableFile
from xinyong.identity.masking import mask_value
from xinyong.identity.protection import IdentityProtector
from xinyong.measures.engine import EFFECT_NAMES, VERDICT_NAMES, SubjectFacts, decide
from xinyong.measures.models import Check
from xinyong.measures.services import facts_by_indexes, load_facts_bulk
from xinyong.measures.xlsx import StreamingWorkbook
from xinyong.queries.models import QueryBasis, QueryLog
from xinyong.records.formats import normalize_header
from xinyong.records.ingest import protector_for
from xinyong.records.parsers import RawRow, open_table
from xinyong.subjects.models import Subject
from xinyong.subjects.services import blind_index_for

CHUNK = 10_000
QUERY_LOG_COLUMNS = (
    "subject_id",
    "actor",
    "organisation",
    "channel",
    "action",
    "purpose",
    "basis",
    "authorization_id",
    "returned",
    "queried_at",
)
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
    on_chunk: Callable[[], None] | None = None,
) -> BatchSummary:
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
    assert summary.verdicts is not None
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
        logs: list[tuple[Any, ...]] = []
        now = utcnow()
        for raw, index, problem in chunk:
            if problem is not None:
                summary.invalid += 1
                emit(raw, ["无效", "", "", problem])
                continue
            subject = facts.get(index or "")
            if subject is None:
                summary.verdicts["clear"] += 1  # type: ignore[index]
                emit(raw, [VERDICT_NAMES["clear"], "", "", "无记录"])
                continue
            outcome = decide(subject, scenario, measures, catalog.grades, on)
            summary.verdicts[outcome.verdict] += 1  # type: ignore[index]
            decisions = outcome.decisions
            emit(
                raw,
                [
                    VERDICT_NAMES[outcome.verdict],
                    "；".join(
                        f"{d.measure.name}（{EFFECT_NAMES[d.measure.effect]}）" for d in decisions
                    ),
                    "；".join(t.text for d in decisions for t in d.triggers)[:2000],
                    "",
                ],
            )
            logs.append(
                (
                    subject.subject_id,
                    actor.name,
                    actor.department_code,
                    actor.channel,
                    "check:batch",
                    purpose,
                    QueryBasis.LEGAL_DUTY.value,
                    None,
                    {
                        "check_id": batch_check.id,
                        "verdict": outcome.verdict,
                        "measures": [d.measure.code for d in decisions],
                    },
                    now,
                )
            )
        if logs:
            _log_reads(session, logs, postgres)
        chunk.clear()
        if on_chunk is not None:
            on_chunk()

    for raw in rows:
        summary.total += 1
        index: str | None = None
        problem: str | None = None
        number = raw.values.get(number_header, "").strip()
        if raw.problem is not None:
            problem = raw.problem.message
        elif not number:
            problem = "证件号码为空"
        else:
            id_type = raw.values.get(type_header, "").strip() if type_header else None
            try:
                index = blind_index_for(protector, number, id_type or None)
            except InvalidInput as exc:
                problem = f"{exc.message}（{mask_value(number)}）"
        chunk.append((raw, index, problem))
        if len(chunk) >= CHUNK:
            flush()
    flush()
    batch_check.decisions = [summary.as_dict()]
    session.flush()
    return summary


def _log_reads(session: Session, logs: list[tuple[Any, ...]], postgres: bool) -> None:
    """The chunk's reads into the query log: COPY on PostgreSQL, one executemany elsewhere."""
    if not postgres:
        session.execute(
            insert(QueryLog), [dict(zip(QUERY_LOG_COLUMNS, row, strict=True)) for row in logs]
        )
        return
    driver: Any = session.connection().connection.driver_connection
    columns = ", ".join(QUERY_LOG_COLUMNS)
    dumps = json.dumps
    with driver.cursor() as cur, cur.copy(f"COPY query_log ({columns}) FROM STDIN") as copy:
        for row in logs:
            copy.write_row((*row[:8], dumps(row[8]), row[9]))


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
                on_chunk=session.commit if own_session else None,
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
        if own_session:
            session.commit()
        return data
    except BaseException:
        session.rollback()
        raise
    finally:
        workbook.close()
        if own_session:
            session.close()
