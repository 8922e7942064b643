"""Figures for the credit office: dashboards and department assessment (考核).

Every figure is one grouped SQL query (no row is loaded into Python), so the dashboards
stay fast on a city-sized archive. Month bucketing and date differences are the only
dialect-specific parts and live in ``_month`` and ``_lag_days``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from xinyong.catalog.models import Department
from xinyong.catalog.schemas import Nature
from xinyong.catalog.services import current_catalog
from xinyong.db import is_postgres
from xinyong.lists.models import LIST_NAMES, EntryStatus, ListEntry, ListKind
from xinyong.measures.engine import VERDICT_NAMES
from xinyong.measures.models import Check, CheckFeedback
from xinyong.measures.services import current_feedback
from xinyong.objections.models import Objection
from xinyong.records.display import add_months
from xinyong.records.models import Record, SubmissionBatch
from xinyong.repair.models import RepairApplication
from xinyong.statistics.assessment import Assessment, Period, assess_departments

NATURE_NAMES = {Nature.NEGATIVE: "失信", Nature.POSITIVE: "守信", Nature.NEUTRAL: "基础与许可"}


def _month(session: Session, column: Any) -> ColumnElement[str]:
    if is_postgres(session):
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _lag_days(session: Session) -> ColumnElement[int]:
    """Days from the decision to the record's arrival on the platform."""
    if is_postgres(session):
        return literal_column(
            "(CAST(records.created_at AT TIME ZONE 'Asia/Shanghai' AS date) - records.decision_date)"
        )
    return cast(
        func.julianday(func.date(Record.created_at, "+8 hours"))
        - func.julianday(Record.decision_date),
        Integer,
    )


def months_back(on: dt.date, count: int) -> list[str]:
    """The ``count`` months ending with ``on``'s, oldest first, as YYYY-MM."""
    first = on.replace(day=1)
    return [add_months(first, -k).strftime("%Y-%m") for k in range(count - 1, -1, -1)]


@dataclass
class Series:
    """A chart's data: category labels and one or more named value lists."""

    labels: list[str]
    values: dict[str, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "series": self.values}


def records_by_domain(session: Session) -> Series:
    catalog = current_catalog(session)
    counts: dict[str, int] = defaultdict(int)
    for code, n in session.execute(
        select(Record.item_code, func.count()).group_by(Record.item_code)
    ):
        item = catalog.items.get(code)
        domain = catalog.domains.get(item.domain) if item else None
        counts[domain.name if domain else "其他"] += n
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    return Series([k for k, _ in ordered], {"记录数": [v for _, v in ordered]})


def records_by_nature(session: Session) -> Series:
    rows = dict(session.execute(select(Record.nature, func.count()).group_by(Record.nature)).all())
    labels = [NATURE_NAMES[n] for n in Nature]
    return Series(labels, {"记录数": [int(rows.get(n.value, 0)) for n in Nature]})


def records_by_department(session: Session) -> Series:
    names = {d.id: d.name for d in session.scalars(select(Department))}
    rows = session.execute(
        select(Record.department_id, func.count())
        .group_by(Record.department_id)
        .order_by(func.count().desc())
    ).all()
    return Series([names.get(d, str(d)) for d, _ in rows], {"记录数": [n for _, n in rows]})


def records_by_month(session: Session, on: dt.date, months: int = 24) -> Series:
    labels = months_back(on, months)
    start = add_months(on.replace(day=1), -(months - 1))
    month = _month(session, Record.decision_date)
    rows = dict(
        session.execute(
            select(month, func.count())
            .where(Record.decision_date >= start, Record.decision_date <= on)
            .group_by(month)
        ).all()
    )
    neg_rows = dict(
        session.execute(
            select(month, func.count())
            .where(
                Record.decision_date >= start,
                Record.decision_date <= on,
                Record.nature == Nature.NEGATIVE.value,
            )
            .group_by(month)
        ).all()
    )
    return Series(
        labels,
        {
            "全部记录": [int(rows.get(m, 0)) for m in labels],
            "其中失信": [int(neg_rows.get(m, 0)) for m in labels],
        },
    )


