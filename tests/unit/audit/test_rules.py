"""Abuse rules, table-driven: which summaries raise which alerts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.audit import rules
from xinyong.audit.rules import SHANGHAI, EventSummary, Thresholds

T = Thresholds(query_factor=3.0, query_floor=50, refused=5, failed_logins=10, bulk_export_rows=100)
DAY = dt.date(2026, 11, 18)  # a Wednesday


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)


def weekdays(day: dt.date) -> bool:
    return day.weekday() < 5


@pytest.mark.parametrize(
    ("today", "history", "alerts"),
    [
        (120, {dt.date(2026, 11, d): 30 for d in range(1, 18)}, 1),  # 4x baseline
        (80, {dt.date(2026, 11, d): 30 for d in range(1, 18)}, 0),  # under 3x
        (40, {dt.date(2026, 11, d): 5 for d in range(1, 18)}, 0),  # 8x but under the floor
        (60, {}, 1),  # no history at all, above the floor
        (120, {dt.date(2026, 11, 19): 10}, 1),  # later days are not the baseline
        (200, {dt.date(2026, 11, 1): 100, dt.date(2026, 11, 2): 0}, 0),  # quiet days ignored
    ],
)
def test_query_volume(today: int, history: dict[dt.date, int], alerts: int) -> None:
    drafts = rules.query_volume(DAY, {("user:clerk1", "clerk"): today}, {"user:clerk1": history}, T)
    assert len(drafts) == alerts
    if drafts:
        assert drafts[0].rule == "query_volume" and drafts[0].evidence["persons"] == today
        assert "user:clerk1" in drafts[0].message


def test_query_volume_ignores_persons_and_the_system() -> None:
    today = {("user:me", "person"): 500, ("system", "system"): 500}
    assert rules.query_volume(DAY, today, {}, T) == []


@pytest.mark.parametrize(
    ("when", "role", "action", "alerts"),
    [
        (at(10), "clerk", "query:archive:view", 0),
        (at(7, 59), "clerk", "query:archive:view", 1),
        (at(19, 0), "institution", "query:score:view", 1),
        (at(23, 30), "admin", "query:check:run", 1),
        (at(10, day=dt.date(2026, 11, 21)), "clerk", "query:archive:view", 1),  # Saturday
        (at(23), "department", "query:check:run", 0),  # a business system, not a person
        (at(23), "person", "query:archive:view", 0),  # a person reading their own file
        (at(23), "clerk", "accounts:login:succeeded", 0),
        (at(23), "institution", "query:authorization:refused", 0),  # refusals: own rule
    ],
)
def test_off_hours(when: dt.datetime, role: str, action: str, alerts: int) -> None:
    events = [EventSummary(when, action, "user:x", role, target_id="7")]
    assert len(rules.off_hours(events, T, weekdays)) == alerts


def test_off_hours_groups_by_actor_and_day() -> None:
    events = [
        EventSummary(at(22, m), "query:archive:view", "user:x", "clerk", target_id=str(m))
        for m in range(12)
    ]
    (draft,) = rules.off_hours(events, T, weekdays)
    assert draft.evidence["queries"] == 12 and draft.evidence["persons"] == 12
    assert draft.severity == "medium"


@pytest.mark.parametrize(
    ("times", "alerts"),
    [
        ([at(10, m) for m in range(5)], 1),
        ([at(10, m) for m in range(4)], 0),
        ([at(10, 50), at(10, 55), at(11, 0), at(11, 5), at(11, 10)], 0),  # two hours
    ],
)
def test_refused_queries(times: list[dt.datetime], alerts: int) -> None:
    events = [
        EventSummary(t, "query:authorization:refused", "user:bank1", "institution",
                     details={"reason": "authorization_revoked"})
        for t in times
    ]  # fmt: skip
    drafts = rules.refused_queries(events, T)
    assert len(drafts) == alerts
    if drafts:
        assert drafts[0].evidence["reasons"] == {"authorization_revoked": len(times)}


@pytest.mark.parametrize(("persons", "alerts"), [(99, 0), (100, 1), (1000, 1)])
def test_bulk_export(persons: int, alerts: int) -> None:
    events = [
        EventSummary(at(10), "query:check:batch", "apikey:xy_abc", "department", target_id=str(i))
        for i in range(persons)
    ] + [EventSummary(at(10), "query:check:batch", "apikey:xy_abc", "department", target_id="0")]
    drafts = rules.bulk_export(DAY, events, T)
    assert len(drafts) == alerts
    if persons >= 1000:
        assert drafts[0].severity == "high"


@given(
    batches=st.lists(st.integers(min_value=0, max_value=80), max_size=5),
    checks=st.integers(min_value=0, max_value=60),
)
def test_bulk_export_adds_batch_rows_to_checked_persons(batches: list[int], checks: int) -> None:
    """A batch comparison of a file is one event with its row count; a check with a batch
    reference is one event per person: the rule adds both up, per caller and day."""
    events = [
        EventSummary(at(9), "query:check:batch", "apikey:xy_abc", "department", target_id=f"c{i}",
                     details={"rows": rows, "batch_ref": f"b{i}"})
        for i, rows in enumerate(batches)
    ] + [
        EventSummary(at(10), "query:check:batch", "apikey:xy_abc", "department", target_id=str(i))
        for i in range(checks)
    ]  # fmt: skip
    drafts = rules.bulk_export(DAY, events, T)
    total = sum(batches) + checks
    assert len(drafts) == (1 if total >= T.bulk_export_rows else 0)
    if drafts:
        assert drafts[0].evidence["persons"] == total
        assert drafts[0].evidence["batch_rows"] == sum(batches)


def test_failed_logins_per_account_and_unknown_usernames() -> None:
    events = [
        EventSummary(at(3, i), "accounts:login:failed", "user:admin1", "admin",
                     details={"reason": "bad_password"})
        for i in range(10)
    ] + [
        EventSummary(at(4, i), "accounts:login:failed", f"user:guess{i}", "unknown",
                     details={"reason": "unknown_user"})
        for i in range(12)
    ] + [
        EventSummary(at(5, i), "accounts:login:failed", "user:clerk1", "clerk",
                     details={"reason": "bad_password"})
        for i in range(9)
    ]  # fmt: skip
    drafts = rules.failed_logins(events, T)
    assert sorted(d.actor for d in drafts) == sorted(["user:admin1", rules.UNKNOWN_USERS])
    stuffing = next(d for d in drafts if d.actor == rules.UNKNOWN_USERS)
    assert stuffing.evidence == {"failures": 12, "usernames": 12}


def test_fingerprint_is_stable_per_rule_actor_window() -> None:
    events = [
        EventSummary(at(10, m), "query:authorization:refused", "user:b", "institution")
        for m in range(6)
    ]
    assert (
        rules.refused_queries(events, T)[0].fingerprint
        == rules.refused_queries(events[:5], T)[0].fingerprint
    )


def test_working_hours_setting() -> None:
    assert rules.parse_working_hours("08:30-17:30") == (dt.time(8, 30), dt.time(17, 30))


def test_unrelated_reads_one_alert_per_account_and_day() -> None:
    from xinyong.audit.rules import EventSummary, unrelated_reads

    at = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    events = [
        EventSummary(at, "query:archive:view", "user:clerk1", "clerk", "市场监管局", str(n),
                     {"unrelated": True, "reference": "许1"})
        for n in range(6)
    ] + [
        EventSummary(at, "query:archive:view", "user:clerk2", "clerk", "市场监管局", "9", {}),
        EventSummary(at, "accounts:login:failed", "user:clerk3", "clerk", None, None, {"unrelated": True}),
    ]  # fmt: skip
    drafts = unrelated_reads(dt.date(2026, 12, 7), events)
    assert [(d.actor, d.severity) for d in drafts] == [("user:clerk1", "medium")]
    assert drafts[0].evidence == {"persons": 6, "reads": 6, "references": ["许1"]}
    assert "6 名" in drafts[0].message
