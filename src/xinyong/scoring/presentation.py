"""A score as people read it: band names and reasons in words."""

from __future__ import annotations

from typing import Any

from xinyong.catalog.catalog import Catalog
from xinyong.scoring.engine import ScoreResult


def score_as_dict(result: ScoreResult, catalog: Catalog) -> dict[str, Any]:
    reasons = []
    for c in result.reasons():
        item = catalog.items.get(c.item_code)
        grade = catalog.grades.get(c.grade or "")
        what = item.name if item else c.item_code
        if grade:
            what += f"（{grade.name}失信）"
        verb = "扣" if c.hundredths < 0 else "加"
        points = abs(c.hundredths) / 100
        shown = f"{points:.0f}" if points == int(points) else f"{points:.1f}"
        reasons.append(
            {
                "record": c.record_id,
                "item": c.item_code,
                "grade": c.grade,
                "decision_date": c.decision_date.isoformat(),
                "points": c.hundredths / 100,
                "text": f"{c.decision_date:%Y年%m月%d日} {what}，{verb} {shown} 分",
            }
        )
    model = catalog.scoring_models.get(result.model_code)
    scale = (
        {
            "min": model.min_score,
            "max": model.max_score,
            "bands": [
                {"code": b.code, "name": b.name, "min": b.min, "max": b.max}
                for b in sorted(model.bands, key=lambda b: b.min, reverse=True)
            ],
        }
        if model
        else None
    )
    return {
        "score": result.score,
        "band": result.band_code,
        "band_name": result.band_name,
        "scale": scale,
        "model": result.model_code,
        "model_version": result.model_version,
        "reasons": reasons,
    }
