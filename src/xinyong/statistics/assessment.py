"""Department assessment (考核) by period: what each measure means, its scale, and when a
period has too little data to rank (DOMAIN §15).

Every batch of a department counts however it was submitted (page, API, CLI, the office
importing rows that name the department): the scope is
``submissions.history.department_batches_clause``'s rule, applied here set-based.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.measures.models import Check, CheckFeedback
from xinyong.objections.models import Objection
from xinyong.records.display import add_months
from xinyong.records.models import Record, SubmissionBatch
from xinyong.repair.models import RepairApplication


@dataclass
class Assessment:
    """One department's 考核 line. Rates are 0–100, or None when there is nothing to rate or
    too little (fewer observations than the minimum: ``thin`` names those measures)."""

    department: str
    records: int = 0
    on_time_rate: float | None = None  # 按时报送率
    rows_submitted: int = 0
    rejection_rate: float | None = None  # 报送拒收率
    checks_with_measures: int = 0
    feedback_rate: float | None = None  # 核查反馈率
    answers_due: int = 0
    on_time_answer_rate: float | None = None  # 异议、修复按时办结率
    score: float | None = None
    rank: int | None = None
    thin: list[str] = field(default_factory=list)

    def components(self) -> list[float]:
        """The rates that make the score; rejection counts as its complement."""
        parts = [self.on_time_rate, self.feedback_rate, self.on_time_answer_rate]
        if self.rejection_rate is not None:
            parts.append(100.0 - self.rejection_rate)
        return [p for p in parts if p is not None]


# What each measure means and its scale, shown beside the table.
MEASURES: tuple[tuple[str, str, str], ...] = (
    (
        "按时报送率",
        "本期作出决定的记录中，在目录项规定时限（自决定日起的自然日）内到达平台的占比；"
        "本期补录的往期决定不计入本期",
        "0–100%，越高越好",
    ),
    (
        "拒收率",
        "本期报送的行（部门自行通过网页、接口、命令行报送的，及信用办代为导入的本部门行）"
        "中被拒收的占比",
        "0–100%，越低越好（计入综合得分时按 100 − 拒收率）",
    ),
    ("核查反馈率", "本期有适用奖惩措施的核查中，已反馈处理结果的占比", "0–100%，越高越好"),
    (
        "异议修复按时办结率",
        "本期受理的异议和信用修复申请中，已办结或已到期的，按期办结的占比（撤回的不计）",
        "0–100%，越高越好",
    ),
    ("综合得分", "数据足够的各项比率的平均（拒收率按 100 − 拒收率计）", "0–100 分，越高越好"),
)

PERIOD_KINDS = {"month": "月度", "quarter": "季度", "year": "年度"}


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | year
    start: dt.date
    end: dt.date  # inclusive
    label: str
    partial: bool  # not ended yet

    @property
    def code(self) -> str:
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"


def period_of(kind: str, year: int, number: int = 1, today: dt.date | None = None) -> Period:
    """Month ``number`` (1–12), quarter ``number`` (1–4) or the whole ``year``."""
    today = today or dt.date.today()
    if kind == "year":
        start, months, label = dt.date(year, 1, 1), 12, f"{year}年"
    elif kind == "quarter" and 1 <= number <= 4:
        start, months, label = dt.date(year, 3 * number - 2, 1), 3, f"{year}年第{number}季度"
    elif kind == "month" and 1 <= number <= 12:
        start, months, label = dt.date(year, number, 1), 1, f"{year}年{number}月"
    else:
        raise ValueError(f"{kind} {number}")
    end = add_months(start, months) - dt.timedelta(days=1)
    return Period(kind, start, end, label, partial=end >= today)


def parse_period(text: str | None, today: dt.date | None = None) -> Period:
    """``2026`` · ``2026-Q4`` · ``2026-12``; empty or unreadable: the current quarter."""
    today = today or dt.date.today()
    value = (text or "").strip().upper()
    try:
        if len(value) == 4 and value.isdigit():
            return period_of("year", int(value), today=today)
        if len(value) == 7 and value[4:6] == "-Q" and value[6].isdigit():
            return period_of("quarter", int(value[:4]), int(value[6]), today)
        if len(value) == 7 and value[4] == "-" and value[5:].isdigit():
            return period_of("month", int(value[:4]), int(value[5:]), today)
    except ValueError:
        pass
    return period_of("quarter", today.year, (today.month - 1) // 3 + 1, today)


def period_choices(today: dt.date | None = None, years: int = 3) -> dict[str, list[Period]]:
    """The periods offered: months (the last 24), quarters and years up to today."""
    today = today or dt.date.today()
    out: dict[str, list[Period]] = {"month": [], "quarter": [], "year": []}
    for year in range(today.year, today.year - years, -1):
        out["year"].append(period_of("year", year, today=today))
        for q in range(4, 0, -1):
            if dt.date(year, 3 * q - 2, 1) <= today:
                out["quarter"].append(period_of("quarter", year, q, today))
        for m in range(12, 0, -1):
            if dt.date(year, m, 1) <= today and len(out["month"]) < 24:
                out["month"].append(period_of("month", year, m, today))
    return out


@dataclass
class AssessmentResult:
    period: Period
    lines: list[Assessment]
    min_sample: int
    ranked: bool  # enough departments with data to rank
    note: str | None = None


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _rated(part: int, whole: int, min_sample: int) -> float | None:
    return _pct(part, whole) if whole >= max(1, min_sample) else None


def _instants(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period's bounds as UTC instants (its days are Beijing days)."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime.combine(period.start, dt.time(), shanghai)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), shanghai)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def assess_departments(
    session: Session,
    period: Period,
    *,
    min_sample: int | None = None,
    min_ranked: int = 3,
    today: dt.date | None = None,
) -> AssessmentResult:
    """考核 of one period: on-time submission, rejection rate, on-time answers, feedback rate.

    A measure with fewer observations than ``min_sample`` (setting
    ``assessment_min_sample``) is not rated, so that a 7-row test upload does not move a
    department holding thousands of records; a department with no rated measure is not
    ranked; with fewer than ``min_ranked`` rated departments the period is not ranked.
    """
    from xinyong.config import get_settings
    from xinyong.statistics.figures import _answer_columns, _lag_days

    today = today or dt.date.today()
    minimum = get_settings().assessment_min_sample if min_sample is None else min_sample
    catalog = current_catalog(session)
    deadlines = {code: item.deadline_days for code, item in catalog.items.items()}
    deadline = case(deadlines, value=Record.item_code, else_=7) if deadlines else 7
    lag = _lag_days(session)
    lines: dict[int, Assessment] = {
        d.id: Assessment(d.name)
        for d in session.scalars(select(Department).order_by(Department.id))
    }
    start_at, end_at = _instants(period)
    on_time: dict[int, int] = {}
    for dept_id, total, timely in session.execute(
        select(Record.department_id, func.count(), func.sum(case((lag <= deadline, 1), else_=0)))
        .where(Record.decision_date.between(period.start, period.end))
        .group_by(Record.department_id)
    ):
        if dept_id in lines:
            lines[dept_id].records = total
            on_time[dept_id] = int(timely or 0)
    in_period = and_(SubmissionBatch.started_at >= start_at, SubmissionBatch.started_at < end_at)
    rejected_rows: dict[int, int] = defaultdict(int)
    # The department's own batches (page, API, CLI --department): every row.
    for dept_id, rows, rejected in session.execute(
        select(
            SubmissionBatch.department_id,
            func.sum(SubmissionBatch.total_rows),
            func.sum(SubmissionBatch.rejected),
        )
        .where(in_period, SubmissionBatch.department_id.is_not(None))
        .group_by(SubmissionBatch.department_id)
    ):
        if dept_id in lines:
            lines[dept_id].rows_submitted += int(rows or 0)
            rejected_rows[dept_id] += int(rejected or 0)
    # Batches the office imported for several departments: each one's accepted rows.
    for dept_id, rows in session.execute(
        select(Record.department_id, func.count())
        .join(SubmissionBatch, SubmissionBatch.id == Record.batch_id)
        .where(in_period, SubmissionBatch.department_id.is_(None))
        .group_by(Record.department_id)
    ):
        if dept_id in lines:
            lines[dept_id].rows_submitted += int(rows or 0)
    answered = select(CheckFeedback.check_id).where(CheckFeedback.check_id == Check.id).exists()
    with_feedback: dict[int, int] = {}
    for dept_id, total, fed_back in session.execute(
        select(Check.department_id, func.count(), func.sum(case((answered, 1), else_=0)))
        .where(Check.verdict != "clear", Check.created_at >= start_at, Check.created_at < end_at)
        .group_by(Check.department_id)
    ):
        if dept_id in lines:
            lines[dept_id].checks_with_measures = total
            with_feedback[dept_id] = int(fed_back or 0)
    answered_on_time: dict[int, int] = defaultdict(int)
    cases = ((Objection, Objection.filed_on), (RepairApplication, RepairApplication.submitted_on))
    for model, opened in cases:
        answered_on, due_by = _answer_columns(model)
        for dept_id, due, timely in session.execute(
            select(
                model.department_id,
                func.sum(case((or_(answered_on.is_not(None), due_by < today), 1), else_=0)),
                func.sum(case((and_(answered_on.is_not(None), answered_on <= due_by), 1), else_=0)),
            )
            .where(model.state != "withdrawn", opened.between(period.start, period.end))
            .group_by(model.department_id)
        ):
            if dept_id in lines:
                lines[dept_id].answers_due += int(due or 0)
                answered_on_time[dept_id] += int(timely or 0)
    for dept_id, line in lines.items():
        line.on_time_rate = _rated(on_time.get(dept_id, 0), line.records, minimum)
        line.rejection_rate = _rated(rejected_rows[dept_id], line.rows_submitted, minimum)
        line.feedback_rate = _rated(
            with_feedback.get(dept_id, 0), line.checks_with_measures, minimum
        )
        line.on_time_answer_rate = _rated(answered_on_time[dept_id], line.answers_due, minimum)
        for name, observed in (
            ("按时报送率", line.records),
            ("拒收率", line.rows_submitted),
            ("核查反馈率", line.checks_with_measures),
            ("异议修复按时办结率", line.answers_due),
        ):
            if 0 < observed < minimum:
                line.thin.append(name)
        parts = line.components()
        line.score = round(sum(parts) / len(parts), 1) if parts else None
    rated = sorted(
        (line for line in lines.values() if line.score is not None),
        key=lambda line: -(line.score or 0),
    )
    unrated = [line for line in lines.values() if line.score is None]
    ranked = len(rated) >= min_ranked
    note = None
    if ranked:
        for position, line in enumerate(rated, start=1):
            line.rank = position
    else:
        note = (
            f"{period.label}数据过少：只有 {len(rated)} 个部门有足够的数据"
            f"（每项至少 {minimum} 条），本期不作排名"
        )
    if period.partial and ranked:
        note = f"{period.label}尚未结束，以下为截至今日的数据"
    return AssessmentResult(period, rated + unrated, minimum, ranked, note)
