"""The score formula in SQL (``scoring.services.rescore``, set-based) agrees with the pure
engine (``scoring.engine.score``) on the database, for random models and records.

As the visibility property test does for ``used_clause`` (tests/integration/rules): one
person's records are rewritten per example (item, grade, decision date, state, display
window), a random score model is put in force (base, range, grade and item points, decay
steps, caps, bands), the database rescores the person, and the stored score and band must
be what the engine computes from the records ``visibility()`` says are in use. Runs on
SQLite and, with XINYONG_TEST_DATABASE_URL, on PostgreSQL (integer division, CASE order).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests import factories
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import Band, DecayStep, Nature, ScoringModel
from xinyong.catalog.services import current_catalog
from xinyong.identity.masking import Audience
from xinyong.records.display import visibility
from xinyong.records.models import Record
from xinyong.scoring import services as scoring
from xinyong.scoring.engine import ScoredRecord, score
from xinyong.scoring.services import rescore, stored_score

RECORDS = 6
ON = dt.date(2026, 6, 30)
GRADES = ("minor", "general", "serious")
_versions = itertools.count(1000)


@st.composite
def models(draw: st.DrawFn, items: tuple[str, ...]) -> ScoringModel:
    base = draw(st.integers(0, 1000))
    min_score = draw(st.integers(-300, base))
    max_score = draw(st.integers(base, 1500))
    cuts: list[int] = []
    if max_score > min_score:
        cuts = sorted(draw(st.sets(st.integers(min_score + 1, max_score), max_size=3)))
    edges = [min_score, *cuts, max_score + 1]
    bands = tuple(
        Band(code=f"b{i}", name=f"档{i}", min=lo, max=hi - 1)
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    )
    months = sorted(draw(st.sets(st.integers(1, 48), max_size=3)))
    decay = tuple(
        DecayStep(within_months=m, factor=draw(st.floats(0, 1, allow_nan=False))) for m in months
    )
    return ScoringModel(
        code="prop",
        name="性质测试模型",
        base=base,
        min_score=min_score,
        max_score=max_score,
        grade_points={
            g: draw(st.integers(-400, 0)) for g in draw(st.sets(st.sampled_from(GRADES)))
        },
        positive_points=draw(st.integers(0, 300)),
        item_points=draw(st.dictionaries(st.sampled_from(items), st.integers(-300, 300))),
        decay=decay,
        negative_cap=draw(st.integers(0, 1500)),
        positive_cap=draw(st.integers(0, 1500)),
        bands=bands,
    )


RECORD = st.fixed_dictionaries(
    {
        "item": st.integers(0, 1),  # 0: the negative item, 1: the positive one
        "grade": st.sampled_from((None, *GRADES, "unknown")),
        "age_days": st.integers(0, 5 * 366),
        "state": st.sampled_from(["active", "active", "active", "disputed", "repaired"]),
        "shown_from_days": st.integers(-30, 400),  # display starts this long after decision
        "shown_days": st.one_of(st.none(), st.integers(0, 2000)),
    }
)


@pytest.fixture()
def person(session: Session) -> tuple[int, list[int], tuple[str, str]]:
    """One person with RECORDS records, and (negative item, positive item) codes."""
    catalog = current_catalog(session)
    positive = next(
        i.code
        for i in catalog.items.values()
        if i.nature is Nature.POSITIVE and i.record_format == "generic"
    )
    dept = factories.department(session)
    number = factories.resident_id()
    rows = [factories.penalty_row(id_number=number, dept=dept) for _ in range(RECORDS)]
    assert factories.submit_rows(session, rows).accepted == RECORDS
    records = list(session.scalars(select(Record).where(Record.document_number.like("测罚%"))))
    mine = [r for r in records if r.subject_id == records[-1].subject_id]
    assert len(mine) == RECORDS
    return mine[0].subject_id, [r.id for r in mine], (mine[0].item_code, positive)


def _expected(
    model: ScoringModel, version: int, catalog: Catalog, rows: list[dict[str, Any]]
) -> tuple[int, str]:
    used = [
        ScoredRecord(rid, row["item_code"], row["grade"], row["decision_date"])
        for rid, row in ((row["id"], row) for row in rows)
        if visibility(
            state=row["state"],
            open_level="public",
            display_from=row["display_from"],
            display_until=row["display_until"],
            audience=Audience.GOVERNMENT,
            on=ON,
        ).used
    ]
    result = score(model, version, catalog.items, used, ON)
    return result.score, result.band_code


@given(data=st.data(), scoped=st.booleans())
@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
def test_sql_score_agrees_with_the_engine(
    session: Session,
    person: tuple[int, list[int], tuple[str, str]],
    data: st.DataObject,
    scoped: bool,
) -> None:
    subject_id, record_ids, items = person
    model = data.draw(models(items), label="model")
    version = next(_versions)
    catalog = current_catalog(session)
    rows: list[dict[str, Any]] = []
    for rid in record_ids:
        drawn = data.draw(RECORD, label=f"record {rid}")
        decided = ON - dt.timedelta(days=drawn["age_days"])
        shown_from = decided + dt.timedelta(days=drawn["shown_from_days"])
        shown_until = (
            None
            if drawn["shown_days"] is None
            else shown_from + dt.timedelta(days=drawn["shown_days"])
        )
        row = {
            "id": rid,
            "item_code": items[drawn["item"]],
            "grade": drawn["grade"],
            "decision_date": decided,
            "state": drawn["state"],
            "display_from": shown_from,
            "display_until": shown_until,
        }
        session.execute(
            update(Record)
            .where(Record.id == rid)
            .values(**{k: v for k, v in row.items() if k != "id"})
        )
        rows.append(row)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scoring, "active_model", lambda _catalog: (model, version))
        rescore(session, ON, subject_ids=[subject_id] if scoped else None)
    expected_score, expected_band = _expected(model, version, catalog, rows)
    stored = stored_score(session, subject_id)
    if stored is None:  # never scored, and nothing counts: the base
        assert not scoped and expected_score == model.base
        return
    assert stored.score == expected_score
    if stored.model_version == version:  # rewritten under this model (else unchanged base)
        assert (stored.model_code, stored.band) == ("prop", expected_band)
