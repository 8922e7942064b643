"""The report as a standalone HTML page (Jinja2), drawn from the same content as the PDF."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from xinyong.reports.content import SHANGHAI, ReportContent, cover_facts
from xinyong.reports.qr import qr_svg

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
META_PATTERN = re.compile(rb'<meta name="xinyong-report" content="(XY\d{14}) ([A-Z2-7]{16})">')


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(content: ReportContent) -> bytes:
    template = _environment().get_template("reports/report.html")
    text = template.render(
        report=content,
        h=content.header,
        issued=content.header.issued_at.astimezone(SHANGHAI),
        # Generated from the code's own module matrix, not from user input.
        qr=Markup(qr_svg(content.header.verify_url)),
        numerals="一二三四五六七八九十",
        cover_facts=cover_facts(content.header),
    )
    return text.encode("utf-8")


def find_report_keys(data: bytes) -> list[tuple[str, str]]:
    return [(n.decode(), c.decode()) for n, c in META_PATTERN.findall(data)]
