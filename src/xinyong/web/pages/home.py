"""The portal's front page (issue 7 grows the pages)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from xinyong.catalog.models import Department
from xinyong.catalog.services import current_catalog
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.web.deps import OptionalCallerDep, SessionDep
from xinyong.web.pages.common import render

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, caller: OptionalCallerDep) -> HTMLResponse:
    catalog = current_catalog(session)
    stats = {
        "subjects": session.scalar(select(func.count()).select_from(Subject)) or 0,
        "records": session.scalar(select(func.count()).select_from(Record)) or 0,
        "departments": session.scalar(select(func.count()).select_from(Department)) or 0,
        "item_count": len(catalog.items),
    }
    return render(request, "home.html", caller, stats=stats)