def list_sizes(session: Session) -> Series:
    rows = dict(
        session.execute(
            select(ListEntry.list_kind, func.count(func.distinct(ListEntry.subject_id)))
            .where(ListEntry.status == EntryStatus.LISTED.value)
            .group_by(ListEntry.list_kind)
        ).all()
    )
    return Series(
        [LIST_NAMES[k] for k in ListKind],
        {"在列主体": [int(rows.get(k.value, 0)) for k in ListKind]},
    )


def list_flows(session: Session, on: dt.date, months: int = 12) -> Series:
    labels = months_back(on, months)
    start = add_months(on.replace(day=1), -(months - 1))
    entered_month = _month(session, ListEntry.start_date)
    ended_month = _month(session, ListEntry.ended_on)
    entered = dict(
        session.execute(
            select(entered_month, func.count())
            .where(ListEntry.start_date >= start, ListEntry.start_date <= on)
            .group_by(entered_month)
        ).all()
    )
    ended = dict(
        session.execute(
            select(ended_month, func.count())
            .where(ListEntry.ended_on >= start, ListEntry.ended_on <= on)
            .group_by(ended_month)
        ).all()
    )
    return Series(
        labels,
        {
            "列入": [int(entered.get(m, 0)) for m in labels],
            "移出": [int(ended.get(m, 0)) for m in labels],
        },
    )


def checks_by_verdict(session: Session) -> Series:
    rows = dict(session.execute(select(Check.verdict, func.count()).group_by(Check.verdict)).all())
    codes = list(VERDICT_NAMES)
    return Series(
        [VERDICT_NAMES[c] for c in codes], {"核查次数": [int(rows.get(c, 0)) for c in codes]}
    )


def measures_applied(session: Session, limit: int = 10) -> Series:
    catalog = current_catalog(session)
    rows = session.execute(
        select(CheckFeedback.measure_code, func.count())
        .where(CheckFeedback.applied.is_(True), CheckFeedback.id.in_(current_feedback()))
        .group_by(CheckFeedback.measure_code)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    names = [catalog.measures[c].name if c in catalog.measures else c for c, _ in rows]
    return Series(names, {"实施次数": [n for _, n in rows]})


def _answer_columns(model: Any) -> tuple[Any, Any]:
    """(the day the department answered, the deadline) of an objection or repair case."""
    if model is RepairApplication:
        return func.coalesce(model.department_decided_on, model.decided_on), model.decide_by
    return model.decided_on, model.decide_by


def answers_on_time(session: Session, on: dt.date) -> Series:
    """Objections and repair applications: answered on time, late, overdue, in progress."""
    labels = ["异议", "信用修复"]
    series: dict[str, list[int]] = {"按时办结": [], "逾期办结": [], "逾期未办结": [], "办理中": []}
    for model in (Objection, RepairApplication):
        answered, deadline = _answer_columns(model)
        row = session.execute(
            select(
                func.sum(case((and_(answered.is_not(None), answered <= deadline), 1), else_=0)),
                func.sum(case((and_(answered.is_not(None), answered > deadline), 1), else_=0)),
                func.sum(case((and_(answered.is_(None), deadline < on), 1), else_=0)),
                func.sum(case((and_(answered.is_(None), deadline >= on), 1), else_=0)),
            ).where(model.state != "withdrawn")
        ).one()
        for name, value in zip(series, row, strict=True):
            series[name].append(int(value or 0))
    return Series(labels, series)


def department_assessment(session: Session, period: Period | None = None) -> list[Assessment]:
    """The 考核 lines of a period (default: all time, every department with any data
    rated): see ``statistics.assessment.assess_departments``."""
    chosen = period or Period("all", dt.date(1900, 1, 1), dt.date(9999, 12, 30), "全部", False)
    return assess_departments(session, chosen, min_sample=1, min_ranked=1).lines


_BEIJING = dt.timezone(dt.timedelta(hours=8))  # months are the city's, not UTC's


@dataclass(frozen=True)
class MandatoryCheckLine:
    """应查必查: one mandatory scenario and one department in one month."""

    scenario: str
    scenario_name: str
    department: str
    department_id: int
    checks: int
    expected: bool  # the department is named among the scenario's 应用部门

    @property
    def flagged(self) -> bool:
        """A department the scenario names that made no check in the month."""
        return self.expected and self.checks == 0


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """The month ``YYYY-MM`` (Beijing time) as [start, end) instants."""
    first = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=_BEIJING)
    after = add_months(first.date(), 1)
    return first, dt.datetime(after.year, after.month, 1, tzinfo=_BEIJING)


