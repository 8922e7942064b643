"""The SQL forms of the visibility rules of :mod:`xinyong.records.display`.

For set-based work (scores, lists, checks, the portal). Each clause must agree with its
Python rule; property tests (tests/integration/records/test_grading.py,
tests/integration/rules/test_archive_rules.py, tests/functional/test_trust_pages.py)
evaluate them on the database against the rule for random states and windows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, or_, true

from xinyong.catalog.schemas import OpenLevel
from xinyong.records.display import MINOR_GRADE
from xinyong.records.models import Record
from xinyong.records.states import RecordState
from xinyong.subjects.models import Subject


def published_clause(on: dt.date, publish_minor: bool = False) -> ColumnElement[bool]:
    """The SQL form of ``visibility(..., audience=Audience.PUBLIC).shown`` for the portal.

    It must agree with :func:`xinyong.records.display.visibility`; a property test holds
    them together.
    """
    clause = and_(used_clause(on), Record.open_level == OpenLevel.PUBLIC.value)
    if publish_minor:
        return clause
    return and_(clause, or_(Record.grade.is_(None), Record.grade != MINOR_GRADE))


def used_clause(on: dt.date) -> ColumnElement[bool]:
    """The SQL form of ``visibility(...).used``, for set-based work (scores, lists, checks).

    It must agree with :func:`xinyong.records.display.visibility`; a property test holds
    them together.
    """
    return and_(
        Record.state == RecordState.ACTIVE.value,
        Record.display_from <= on,
        or_(Record.display_until.is_(None), Record.display_until >= on),
    )


def individual_penalty_clause(
    penalty_item_codes: list[str], *, publish: bool
) -> ColumnElement[bool]:
    """The SQL form of :func:`xinyong.records.display.individual_penalty_public`
    (``Record`` joined to ``Subject``)."""
    if publish or not penalty_item_codes:
        return true()
    return or_(Subject.kind != "person", Record.item_code.not_in(penalty_item_codes))
