"""Scoring services: the set-based full rescore, per-person scores, reasons, what-if."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import ScoringModel
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import UtcDateTime, affected, is_postgres, utcnow
from xinyong.errors import NotFound
from xinyong.records.display import used_clause
from xinyong.records.models import Record
from xinyong.scoring.engine import (
    ScoredRecord,
    ScoreResult,
    decay_boundaries,
    points_table,
    score,
)
from xinyong.scoring.models import ScoreHistory, SubjectScore


def active_model(catalog: Catalog) -> tuple[ScoringModel, int]:
    code = get_settings().scoring_model
    model = catalog.scoring_models.get(code)
    if model is None:
        raise NotFound(f"积分模型 {code} 不存在", code="scoring_model_not_found")
    return model, catalog.versions.get(("scoring_model", code), 1)


def _score_sql(
    model: ScoringModel, bounds: list[tuple[dt.date, int]]
) -> tuple[str, dict[str, Any]]:
    """SELECT subject_id, score, band over records in use, grouped per subject."""
    params: dict[str, Any] = {}
    if bounds:
        whens = []
        for i, (boundary, percent) in enumerate(bounds):
            params[f"b{i}"] = boundary
            whens.append(f"WHEN r.decision_date > :b{i} THEN {percent}")
        decay = f"(CASE {' '.join(whens)} ELSE 0 END)"
    else:
        decay = "100"
    neg = f"SUM(CASE WHEN p.points < 0 THEN p.points * {decay} ELSE 0 END)"
    pos = f"SUM(CASE WHEN p.points > 0 THEN p.points * {decay} ELSE 0 END)"
    neg_cap, pos_cap = -model.negative_cap * 100, model.positive_cap * 100
    raw = (
        f"({model.base * 100} + (CASE WHEN {neg} < {neg_cap} THEN {neg_cap} ELSE {neg} END)"
        f" + (CASE WHEN {pos} > {pos_cap} THEN {pos_cap} ELSE {pos} END)) / 100"
    )
    clamped = (
        f"CASE WHEN {raw} < {model.min_score} THEN {model.min_score} "
        f"WHEN {raw} > {model.max_score} THEN {model.max_score} ELSE {raw} END"
    )
    return clamped, params


def _band_sql(model: ScoringModel, column: str) -> str:
    whens = " ".join(
        f"WHEN {column} BETWEEN {b.min} AND {b.max} THEN '{b.code}'" for b in model.bands
    )
    return f"CASE {whens} END"


@dataclass
class RescoreResult:
    scored: int
    changed: int
    reset: int


def _load_points(session: Session, model: ScoringModel, catalog: Catalog) -> None:
    session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS score_points "
            "(item_code varchar(64), grade varchar(32), points integer)"
        )
    )
    session.execute(text("DELETE FROM score_points"))
    rows = [
        {"item_code": item, "grade": grade, "points": points}
        for (item, grade), points in points_table(model, catalog.items).items()
    ]
    if rows:
        session.execute(
            text(
                "INSERT INTO score_points (item_code, grade, points) VALUES (:item_code, :grade, :points)"
            ),
            rows,
        )


def rescore(
    session: Session,
    on: dt.date,
    *,
    subject_filter: str | None = None,
    params: dict[str, Any] | None = None,
) -> RescoreResult:
    """Recompute scores set-based in the database (no per-person Python loop).

    ``subject_filter`` restricts to subjects selected by a SQL subquery over ``records``
    (e.g. those touched by one submission batch). Subjects whose records no longer count
    fall back to the base score. Changed scores are appended to the history.
    """
    catalog = current_catalog(session)
    model, version = active_model(catalog)
    _load_points(session, model, catalog)
    score_expr, bind = _score_sql(model, decay_boundaries(model, on))
    bind.update(params or {})
    used = used_clause(on).compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    restrict = f" AND r.subject_id IN ({subject_filter})" if subject_filter else ""
    restrict_scores = f" AND s.subject_id IN ({subject_filter})" if subject_filter else ""
    new_scores = (
        f"SELECT r.subject_id AS subject_id, {score_expr} AS score "
        "FROM records r JOIN score_points p ON p.item_code = r.item_code "
        "AND p.grade = COALESCE(r.grade, '') "
        f"WHERE {str(used).replace('records.', 'r.')}{restrict} GROUP BY r.subject_id"
    )
    band = _band_sql(model, "n.score")
    meta = {"code": model.code, "version": version, "on": on, "now": utcnow()}
    bind.update(meta)
    columns = "subject_id, model_code, model_version, score, band, computed_on, computed_at"
    changed_where = (
        "subject_scores.score <> excluded.score OR subject_scores.model_version <> "
        "excluded.model_version OR subject_scores.model_code <> excluded.model_code"
    )
    upsert = (
        f"INSERT INTO subject_scores ({columns}) "
        f"SELECT n.subject_id, :code, :version, n.score, {band}, :on, :now FROM ({new_scores}) n "
        "WHERE true ON CONFLICT (subject_id) DO UPDATE SET model_code = excluded.model_code, "
        "model_version = excluded.model_version, score = excluded.score, band = excluded.band, "
        f"computed_on = excluded.computed_on, computed_at = excluded.computed_at WHERE {changed_where}"
    )
    now_param = bindparam("now", type_=UtcDateTime())
    if is_postgres(session):
        stmt = text(
            f"WITH changed AS ({upsert} RETURNING {columns}) "
            f"INSERT INTO score_history ({columns}) SELECT {columns} FROM changed"
        ).bindparams(now_param)
        changed = affected(session.execute(stmt, bind))
        scored = changed
    else:
        session.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS score_new (subject_id integer PRIMARY KEY, score integer)"
            )
        )
        session.execute(text("DELETE FROM score_new"))
        scored = (
            affected(
                session.execute(
                    text(f"INSERT INTO score_new (subject_id, score) {new_scores}"), bind
                )
            )
            or 0
        )
        history = (
            affected(
                session.execute(
                    text(
                        f"INSERT INTO score_history ({columns}) SELECT n.subject_id, :code, :version, "
                        f"n.score, {band}, :on, :now FROM score_new n LEFT JOIN subject_scores s "
                        "ON s.subject_id = n.subject_id WHERE s.subject_id IS NULL OR s.score <> n.score "
                        "OR s.model_version <> :version OR s.model_code <> :code"
                    ).bindparams(now_param),
                    bind,
                )
            )
            or 0
        )
        session.execute(
            text(upsert.replace(f"FROM ({new_scores}) n", "FROM score_new n")).bindparams(
                now_param
            ),
            bind,
        )
        changed = history
    # Subjects with a stored score and no counting record any more: back to the base.
    base_band = model.band_for(model.base).code
    reset_where = (
        f"s.score <> {model.base} AND NOT EXISTS (SELECT 1 FROM records r JOIN score_points p "
        "ON p.item_code = r.item_code AND p.grade = COALESCE(r.grade, '') "
        f"WHERE r.subject_id = s.subject_id AND {str(used).replace('records.', 'r.')}){restrict_scores}"
    )
    reset = (
        affected(
            session.execute(
                text(
                    f"INSERT INTO score_history ({columns}) SELECT s.subject_id, :code, :version, "
                    f"{model.base}, '{base_band}', :on, :now FROM subject_scores s WHERE {reset_where}"
                ).bindparams(now_param),
                bind,
            )
        )
        or 0
    )
    if reset:
        session.execute(
            text(
                f"UPDATE subject_scores SET score = {model.base}, band = '{base_band}', "
                f"computed_on = :on, computed_at = :now WHERE subject_id IN "
                f"(SELECT s.subject_id FROM subject_scores s WHERE {reset_where})"
            ).bindparams(now_param),
            bind,
        )
    return RescoreResult(scored=scored, changed=changed, reset=reset)


def rescore_batch(session: Session, batch_id: int, on: dt.date) -> RescoreResult:
    """Update the scores of the subjects a submission batch touched."""
    return rescore(
        session,
        on,
        subject_filter="SELECT b.subject_id FROM records b WHERE b.batch_id = :batch_id",
        params={"batch_id": batch_id},
    )


def rescore_subjects(session: Session, subject_ids: list[int], on: dt.date) -> RescoreResult:
    ids = ", ".join(str(int(i)) for i in subject_ids) or "NULL"
    return rescore(session, on, subject_filter=f"SELECT b.id FROM subjects b WHERE b.id IN ({ids})")


def score_subject(
    session: Session, subject_id: int, on: dt.date, *, exclude_record: int | None = None
) -> ScoreResult:
    """One person's score with its contributions, computed by the pure engine."""
    catalog = current_catalog(session)
    model, version = active_model(catalog)
    rows = session.execute(
        select(Record.id, Record.item_code, Record.grade, Record.decision_date).where(
            Record.subject_id == subject_id, used_clause(on)
        )
    ).all()
    records = [
        ScoredRecord(rid, item, grade, decided)
        for rid, item, grade, decided in rows
        if rid != exclude_record
    ]
    return score(model, version, catalog.items, records, on)


def stored_score(session: Session, subject_id: int) -> SubjectScore | None:
    return session.get(SubjectScore, subject_id)


def score_history(session: Session, subject_id: int) -> list[ScoreHistory]:
    return list(
        session.scalars(
            select(ScoreHistory)
            .where(ScoreHistory.subject_id == subject_id)
            .order_by(ScoreHistory.id)
        )
    )