def mandatory_checks(session: Session, month: str) -> list[MandatoryCheckLine]:
    """How many checks each department made in each 应查必查 scenario in ``month``; the
    departments a scenario names (by their registered name) are listed even with none, and
    flagged. A scenario's collective entries (各行政许可部门) name no one in particular: a
    department is listed under them once it has made a check."""
    start, end = month_bounds(month)
    catalog = current_catalog(session)
    mandatory = {code: s for code, s in catalog.scenarios.items() if s.mandatory}
    departments = {d.id: d.name for d in session.scalars(select(Department))}
    by_name = {name: dept_id for dept_id, name in departments.items()}
    counts: dict[tuple[str, int], int] = {}
    if mandatory:
        for scenario_code, dept_id, n in session.execute(
            select(Check.scenario, Check.department_id, func.count())
            .where(
                Check.scenario.in_(sorted(mandatory)),
                Check.created_at >= start,
                Check.created_at < end,
                Check.department_id.is_not(None),
            )
            .group_by(Check.scenario, Check.department_id)
        ):
            if dept_id is not None:
                counts[(scenario_code, dept_id)] = int(n)
    lines = []
    for code, scenario in sorted(mandatory.items()):
        expected = {by_name[name] for name in scenario.departments if name in by_name}
        seen = expected | {d for (c, d) in counts if c == code and d in departments}
        for dept_id in sorted(seen, key=lambda d: departments[d]):
            lines.append(
                MandatoryCheckLine(
                    scenario=code,
                    scenario_name=scenario.name,
                    department=departments[dept_id],
                    department_id=dept_id,
                    checks=counts.get((code, dept_id), 0),
                    expected=dept_id in expected,
                )
            )
    return lines


@dataclass
class Dashboard:
    totals: dict[str, int]
    charts: dict[str, dict[str, Any]]


def dashboard(session: Session, on: dt.date | None = None) -> Dashboard:
    on = on or dt.date.today()
    totals = {
        "records": session.scalar(select(func.count()).select_from(Record)) or 0,
        "batches": session.scalar(select(func.count()).select_from(SubmissionBatch)) or 0,
        "checks": session.scalar(select(func.count()).select_from(Check)) or 0,
        "listed": session.scalar(
            select(func.count(func.distinct(ListEntry.subject_id))).where(
                ListEntry.status == EntryStatus.LISTED.value
            )
        )
        or 0,
    }
    charts = {
        "by_domain": records_by_domain(session).as_dict(),
        "by_department": records_by_department(session).as_dict(),
        "by_month": records_by_month(session, on).as_dict(),
        "by_nature": records_by_nature(session).as_dict(),
        "list_sizes": list_sizes(session).as_dict(),
        "list_flows": list_flows(session, on).as_dict(),
        "checks": checks_by_verdict(session).as_dict(),
        "measures_applied": measures_applied(session).as_dict(),
        "answers": answers_on_time(session, on).as_dict(),
    }
    return Dashboard(totals, charts)
