"""Batch comparison (批量比对): a department's list of people → the same rows with verdicts.

Streamed in chunks: the input is read row by row, facts are loaded set-based per chunk,
and the result is written with xlsxwriter's constant-memory mode, so memory stays flat
whatever the file size. Every hit is a read of a person's data and is logged as a query.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, cli_operator
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import session_factory, utcnow
from xinyong.errors import InvalidInput, UnreadableFile
from xinyong.identity.masking import mask_value
from xinyong.identity.protection import IdentityProtector
from xinyong.measures.engine import EFFECT_NAMES, VERDICT_NAMES, decide
from xinyong.measures.models import Check
from xinyong.measures.services import load_facts_bulk, outcome_as_dict
from xinyong.queries.models import QueryBasis, QueryLog
from xinyong.records.formats import normalize_header
from xinyong.records.ingest import protector_for
from xinyong.records.parsers import RawRow, open_table
from xinyong.subjects.models import Subject
from xinyong.subjects.services import blind_index_for

CHUNK = 5000
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
    measures = list(catalog.measures.values())
    chunk: list[tuple[RawRow, str | None, str | None]] = []

    def flush() -> None:
        indexes = {index for _, index, _ in chunk if index}
        by_index: dict[str, int] = {}
        for part in _parts(sorted(indexes), 2000):
            for found_index, found_id in session.execute(
                select(Subject.id_index, Subject.id).where(Subject.id_index.in_(part))
            ):
                by_index[found_index] = found_id
        facts = load_facts_bulk(session, set(by_index.values()), catalog, on)
        logs: list[dict[str, Any]] = []
        now = utcnow()
        for raw, index, problem in chunk:
            if problem is not None:
                summary.invalid += 1
                emit(raw, ["无效", "", "", problem])
                continue
            subject_id = by_index.get(index or "")
            if subject_id is None:
                summary.verdicts["clear"] += 1  # type: ignore[index]
                emit(raw, [VERDICT_NAMES["clear"], "", "", "无记录"])
                continue
            outcome = decide(facts[subject_id], scenario, measures, catalog.grades, on)
            summary.verdicts[outcome.verdict] += 1  # type: ignore[index]
            decisions = outcome_as_dict(outcome)
            emit(
                raw,
                [
                    VERDICT_NAMES[outcome.verdict],
                    "；".join(f"{d['name']}（{EFFECT_NAMES[d['effect']]}）" for d in decisions),
                    "；".join(t["text"] for d in decisions for t in d["triggers"])[:2000],
                    "",
                ],
            )
            logs.append(
                {
                    "subject_id": subject_id,
                    "actor": actor.name,
                    "organisation": actor.department_code,
                    "channel": actor.channel,
                    "action": "check:batch",
                    "purpose": f"{scenario_entry.name}（批量比对 {summary.batch_ref}）",
                    "basis": QueryBasis.LEGAL_DUTY.value,
                    "authorization_id": None,
                    "returned": {
                        "check_id": batch_check.id,
                        "verdict": outcome.verdict,
                        "measures": [d["measure"] for d in decisions],
                    },
                    "queried_at": now,
                }
            )
        if logs:
            session.execute(insert(QueryLog), logs)
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
    workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    try:
        with open_table(
            path, max_cell_chars=settings.max_cell_chars, max_bytes=settings.max_upload_bytes
        ) as table:
            sheet = workbook.add_worksheet("比对结果")
            head = workbook.add_format({"bold": True, "bg_color": "#F2DEDE"})
            columns = [*table.headers, *RESULT_HEADERS]
            for col, name in enumerate(["行号", *columns]):
                sheet.write_string(0, col, name, head)
            line = [0]

            def emit(raw: RawRow, extra: list[str]) -> None:
                line[0] += 1
                sheet.write_number(line[0], 0, raw.number)
                for col, header in enumerate(table.headers, start=1):
                    sheet.write_string(line[0], col, raw.values.get(header, ""))
                for col, value in enumerate(extra, start=len(table.headers) + 1):
                    sheet.write_string(line[0], col, value)

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
        totals = workbook.add_worksheet("汇总")
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
        for row, (key, label) in enumerate(labels.items()):
            totals.write_string(row, 0, label)
            totals.write(row, 1, data[key])
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
