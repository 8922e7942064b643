"""Pure account rules: authorization validity, grant terms, lockout, passwords."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.accounts import passwords
from xinyong.accounts.services import lockout_minutes
from xinyong.authorizations.rules import Grant, Scope, grant_problem, refusal

TODAY = dt.date(2026, 11, 23)


def grant(**changes: object) -> Grant:
    values: dict[str, object] = {
        "subject_id": 1,
        "institution_id": 10,
        "scope": frozenset({"archive", "report"}),
        "valid_from": TODAY - dt.timedelta(days=1),
        "valid_until": TODAY + dt.timedelta(days=30),
        "repeated": False,
        "uses": 0,
        "revoked": False,
    }
    values.update(changes)
    return Grant(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("the_grant", "institution", "subject", "scope", "code"),
    [
        (None, 10, 1, "archive", "authorization_not_found"),
        (grant(), 11, 1, "archive", "authorization_other_institution"),
        (grant(), None, 1, "archive", "authorization_other_institution"),
        (grant(), 10, 2, "archive", "authorization_other_subject"),
        (grant(revoked=True), 10, 1, "archive", "authorization_revoked"),
        (
            grant(valid_from=TODAY + dt.timedelta(days=1)),
            10,
            1,
            "archive",
            "authorization_not_yet_valid",
        ),
        (
            grant(valid_until=TODAY - dt.timedelta(days=1)),
            10,
            1,
            "archive",
            "authorization_expired",
        ),
        (grant(), 10, 1, "score", "authorization_out_of_scope"),
        (grant(uses=1), 10, 1, "archive", "authorization_used"),
        (grant(uses=5, repeated=True), 10, 1, "archive", None),
        (grant(), 10, None, "report", None),
        (grant(valid_from=TODAY, valid_until=TODAY), 10, 1, "archive", None),  # both ends inclusive
    ],
)
def test_refusal_table(
    the_grant: Grant | None,
    institution: int | None,
    subject: int | None,
    scope: str,
    code: str | None,
) -> None:
    result = refusal(
        the_grant, institution_id=institution, subject_id=subject, scope=scope, today=TODAY
    )
    assert (result[0] if result else None) == code
    if result:
        assert result[1]  # a Chinese reason for the caller


@given(
    days_from=st.integers(-400, 400),
    length=st.integers(0, 400),
    uses=st.integers(0, 3),
    repeated=st.booleans(),
    revoked=st.booleans(),
    scope=st.sampled_from(list(Scope)),
    granted=st.sets(st.sampled_from([s.value for s in Scope]), min_size=1),
)
def test_refusal_allows_exactly_the_valid_grants(
    days_from: int,
    length: int,
    uses: int,
    repeated: bool,
    revoked: bool,
    scope: Scope,
    granted: set[str],
) -> None:
    start = TODAY + dt.timedelta(days=days_from)
    g = grant(
        valid_from=start,
        valid_until=start + dt.timedelta(days=length),
        uses=uses,
        repeated=repeated,
        revoked=revoked,
        scope=frozenset(granted),
    )
    allowed = refusal(g, institution_id=10, subject_id=1, scope=scope, today=TODAY) is None
    expected = (
        not revoked
        and g.valid_from <= TODAY <= g.valid_until
        and scope.value in granted
        and (repeated or uses == 0)
    )
    assert allowed == expected


@pytest.mark.parametrize(
    ("terms", "problem"),
    [
        ({}, None),
        ({"scope": []}, "请至少选择一项授权范围"),
        ({"scope": ["everything"]}, "授权范围“everything”不存在"),
        ({"purpose": "gossip"}, "查询目的“gossip”不存在"),
        ({"purpose": "other", "purpose_text": " "}, "查询目的为“其他”时须说明具体用途"),
        ({"purpose": "other", "purpose_text": "租车押金"}, None),
        (
            {
                "valid_until": TODAY - dt.timedelta(days=1),
                "valid_from": TODAY - dt.timedelta(days=5),
            },
            "授权截止日期不能早于今天",
        ),
        (
            {"valid_until": TODAY, "valid_from": TODAY + dt.timedelta(days=1)},
            "授权截止日期不能早于起始日期",
        ),
        ({"valid_until": TODAY + dt.timedelta(days=367)}, "授权有效期不能超过 366 天"),
    ],
)
def test_grant_terms(terms: dict[str, object], problem: str | None) -> None:
    values: dict[str, object] = {
        "scope": ["report"],
        "purpose": "hiring",
        "purpose_text": None,
        "valid_from": TODAY,
        "valid_until": TODAY + dt.timedelta(days=30),
        "today": TODAY,
    }
    values.update(terms)
    assert grant_problem(**values) == problem  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("failed", "minutes"), [(0, 0), (4, 0), (5, 1), (6, 2), (8, 8), (30, 24 * 60)]
)
def test_lockout_backs_off(failed: int, minutes: int) -> None:
    assert lockout_minutes(failed, 5) == minutes


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short1!", False),
        ("alllowercaseletters", False),
        ("1234567890123", False),
        ("correct-horse-9", True),
        ("Abcdefghijk", True),
    ],
)
def test_password_rules(password: str, ok: bool) -> None:
    assert (passwords.password_problem(password) is None) == ok


def test_production_hash_is_argon2id_with_documented_parameters() -> None:
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(
        time_cost=passwords.TIME_COST,
        memory_cost=passwords.MEMORY_COST_KIB,
        parallelism=passwords.PARALLELISM,
        type=Type.ID,
    )
    encoded = hasher.hash("Test-password-2026")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.DUMMY_HASH.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify(encoded, "Test-password-2026")


def test_verify_password_rejects_wrong_and_garbage() -> None:
    encoded = passwords.hash_password("Right-password-1")
    assert passwords.verify_password(encoded, "Right-password-1")
    assert not passwords.verify_password(encoded, "wrong-password-1")
    assert not passwords.verify_password("not a hash", "Right-password-1")


NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("minutes_ago", "read", "scope", "allowed"),
    [
        (5, {"archive"}, "report", True),  # same occasion, another scope
        (5, {"archive"}, "archive", False),  # each scope once
        (31, {"archive"}, "report", False),  # the occasion is over
        (None, set(), "report", False),  # used before occasions were kept: spent
    ],
)
def test_one_time_grant_is_one_occasion(
    minutes_ago: int | None, read: set[str], scope: str, allowed: bool
) -> None:
    first = None if minutes_ago is None else NOW - dt.timedelta(minutes=minutes_ago)
    g = grant(uses=len(read) or 1, first_used_at=first, used_scopes=frozenset(read))
    result = refusal(
        g, institution_id=10, subject_id=1, scope=scope, today=TODAY, now=NOW,
        occasion=dt.timedelta(minutes=30),
    )  # fmt: skip
    assert (result is None) == allowed
    if result:
        assert result[0] == "authorization_used"
