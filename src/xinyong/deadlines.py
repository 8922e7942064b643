"""Loading a State Council holiday schedule (载入节假日安排) and moving the open deadlines
that counted through its years: objections, repair applications and black-list defence
periods, each person told of a moved deadline. Above the workflows it reaches; the
calendar itself is :mod:`xinyong.workdays`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.audit.services import record_event
from xinyong.audit.tags import EventTag
from xinyong.lists.models import EntryStatus, ListEntry
from xinyong.notices.services import queue_notice
from xinyong.objections.models import Objection
from xinyong.objections.workflow import OPEN_STATES as OBJECTION_OPEN
from xinyong.repair.models import RepairApplication
from xinyong.repair.workflow import OPEN_STATES as REPAIR_OPEN
from xinyong.workdays import WorkdayCalendar, YearSource
from xinyong.workdays.models import HolidaySchedule
from xinyong.workdays.schedule import parse_schedule
from xinyong.workdays.services import calendar_for, forget_calendar


@dataclass
class YearLoaded:
    year: int
    version: int
    changed: bool


@dataclass
class ScheduleLoad:
    years: list[YearLoaded] = field(default_factory=list)
    objections: list[int] = field(default_factory=list)  # ids whose deadlines moved
    repairs: list[int] = field(default_factory=list)
    list_entries: list[int] = field(default_factory=list)

    @property
    def summary(self) -> str:
        years = "，".join(
            f"{y.year} 年（第 {y.version} 版{'' if y.changed else '，内容未变'}）"
            for y in self.years
        )
        return (
            f"已载入 {years}；重新计算期限：异议 {len(self.objections)} 件，"
            f"信用修复 {len(self.repairs)} 件，名单告知 {len(self.list_entries)} 件"
        )


def load_schedule(session: Session, actor: Actor, data: bytes, filename: str) -> ScheduleLoad:
    """载入节假日安排: each year in the file becomes a new version (unless unchanged), the
    load is audited, and the open deadlines that counted through those years are recomputed.
    A bad file changes nothing (the error names the place)."""
    schedules = parse_schedule(data, filename)
    before = calendar_for(session)
    result = ScheduleLoad()
    for schedule in schedules:
        off = {d.isoformat(): schedule.holiday_names.get(d, "") for d in sorted(schedule.off_days)}
        work = {
            d.isoformat(): schedule.holiday_names.get(d, "") for d in sorted(schedule.work_days)
        }
        current = session.scalar(
            select(HolidaySchedule).where(
                HolidaySchedule.year == schedule.year, HolidaySchedule.is_current
            )
        )
        if (
            current is not None
            and set(current.off_days) == set(off)
            and set(current.work_days) == set(work)
        ):
            result.years.append(YearLoaded(schedule.year, current.version, changed=False))
            continue
        last = session.scalar(
            select(HolidaySchedule.version)
            .where(HolidaySchedule.year == schedule.year)
            .order_by(HolidaySchedule.version.desc())
            .limit(1)
        )
        if current is not None:
            current.is_current = False
        row = HolidaySchedule(
            year=schedule.year,
            version=(last or 0) + 1,
            is_current=True,
            off_days=off,
            work_days=work,
            notice=(schedule.notice or None) and schedule.notice[:200],
            source=filename[:200],
            loaded_by=actor.name[:200],
        )
        session.add(row)
        result.years.append(YearLoaded(schedule.year, row.version, changed=True))
    session.flush()
    forget_calendar(session)
    after = calendar_for(session)
    changed_years = sorted(y.year for y in result.years if y.changed)
    if changed_years:
        _recompute(session, before, after, changed_years, result)
    for loaded in result.years:
        record_event(
            session,
            actor,
            EventTag.WORKDAYS_SCHEDULE_LOADED,
            target_type="holiday_schedule",
            target_id=loaded.year,
            details={
                "year": loaded.year,
                "version": loaded.version,
                "changed": loaded.changed,
                "source": filename[:200],
                "was": YearSource(before.source(loaded.year)).value,
                "recomputed": {
                    "objections": result.objections,
                    "repairs": result.repairs,
                    "list_entries": result.list_entries,
                },
            },
        )
    return result


def _moved(
    before: WorkdayCalendar, after: WorkdayCalendar, start: dt.date, due: dt.date
) -> dt.date:
    # The deadline keeps its number of working days; only the calendar under it changed.
    return after.add_workdays(start, before.workdays_between(start, due))


def _touches(start: dt.date, due: dt.date, years: list[int]) -> bool:
    return any(start.year <= year <= due.year for year in years)


def _recompute(
    session: Session,
    before: WorkdayCalendar,
    after: WorkdayCalendar,
    years: list[int],
    result: ScheduleLoad,
) -> None:
    """Open deadlines counted through ``years`` under the calendar as it was are counted
    again under the loaded schedule (a deadline already passed keeps its number of days)."""
    first = min(years)
    for objection in session.scalars(
        select(Objection).where(
            Objection.state.in_(sorted(OBJECTION_OPEN)),
            Objection.decide_by >= dt.date(first, 1, 1),
        )
    ):
        if not _touches(objection.filed_on, objection.decide_by, years):
            continue
        mark_by = _moved(before, after, objection.filed_on, objection.mark_by)
        decide_by = _moved(before, after, objection.filed_on, objection.decide_by)
        if (mark_by, decide_by) != (objection.mark_by, objection.decide_by):
            objection.mark_by, objection.decide_by = mark_by, decide_by
            result.objections.append(objection.id)
            _tell(session, objection.subject_id, "objection", objection.id, f"您的异议（编号 {objection.id}）的处理期限", decide_by, after, objection.filed_on, record_id=objection.record_id)  # fmt: skip
    for application in session.scalars(
        select(RepairApplication).where(
            RepairApplication.state.in_(sorted(REPAIR_OPEN)),
            RepairApplication.decide_by >= dt.date(first, 1, 1),
        )
    ):
        if not _touches(application.submitted_on, application.decide_by, years):
            continue
        decide_by = _moved(before, after, application.submitted_on, application.decide_by)
        if decide_by != application.decide_by:
            application.decide_by = decide_by
            result.repairs.append(application.id)
            _tell(session, application.subject_id, "repair", application.id, f"您的信用修复申请（编号 {application.id}）的审核期限", decide_by, after, application.submitted_on, record_id=application.record_id)  # fmt: skip
    for entry in session.scalars(
        select(ListEntry).where(
            ListEntry.status == EntryStatus.NOTIFIED.value,
            ListEntry.defence_until >= dt.date(first, 1, 1),
        )
    ):
        if entry.notified_on is None or entry.defence_until is None:
            continue
        if not _touches(entry.notified_on, entry.defence_until, years):
            continue
        until = _moved(before, after, entry.notified_on, entry.defence_until)
        if until != entry.defence_until:
            entry.defence_until = until
            result.list_entries.append(entry.id)
            _tell(session, entry.subject_id, "blacklist", entry.id, "拟列入严重失信主体名单的陈述申辩期限", until, after, entry.notified_on, list_entry_id=entry.id)  # fmt: skip
    session.flush()


def _tell(
    session: Session,
    subject_id: int,
    kind: str,
    case_id: int,
    what: str,
    due: dt.date,
    calendar: WorkdayCalendar,
    start: dt.date,
    *,
    record_id: int | None = None,
    list_entry_id: int | None = None,
) -> None:
    # The person was told the old date; a moved deadline is told too (once per new date).
    still = "（仍为暂定）" if calendar.provisional_between(start, due) else ""
    queue_notice(
        session,
        subject_id,
        kind=f"{kind}:deadline",
        title="期限按节假日安排重新计算",
        body=f"根据国务院公布的节假日安排，{what}重新计算为 {due:%Y年%m月%d日}{still}。",
        dedupe_key=f"{kind}:{case_id}:deadline:{due.isoformat()}",
        record_id=record_id,
        list_entry_id=list_entry_id,
    )
