"""The pure repair-eligibility rule (第36号令), with properties over random facts."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from xinyong.repair.workflow import RepairFacts, eligibility, parse_method

ON = dt.date(2026, 6, 1)


def facts(**kw: object) -> RepairFacts:
    base: dict[str, object] = {
        "nature": "negative",
        "state": "active",
        "grade": "general",
        "grade_name": "一般",
        "min_period_ends": dt.date(2026, 3, 1),
        "black_list_until": None,
        "on_black_list": False,
        "has_commitment": False,
        "open_application": None,
        "last_rejection_on": None,
        "rejections": 0,
    }
    base.update(kw)
    return RepairFacts(**base)  # type: ignore[arg-type]


def check(f: RepairFacts, on: dt.date = ON) -> tuple[bool, dt.date | None, list[str]]:
    result = eligibility(f, on, reapply_after_days=30, max_rejections=3)
    return result.eligible, result.eligible_from, [m.code for m in result.missing]


def test_eligible_now_lists_what_the_application_must_bring() -> None:
    assert check(facts()) == (True, ON, ["commitment", "duties"])
    assert check(facts(has_commitment=True)) == (True, ON, ["duties"])


def test_minimum_period_gives_the_date() -> None:
    until = dt.date(2026, 9, 1)
    assert check(facts(min_period_ends=until)) == (
        False,
        until,
        ["min_period", "commitment", "duties"],
    )
    assert check(facts(min_period_ends=until), until)[0] is True


def test_minor_records_may_be_repaired_from_the_decision() -> None:
    assert check(facts(grade="minor", min_period_ends=dt.date(2026, 6, 1)))[0] is True


def test_black_list_until_exit() -> None:
    ends = dt.date(2027, 1, 31)
    eligible, since, codes = check(facts(on_black_list=True, black_list_until=ends))
    assert (eligible, since) == (False, dt.date(2027, 2, 1)) and "black_list" in codes
    eligible, since, _ = check(facts(on_black_list=True))
    assert (eligible, since) == (False, None)


def test_rejections_and_pending_applications() -> None:
    rejected = dt.date(2026, 5, 20)
    assert check(facts(last_rejection_on=rejected, rejections=1))[:2] == (
        False,
        dt.date(2026, 6, 19),
    )
    assert check(facts(last_rejection_on=rejected, rejections=3))[:2] == (False, None)
    assert check(facts(open_application=7))[:2] == (False, None)


def test_other_states_and_natures() -> None:
    for state in ("disputed", "repaired", "revoked", "expired"):
        assert check(facts(state=state)) == (False, None, ["state"])
    assert check(facts(nature="positive")) == (False, None, ["not_negative"])


def test_methods_by_code_or_chinese_name() -> None:
    assert parse_method("志愿服务") == parse_method("volunteer")
    assert parse_method("送礼") is None


@given(
    min_days=st.integers(-400, 400),
    black=st.one_of(st.none(), st.integers(-100, 400)),
    rejected=st.one_of(st.none(), st.integers(0, 60)),
    commitment=st.booleans(),
)
def test_eligible_from_is_when_it_really_becomes_eligible(
    min_days: int, black: int | None, rejected: int | None, commitment: bool
) -> None:
    """When only time stands in the way, the date given is the first day the rule says
    yes; never earlier. The commitment, made with the application, never blocks."""
    f = facts(
        min_period_ends=ON + dt.timedelta(days=min_days),
        on_black_list=black is not None and black >= 0,
        black_list_until=ON + dt.timedelta(days=black)
        if black is not None and black >= 0
        else None,
        last_rejection_on=ON - dt.timedelta(days=rejected) if rejected is not None else None,
        rejections=1 if rejected is not None else 0,
        has_commitment=commitment,
    )
    eligible, since, _ = check(f)
    assert since is not None
    if eligible:
        assert since == ON
        return
    assert since > ON
    assert check(f, since - dt.timedelta(days=1))[0] is False
    if not f.on_black_list:  # a black-list entry ends by the list's own process
        assert check(f, since)[0] is True
