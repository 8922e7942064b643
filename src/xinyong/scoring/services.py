"""Scoring services: the set-based full rescore, per-person scores, reasons, what-if."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.schemas import ScoringModel
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import UtcDateTime, affected, fill_id_table, is_postgres, utcnow
from xinyong.errors import NotFound
from xinyong.records.display_sql import used_clause
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
    session: Session, on: dt.date, *, subject_ids: Collection[int] | None = None
) -> RescoreResult:
    """Recompute scores set-based in the database (no per-person Python loop).

    Without ``subject_ids``: everyone with a counting record, and everyone whose stored
    score must fall back to the base because nothing counts any more. With them: just
    those subjects (after a submission, a repair, an objection). Changed scores are
    upserted and appended to the history in the same statement.
    """
    catalog = current_catalog(session)
    model, version = active_model(catalog)
    _load_points(session, model, catalog)
    score_expr, bind = _score_sql(model, decay_boundaries(model, on))
    used = used_clause(on).compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    used_sql = str(used).replace("records.", "r.")
    base = model.base
    if subject_ids is not None:
        fill_id_table(session, "score_scope", subject_ids)
        agg = (
            f"SELECT r.subject_id AS subject_id, {score_expr} AS score "
            "FROM score_scope sc JOIN records r ON r.subject_id = sc.subject_id "
            "JOIN score_points p ON p.item_code = r.item_code AND p.grade = COALESCE(r.grade, '') "
            f"WHERE {used_sql} GROUP BY r.subject_id"
        )
        candidates = (
            f"SELECT sc.subject_id AS subject_id, COALESCE(a.score, {base}) AS score "
            "FROM score_scope sc JOIN subjects sj ON sj.id = sc.subject_id "
            "LEFT JOIN agg a ON a.subject_id = sc.subject_id"
        )
    else:
        agg = (
            f"SELECT r.subject_id AS subject_id, {score_expr} AS score "
            "FROM records r JOIN score_points p ON p.item_code = r.item_code "
            f"AND p.grade = COALESCE(r.grade, '') WHERE {used_sql} GROUP BY r.subject_id"
        )
        candidates = (
            "SELECT subject_id, score FROM agg UNION ALL "
            f"SELECT s.subject_id, {base} FROM subject_scores s "
            "LEFT JOIN agg a ON a.subject_id = s.subject_id "
            f"WHERE a.subject_id IS NULL AND s.score <> {base}"
        )
    band = _band_sql(model, "n.score")
    bind.update({"code": model.code, "version": version, "on": on, "now": utcnow()})
    columns = "subject_id, model_code, model_version, score, band, computed_on, computed_at"
    changed_where = (
        "subject_scores.score <> excluded.score OR subject_scores.model_version <> "
        "excluded.model_version OR subject_scores.model_code <> excluded.model_code"
    )
    conflict = (
        "ON CONFLICT (subject_id) DO UPDATE SET model_code = excluded.model_code, "
        "model_version = excluded.model_version, score = excluded.score, band = excluded.band, "
        "computed_on = excluded.computed_on, computed_at = excluded.computed_at "
        f"WHERE {changed_where}"
    )
    now_param = bindparam("now", type_=UtcDateTime())
    if is_postgres(session):
        stmt = text(
            f"WITH agg AS MATERIALIZED ({agg}), n AS ({candidates}), "
            f"changed AS (INSERT INTO subject_scores ({columns}) "
            f"SELECT n.subject_id, :code, :version, n.score, {band}, :on, :now FROM n "
            # Only new or changed scores reach the upsert: ON CONFLICT … WHERE would still
            # lock every unchanged row.
            "LEFT JOIN subject_scores s ON s.subject_id = n.subject_id "
            "WHERE s.subject_id IS NULL OR s.score <> n.score "
            "OR s.model_version <> CAST(:version AS INTEGER) "
            f"OR s.model_code <> CAST(:code AS VARCHAR) {conflict} RETURNING {columns}) "
            f"INSERT INTO score_history ({columns}) SELECT {columns} FROM changed"
        ).bindparams(now_param)
        changed = affected(session.execute(stmt, bind))
        return RescoreResult(scored=changed, changed=changed, reset=0)
    session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS score_new "
            "(subject_id integer PRIMARY KEY, score integer)"
        )
    )
    session.execute(text("DELETE FROM score_new"))
    scored = affected(
        session.execute(
            text(
                f"INSERT INTO score_new (subject_id, score) "
                f"WITH agg AS ({agg}) SELECT subject_id, score FROM ({candidates})"
            ),
            bind,
        )
    )
    changed = affected(
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
    session.execute(
        text(
            f"INSERT INTO subject_scores ({columns}) "
            f"SELECT n.subject_id, :code, :version, n.score, {band}, :on, :now FROM score_new n "
            f"WHERE true {conflict}"
        ).bindparams(now_param),
        bind,
    )
    return RescoreResult(scored=scored, changed=changed, reset=0)


def rescore_subjects(session: Session, subject_ids: Collection[int], on: dt.date) -> RescoreResult:
    """Update the scores of these subjects (after a submission, repair or objection)."""
    return rescore(session, on, subject_ids=subject_ids)


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
    # populate_existing: rescore writes with set-based SQL the identity map does not see.
    return session.get(SubjectScore, subject_id, populate_existing=True)


def score_history(session: Session, subject_id: int) -> list[ScoreHistory]:
    return list(
        session.scalars(
            select(ScoreHistory)
            .where(ScoreHistory.subject_id == subject_id)
            .order_by(ScoreHistory.id)
        )
    )
