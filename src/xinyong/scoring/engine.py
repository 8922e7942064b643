"""The integrity score as a pure function of a person's records (诚信积分). No database.

Arithmetic is in integer hundredths so that this module and the set-based SQL of
``scoring.services`` give the same number on every database: each counted record brings
``points × decay percent``; losses and gains are capped separately; the total is divided
by 100 truncating toward zero, then clamped to the model's range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xinyong.catalog.schemas import InformationItem, Nature, ScoringModel
from xinyong.records.display import add_months


@dataclass(frozen=True, slots=True)
class ScoredRecord:
    """What the engine needs of a record (already filtered to records in use)."""

    record_id: int
    item_code: str
    grade: str | None
    decision_date: dt.date


@dataclass(frozen=True, slots=True)
class Contribution:
    record_id: int
    item_code: str
    grade: str | None
    decision_date: dt.date
    hundredths: int  # signed points × 100 after decay

    @property
    def points(self) -> float:
        return self.hundredths / 100


@dataclass(frozen=True, slots=True)
class ScoreResult:
    score: int
    band_code: str
    band_name: str
    model_code: str
    model_version: int
    contributions: tuple[Contribution, ...]

    def reasons(self, limit: int = 4) -> list[Contribution]:
        """The records that moved the score most (cf. the four key factors of US rules)."""
        ranked = sorted(self.contributions, key=lambda c: (-abs(c.hundredths), -c.record_id))
        return [c for c in ranked if c.hundredths][:limit]


def points_table(
    model: ScoringModel, items: Mapping[str, InformationItem]
) -> dict[tuple[str, str], int]:
    """(item code, grade or "") → points. Neutral items and zero points are left out."""
    table: dict[tuple[str, str], int] = {}
    for item in items.values():
        if item.nature is Nature.NEGATIVE:
            for grade, points in model.grade_points.items():
                value = model.item_points.get(item.code, points)
                if value:
                    table[(item.code, grade)] = -abs(value)
        elif item.nature is Nature.POSITIVE:
            value = model.item_points.get(item.code, model.positive_points)
            if value:
                table[(item.code, "")] = abs(value)
    return table


def decay_boundaries(model: ScoringModel, on: dt.date) -> list[tuple[dt.date, int]]:
    """(boundary, percent): a record decided after the boundary gets that percent."""
    return [(add_months(on, -step.within_months), round(step.factor * 100)) for step in model.decay]


def decay_percent(boundaries: list[tuple[dt.date, int]], decision_date: dt.date) -> int:
    if not boundaries:
        return 100
    for boundary, percent in boundaries:
        if decision_date > boundary:
            return percent
    return 0


def truncate_hundredths(value: int) -> int:
    return -((-value) // 100) if value < 0 else value // 100


def combine(model: ScoringModel, negative: int, positive: int) -> int:
    negative = max(negative, -model.negative_cap * 100)
    positive = min(positive, model.positive_cap * 100)
    raw = truncate_hundredths(model.base * 100 + negative + positive)
    return max(model.min_score, min(model.max_score, raw))


def score(
    model: ScoringModel,
    model_version: int,
    items: Mapping[str, InformationItem],
    records: Iterable[ScoredRecord],
    on: dt.date,
    table: Mapping[tuple[str, str], int] | None = None,
) -> ScoreResult:
    table = table if table is not None else points_table(model, items)
    bounds = decay_boundaries(model, on)
    contributions: list[Contribution] = []
    negative = positive = 0
    for record in records:
        points = table.get((record.item_code, record.grade or ""), 0)
        if not points:
            continue
        hundredths = points * decay_percent(bounds, record.decision_date)
        if hundredths < 0:
            negative += hundredths
        else:
            positive += hundredths
        contributions.append(
            Contribution(
                record.record_id, record.item_code, record.grade, record.decision_date, hundredths
            )
        )
    value = combine(model, negative, positive)
    band = model.band_for(value)
    return ScoreResult(value, band.code, band.name, model.code, model_version, tuple(contributions))
