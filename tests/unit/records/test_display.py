import datetime as dt

import pytest

from xinyong.catalog.schemas import Grade, InformationItem, Nature, OpenLevel, PeriodOverride
from xinyong.identity.masking import Audience
from xinyong.records.display import add_months, display_window, repair_eligible_from, visibility

GRADES = {
    "minor": Grade(code="minor", name="轻微", rank=1, min_months=0, max_months=3),
    "general": Grade(code="general", name="一般", rank=2, min_months=3, max_months=12),
    "serious": Grade(code="serious", name="严重", rank=3, min_months=12, max_months=36),
}


def item(**kw: object) -> InformationItem:
    base: dict[str, object] = {
        "code": "X",
        "name": "测试",
        "info_type": "T",
        "domain": "D",
        "nature": Nature.NEGATIVE,
        "default_grade": "general",
    }
    base.update(kw)
    return InformationItem.model_validate(base)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),  # leap year month end
        (dt.date(2023, 1, 31), 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
        (dt.date(2024, 2, 29), 48, dt.date(2028, 2, 29)),
        (dt.date(2024, 11, 30), 3, dt.date(2025, 2, 28)),
        (dt.date(2024, 5, 15), 0, dt.date(2024, 5, 15)),
    ],
)
def test_add_months_clamps_to_month_end(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("grade", "decision", "until"),
    [
        ("minor", dt.date(2024, 1, 15), dt.date(2024, 4, 14)),
        ("general", dt.date(2024, 1, 15), dt.date(2025, 1, 14)),
        ("serious", dt.date(2024, 2, 29), dt.date(2027, 2, 27)),
        ("serious", dt.date(2024, 3, 1), dt.date(2027, 2, 28)),
    ],
)
def test_national_maximum_display_period(grade: str, decision: dt.date, until: dt.date) -> None:
    assert display_window(item(), GRADES[grade], decision) == (decision, until)


def test_changsha_profile_shows_every_negative_record_three_years() -> None:
    decision = dt.date(2024, 1, 15)
    for grade in GRADES.values():
        _, until = display_window(item(), grade, decision, profile="changsha")
        assert until == dt.date(2027, 1, 14)


def test_item_override_and_department_request_within_bounds() -> None:
    it = item(periods={"general": PeriodOverride(min_months=6, max_months=24)})
    decision = dt.date(2024, 1, 15)
    assert display_window(it, GRADES["general"], decision)[1] == dt.date(2026, 1, 14)
    # Too short a request is lifted to the minimum, too long cut to the maximum.
    short = display_window(it, GRADES["general"], decision, requested_until=dt.date(2024, 2, 1))
    assert short[1] == dt.date(2024, 7, 14)
    long = display_window(it, GRADES["general"], decision, requested_until=dt.date(2030, 1, 1))
    assert long[1] == dt.date(2026, 1, 14)
    inside = display_window(it, GRADES["general"], decision, requested_until=dt.date(2025, 3, 3))
    assert inside[1] == dt.date(2025, 3, 3)


def test_positive_records_use_their_validity() -> None:
    honour = item(nature=Nature.POSITIVE, default_grade=None, validity_months=24)
    assert display_window(honour, None, dt.date(2024, 3, 1))[1] == dt.date(2026, 2, 28)
    forever = item(nature=Nature.NEUTRAL, default_grade=None)
    assert display_window(forever, None, dt.date(2024, 3, 1))[1] is None


def test_repair_may_be_applied_for_after_the_minimum() -> None:
    assert repair_eligible_from(item(), GRADES["serious"], dt.date(2024, 2, 29)) == dt.date(
        2025, 2, 28
    )
    assert repair_eligible_from(item(), GRADES["minor"], dt.date(2024, 2, 29)) == dt.date(
        2024, 2, 29
    )


def vis(state: str, audience: Audience, on: dt.date, level: str = OpenLevel.PUBLIC) -> tuple:
    v = visibility(
        state=state,
        open_level=level,
        display_from=dt.date(2024, 1, 1),
        display_until=dt.date(2024, 12, 31),
        audience=audience,
        on=on,
    )
    return v.shown, v.shared, v.used


IN, AFTER = dt.date(2024, 12, 31), dt.date(2025, 1, 1)


@pytest.mark.parametrize(
    ("state", "audience", "on", "level", "expected"),
    [
        ("active", Audience.PUBLIC, IN, "public", (True, True, True)),
        ("active", Audience.PUBLIC, AFTER, "public", (False, False, False)),
        ("active", Audience.SELF, AFTER, "public", (True, False, False)),
        ("active", Audience.PUBLIC, IN, "government", (False, False, True)),
        ("active", Audience.GOVERNMENT, IN, "government", (True, True, True)),
        ("active", Audience.AUTHORIZED, IN, "authorized", (True, True, True)),
        ("active", Audience.AUTHORIZED, IN, "government", (False, False, True)),
        ("disputed", Audience.PUBLIC, IN, "public", (False, False, False)),
        ("disputed", Audience.GOVERNMENT, IN, "public", (True, False, False)),
        ("disputed", Audience.SELF, IN, "public", (True, False, False)),
        ("repaired", Audience.GOVERNMENT, IN, "public", (False, False, False)),
        ("revoked", Audience.PUBLIC, IN, "public", (False, False, False)),
        ("expired", Audience.GOVERNMENT, IN, "public", (False, False, False)),
        ("repaired", Audience.SELF, IN, "public", (True, False, False)),
    ],
)
def test_one_visibility_rule(
    state: str, audience: Audience, on: dt.date, level: str, expected: tuple
) -> None:
    assert vis(state, audience, on, level) == expected


def test_labels_tell_the_person_what_happened() -> None:
    v = visibility(
        state="disputed",
        open_level="public",
        display_from=dt.date(2024, 1, 1),
        display_until=None,
        audience=Audience.SELF,
        on=dt.date(2024, 6, 1),
    )
    assert v.label == "异议处理中"
    expired = visibility(
        state="active",
        open_level="public",
        display_from=dt.date(2024, 1, 1),
        display_until=dt.date(2024, 3, 1),
        audience=Audience.SELF,
        on=dt.date(2024, 6, 1),
    )
    assert expired.label == "公示期满"
