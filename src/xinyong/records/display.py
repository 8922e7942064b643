"""Display periods (公示期限) and the one decision of whether a record is shown, shared, used.

Nothing else in the code decides visibility: pages, reports, checks, lists and scores all
ask :func:`visibility` (or its SQL form in :mod:`xinyong.records.display_sql`). Pure: no
SQLAlchemy, so the engines that use it import without the database layer. Periods come from the grade's bounds (national defaults of
《信用修复管理办法》第36号令: 轻微 ≤ 3 months, 一般 3–12 months, 严重 1–3 years), overridden
per catalog item, and per city profile (Changsha §(十): three years for every negative
record).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from xinyong.catalog.periods import (  # re-exported: the catalog's bounds of these periods
    CHANGSHA_NEGATIVE_MONTHS as CHANGSHA_NEGATIVE_MONTHS,
)
from xinyong.catalog.periods import (
    NATIONAL_PERIOD_BOUNDS as NATIONAL_PERIOD_BOUNDS,
)
from xinyong.catalog.periods import (
    NATIONAL_SPAN as NATIONAL_SPAN,
)
from xinyong.catalog.periods import (
    PeriodBounds as PeriodBounds,
)
from xinyong.catalog.periods import (
    period_problems as period_problems,
)
from xinyong.catalog.periods import (
    permitted_bounds as permitted_bounds,
)
from xinyong.catalog.schemas import Grade, InformationItem, Nature, OpenLevel
from xinyong.identity.masking import Audience
from xinyong.records.states import STATE_NAMES, RecordState


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


# The grade whose records the public portal does not show (SAMR Order 107: 警告 not
# displayed; 第36号令: 轻微 normally not shown), unless settings.publish_minor says so.
MINOR_GRADE = "minor"


def period_bounds(item: InformationItem, grade: Grade, profile: str = "national") -> PeriodBounds:
    """Minimum and maximum display period of a negative record of this item and grade."""
    override = item.periods.get(grade.code)
    bounds = (
        PeriodBounds(override.min_months, override.max_months)
        if override
        else PeriodBounds(grade.min_months, grade.max_months)
    )
    if profile == "changsha":
        return PeriodBounds(
            min(bounds.min_months, CHANGSHA_NEGATIVE_MONTHS), CHANGSHA_NEGATIVE_MONTHS
        )
    return bounds


def last_day(start: dt.date, months: int) -> dt.date:
    """The last day shown of a period of ``months`` starting on ``start`` (inclusive)."""
    return add_months(start, months) - dt.timedelta(days=1)


def display_window(
    item: InformationItem,
    grade: Grade | None,
    decision_date: dt.date,
    *,
    profile: str = "national",
    requested_until: dt.date | None = None,
    valid_from: dt.date | None = None,
) -> tuple[dt.date, dt.date | None]:
    """(display_from, display_until inclusive) for a new record.

    A department's own 公示截止期 is honoured within the bounds: never shorter than the
    minimum, never longer than the maximum. A record with a validity of its own (a
    licence's 有效期自/至) is shown from its start (``valid_from``) to its end
    (``requested_until``); only without one does the item's ``validity_months`` apply.
    """
    if item.nature is Nature.NEGATIVE:
        if grade is None:
            raise ValueError("失信记录必须有等级")
        bounds = period_bounds(item, grade, profile)
        earliest = (
            last_day(decision_date, bounds.min_months) if bounds.min_months else decision_date
        )
        latest = last_day(decision_date, bounds.max_months) if bounds.max_months else decision_date
        if requested_until is None:
            return decision_date, latest
        return decision_date, max(earliest, min(requested_until, latest))
    start = valid_from or decision_date
    if requested_until is not None:
        return start, max(requested_until, start)
    if item.validity_months:
        return start, last_day(start, item.validity_months)
    return start, None


def repair_eligible_from(
    item: InformationItem, grade: Grade, decision_date: dt.date, profile: str = "national"
) -> dt.date:
    """First day a repair may be applied for: when the minimum display period has passed."""
    bounds = period_bounds(item, grade, profile)
    return add_months(decision_date, bounds.min_months)


@dataclass(frozen=True, slots=True)
class Visibility:
    shown: bool  # appears in the audience's view of the archive
    shared: bool  # may be shared with other departments (政务共享)
    used: bool  # counts in checks, lists and scores
    label: str  # the state as the audience sees it


_LEVELS_BY_AUDIENCE = {
    Audience.PUBLIC: frozenset({OpenLevel.PUBLIC}),
    Audience.AUTHORIZED: frozenset({OpenLevel.PUBLIC, OpenLevel.AUTHORIZED}),
    Audience.GOVERNMENT: frozenset({OpenLevel.PUBLIC, OpenLevel.GOVERNMENT, OpenLevel.AUTHORIZED}),
}


def in_window(display_from: dt.date, display_until: dt.date | None, on: dt.date) -> bool:
    return display_from <= on and (display_until is None or on <= display_until)


def visibility(
    *,
    state: str,
    open_level: str,
    display_from: dt.date,
    display_until: dt.date | None,
    audience: Audience,
    on: dt.date,
    grade: str | None = None,
    publish_minor: bool = False,
) -> Visibility:
    """Whether a record is shown to ``audience``, shared, and used, on date ``on``.

    - The person always sees their whole archive, every state labelled.
    - A disputed record (异议中) is kept and shown to the person and to government as
      异议处理中, but never used against the person and never published (cf. GDPR Art. 18).
    - Repaired, revoked and expired records are not shown to others, shared or used.
    - Otherwise a record inside its display window is shown to the audiences its open
      level allows, and used; but a 轻微 record is not published (``Audience.PUBLIC``)
      unless ``publish_minor`` (SAMR Order 107: 警告 not displayed; 第36号令: 轻微
      normally not shown). It is still shared with government and used.
    """
    current = in_window(display_from, display_until, on)
    st = RecordState(state)
    if st is RecordState.ACTIVE and not current:
        st = RecordState.EXPIRED if display_until is not None and on > display_until else st
    label = STATE_NAMES[st] if current or st is not RecordState.ACTIVE else "尚未公示"
    used = st is RecordState.ACTIVE and current
    if audience is Audience.SELF:
        return Visibility(shown=True, shared=used, used=used, label=label)
    allowed = OpenLevel(open_level) in _LEVELS_BY_AUDIENCE[audience]
    if st is RecordState.DISPUTED:
        visible = current and allowed and audience is Audience.GOVERNMENT
        return Visibility(shown=visible, shared=False, used=False, label=label)
    visible = used and allowed
    if audience is Audience.PUBLIC and grade == MINOR_GRADE and not publish_minor:
        visible = False
    return Visibility(shown=visible, shared=used and allowed, used=used, label=label)


# -- public display of individuals' administrative penalties (DOMAIN §17) ------------------
# Some provinces publish 行政处罚 on natural persons only in principle or not at all: the
# setting ``publish_individual_penalties`` decides, for the public audience only. The portal
# asks this rule beside ``visibility``; their SQL twins (``records.display_sql``:
# ``individual_penalty_clause``, ``used_clause``) are held to them by property tests.


def individual_penalty_public(record_format: str, subject_kind: str, *, publish: bool) -> bool:
    """Whether a record of this 双公示 format about this kind of subject may be published."""
    return publish or not (record_format == "sgs_penalty" and subject_kind == "person")
