import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from xinyong.catalog.schemas import InformationItem, Nature, ScoringModel
from xinyong.scoring.engine import ScoredRecord, score

ITEMS = {
    "NEG": InformationItem(
        code="NEG",
        name="欠缴税款",
        info_type="T",
        domain="D",
        nature=Nature.NEGATIVE,
        default_grade="general",
    ),
    "POS": InformationItem(
        code="POS", name="优秀志愿者", info_type="T", domain="D", nature=Nature.POSITIVE
    ),
    "NEU": InformationItem(
        code="NEU", name="执业注册", info_type="T", domain="D", nature=Nature.NEUTRAL
    ),
}
BANDS = [
    {"code": "good", "name": "良好", "min": 650, "max": 1000},
    {"code": "fair", "name": "一般", "min": 550, "max": 649},
    {"code": "poor", "name": "较差", "min": 0, "max": 549},
]


def model(**kw: object) -> ScoringModel:
    data: dict[str, object] = {
        "code": "m",
        "name": "测试",
        "base": 700,
        "grade_points": {"minor": -10, "general": -40, "serious": -150},
        "positive_points": 20,
        "decay": [{"within_months": 12, "factor": 1}, {"within_months": 24, "factor": 0.5}],
        "negative_cap": 300,
        "positive_cap": 30,
        "bands": BANDS,
    }
    data.update(kw)
    return ScoringModel.model_validate(data)


ON = dt.date(2026, 6, 30)


def rec(rid: int, item: str, grade: str | None, decided: dt.date) -> ScoredRecord:
    return ScoredRecord(rid, item, grade, decided)


def test_points_decay_caps_and_reasons() -> None:
    records = [
        rec(1, "NEG", "serious", dt.date(2026, 1, 1)),  # -150 full
        rec(2, "NEG", "general", dt.date(2025, 3, 1)),  # -40 half → -20
        rec(3, "NEG", "minor", dt.date(2024, 1, 1)),  # older than 24 months → 0
        rec(4, "POS", None, dt.date(2026, 5, 1)),  # +20
        rec(5, "POS", None, dt.date(2026, 5, 2)),  # +20, capped at +30 total
        rec(6, "NEU", None, dt.date(2026, 5, 3)),  # neutral: nothing
    ]
    result = score(model(), 3, ITEMS, records, ON)
    assert result.score == 700 - 150 - 20 + 30
    assert result.band_code == "fair"
    assert result.model_version == 3
    # ties (|−20| = |+20|) go to the most recent record id
    assert [c.record_id for c in result.reasons()] == [1, 5, 4, 2]
    assert result.reasons()[0].points == -150


@pytest.mark.parametrize(
    ("decided", "expected"),
    [
        (dt.date(2025, 6, 30), 700 - 20),  # exactly 12 months: second step
        (dt.date(2025, 7, 1), 700 - 40),  # inside 12 months
        (dt.date(2024, 6, 30), 700),  # exactly 24 months: no longer counts
        (dt.date(2024, 7, 1), 700 - 20),
    ],
)
def test_decay_boundaries(decided: dt.date, expected: int) -> None:
    assert score(model(), 1, ITEMS, [rec(1, "NEG", "general", decided)], ON).score == expected


def test_negative_cap_and_clamp_to_range() -> None:
    many = [rec(i, "NEG", "serious", dt.date(2026, 6, 1)) for i in range(10)]
    assert score(model(), 1, ITEMS, many, ON).score == 400
    assert score(model(negative_cap=1000), 1, ITEMS, many, ON).score == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bands": [*BANDS[:2], {"code": "x", "name": "差", "min": 0, "max": 560}]}, "重叠"),
        ({"bands": BANDS[:2]}, "未覆盖"),
        ({"grade_points": {"minor": 10}}, "不能为正数"),
        ({"base": 2000}, "基础分"),
        (
            {"decay": [{"within_months": 24, "factor": 1}, {"within_months": 12, "factor": 1}]},
            "递增",
        ),
    ],
)
def test_inconsistent_models_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        model(**change)
    assert message in str(exc.value)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["NEG", "POS", "NEU"]),
            st.sampled_from(["minor", "general", "serious"]),
            st.dates(min_value=dt.date(2020, 1, 1), max_value=ON),
        ),
        max_size=30,
    )
)
def test_negative_records_never_raise_and_positive_never_lower(
    rows: list[tuple[str, str, dt.date]],
) -> None:
    records = [
        rec(i, item, grade if item == "NEG" else None, d) for i, (item, grade, d) in enumerate(rows)
    ]
    full = score(model(), 1, ITEMS, records, ON).score
    for i, r in enumerate(records):
        without = score(model(), 1, ITEMS, records[:i] + records[i + 1 :], ON).score
        if r.item_code == "NEG":
            assert without >= full
        elif r.item_code == "POS":
            assert without <= full
        else:
            assert without == full
