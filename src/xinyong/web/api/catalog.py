"""Read-only catalog listing for department systems."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from xinyong.catalog.services import current_catalog, list_departments
from xinyong.errors import NotFound
from xinyong.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["目录 catalog"])

SECTIONS = (
    "items",
    "domains",
    "key_groups",
    "info_types",
    "grades",
    "behaviours",
    "scenarios",
    "measures",
    "grading_rules",
    "scoring_models",
)


@router.get("/catalog/{kind}")
def list_catalog(kind: str, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    if kind == "departments":
        return [
            {"code": d.code, "name": d.name, "credit_code": d.credit_code}
            for d in list_departments(session)
        ]
    if kind not in SECTIONS:
        raise NotFound(f"未知的目录类别 {kind}", code="unknown_catalog_kind")
    catalog = current_catalog(session)
    return [e.model_dump(mode="json") for e in catalog.section(kind).values()]  # type: ignore[attr-defined]
