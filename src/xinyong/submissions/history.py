"""Submission history scoped to the actor's department, and the rejected-rows file.

The rejected-rows file gives a clerk back the rows the platform refused, each with its
reason (错误原因), so that they can be corrected and submitted again. Identity numbers in
it are masked: the file leaves the platform, and the row number is enough to find the
row in the department's own copy.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.catalog.models import Department
from xinyong.errors import NotFound
from xinyong.identity.masking import mask_value
from xinyong.identity.protection import IdentityProtector
from xinyong.records.formats import SUBJECT_COLUMNS, normalize_header
from xinyong.records.models import Record, SubmissionBatch, SubmissionError

ID_COLUMNS = frozenset(
    normalize_header(alias)
    for name in ("id_number", "resident_id_number", "legal_rep_id_number")
    for alias in SUBJECT_COLUMNS[name]
)
# A resident identity number (18 or 15 characters) anywhere in a cell.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")

BATCH_STATUS_NAMES = {
    "queued": "排队中",
    "running": "处理中",
    "done": "已完成",
    "failed": "无法读取",
    "interrupted": "中断",
}


def mask_cell(header: str, value: str) -> str:
    if normalize_header(header) in ID_COLUMNS and value.strip():
        return mask_value(value)
    return _RESIDENT_ID.sub(lambda m: mask_value(m.group(0)), value)


@dataclass(frozen=True)
class BatchPage:
    batches: list[SubmissionBatch]
    departments: dict[int, str]
    total: int
    page: int
    pages: int
    own_rows: dict[int, int] | None = None  # batch id → the department's records in it


def department_batches_clause(department_id: int | None) -> ColumnElement[bool]:
    """A department's batches however they were submitted: those it submitted itself (page,
    API, CLI with --department) and those that carry its records although submitted for it
    (the office's CLI import or the demo, rows naming the department in 部门代码).

    The one rule for 报送记录 and for the assessment (statistics.assessment)."""
    return or_(
        SubmissionBatch.department_id == department_id,
        SubmissionBatch.id.in_(
            select(Record.batch_id)
            .where(Record.department_id == department_id, Record.batch_id.is_not(None))
            .distinct()
        ),
    )


def batches_of(session: Session, actor: Actor, page: int = 1, per_page: int = 20) -> BatchPage:
    """The batches the actor may see, newest first: their department's, or all for the office."""
    base = select(SubmissionBatch)
    count = select(func.count()).select_from(SubmissionBatch)
    if not actor.is_admin:
        scope = department_batches_clause(actor.department_id)
        base = base.where(scope)
        count = count.where(scope)
    total = session.scalar(count) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    batches = list(
        session.scalars(
            base.order_by(SubmissionBatch.id.desc()).limit(per_page).offset((page - 1) * per_page)
        )
    )
    departments = {d.id: d.name for d in session.scalars(select(Department))}
    own_rows: dict[int, int] = {}
    if not actor.is_admin and batches:
        own_rows = {
            batch_id: n
            for batch_id, n in session.execute(
                select(Record.batch_id, func.count())
                .where(
                    Record.department_id == actor.department_id,
                    Record.batch_id.in_([b.id for b in batches]),
                )
                .group_by(Record.batch_id)
            )
            if batch_id is not None
        }
    return BatchPage(batches, departments, total, page, pages, own_rows)


def batch_for(
    session: Session, actor: Actor, batch_id: int, *, own_only: bool = False
) -> SubmissionBatch:
    """A batch the actor may see. ``own_only``: only a batch the department submitted itself
    (the rejected rows of a batch the office submitted for several departments are the
    office's)."""
    batch = session.get(SubmissionBatch, batch_id)
    if batch is None:
        raise NotFound("批次不存在", code="batch_not_found")
    if actor.is_admin or batch.department_id == actor.department_id:
        return batch
    carries_own = session.scalar(
        select(Record.id)
        .where(Record.batch_id == batch.id, Record.department_id == actor.department_id)
        .limit(1)
    )
    if own_only or carries_own is None:
        # Another department's batch is answered as not found.
        raise NotFound("批次不存在", code="batch_not_found")
    return batch


def batch_errors(session: Session, batch_id: int, limit: int = 200) -> list[SubmissionError]:
    return list(
        session.scalars(
            select(SubmissionError)
            .where(SubmissionError.batch_id == batch_id)
            .order_by(SubmissionError.row_number, SubmissionError.id)
            .limit(limit)
        )
    )


def batch_grade_sources(session: Session, batch_id: int) -> list[tuple[str, int]]:
    """What decided the grades of the batch's records (records.grading), labelled."""
    from xinyong.catalog.services import current_catalog
    from xinyong.records.grading import grade_source_label
    from xinyong.records.models import Record

    catalog = current_catalog(session)
    rows = session.execute(
        select(Record.grade_source, func.count())
        .where(Record.batch_id == batch_id, Record.grade_source.is_not(None))
        .group_by(Record.grade_source)
        .order_by(func.count().desc(), Record.grade_source)
    ).all()
    return [(grade_source_label(source, catalog), count) for source, count in rows]


def write_error_file(
    session: Session, protector: IdentityProtector, batch: SubmissionBatch, out: Path
) -> int:
    """The rejected rows as XLSX: 行号, the file's own columns, 错误列, 错误原因.

    Returns the number of rows written. Streams the errors in constant memory.
    """
    context = f"batch:{batch.id}"
    headers: list[str] = []
    seen: set[str] = set()
    stmt = (
        select(SubmissionError)
        .where(SubmissionError.batch_id == batch.id)
        .order_by(SubmissionError.row_number, SubmissionError.id)
    )
    # First pass: the union of the columns, in the file's order.
    for cipher in session.scalars(stmt.with_only_columns(SubmissionError.row_cipher)):
        if cipher is None:
            continue
        for header in json.loads(protector.decrypt(cipher, context)):
            if header not in seen:
                seen.add(header)
                headers.append(header)
    workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    sheet = workbook.add_worksheet("拒收行")
    head = workbook.add_format({"bold": True, "bg_color": "#F2DEDE"})
    reason_format = workbook.add_format({"font_color": "#9C0006"})
    columns = ["行号", *headers, "错误列", "错误原因"]
    for col, name in enumerate(columns):
        sheet.write_string(0, col, name, head)
    sheet.set_column(len(columns) - 1, len(columns) - 1, 50)
    line = 0
    # A row with several errors is one line: its columns and reasons side by side, in order.
    for _, errors in itertools.groupby(session.scalars(stmt), key=lambda e: e.row_number):
        group = list(errors)
        error = group[0]
        line += 1
        values: dict[str, str] = (
            json.loads(protector.decrypt(error.row_cipher, context)) if error.row_cipher else {}
        )
        sheet.write_number(line, 0, error.row_number)
        for col, header in enumerate(headers, start=1):
            sheet.write_string(line, col, mask_cell(header, str(values.get(header, ""))))
        sheet.write_string(line, len(headers) + 1, "、".join(e.column or "—" for e in group))
        reasons = "\n".join(
            f"{e.column}：{e.message}" if e.column and len(group) > 1 else e.message for e in group
        )
        sheet.write_string(line, len(headers) + 2, reasons, reason_format)
    sheet.freeze_panes(1, 1)
    workbook.close()
    return line


def department_name(session: Session, actor: Actor) -> str:
    """The department the actor submits for: its own, or every one for the office."""
    if actor.department_id is None:
        return "信用办（全部部门）"
    dept = session.get(Department, actor.department_id)
    return dept.name if dept else ""
