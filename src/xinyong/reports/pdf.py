"""The report as an A4 PDF (reportlab), every glyph from one embedded CJK font subset.

The report number and verification code are written into the document information
dictionary (/Subject and /Keywords, plain ASCII, twice so that one changed byte cannot hide
both) so that ``xinyong report verify FILE.pdf`` finds the stored report without trusting
the rest of the file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from xinyong.reports.content import (
    SHANGHAI,
    ListLine,
    RecordLine,
    ReportContent,
    ScoreBlock,
    Subsection,
    cover_facts,
)
from xinyong.reports.fonts import report_font
from xinyong.reports.qr import QUIET_ZONE, dark_runs, qr_modules

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 16 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
RED = colors.HexColor("#b71c1c")
GREY = colors.HexColor("#57606a")
LINE = colors.HexColor("#c8ced6")
SHADE = colors.HexColor("#f3f4f6")

# /Subject (xinyong-report XY… CODE) and /Keywords (… report=XY… code=CODE …).
METADATA_PATTERNS = (
    re.compile(rb"/Subject \(xinyong-report (XY\d{14}) ([A-Z2-7]{16})\)"),
    re.compile(rb"report=(XY\d{14}) code=([A-Z2-7]{16})"),
)
_SUB_NUMERALS = "一二三四五六七八九十"


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=8.5, leading=11.5, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=10, textColor=GREY),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10.5),
        "caption": ParagraphStyle(
            "caption", parent=base, fontSize=7.5, leading=10, textColor=GREY, alignment=TA_CENTER
        ),
        "head": ParagraphStyle("head", parent=base, fontSize=8, leading=10.5, textColor=GREY),
        "title": ParagraphStyle(
            "title", parent=base, fontSize=20, leading=26, alignment=TA_CENTER, textColor=RED
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=11, leading=15, alignment=TA_CENTER
        ),
        "h1": ParagraphStyle(
            "h1",
            parent=base,
            fontSize=12.5,
            leading=17,
            spaceBefore=9,
            spaceAfter=3,
            textColor=RED,
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=9.5, leading=13, spaceBefore=4, spaceAfter=2
        ),
        "none": ParagraphStyle("none", parent=base, textColor=GREY, leftIndent=8, spaceAfter=2),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _date(value: Any) -> str:
    return value.isoformat() if value else "长期"


def _grid(font: str, extra: list[tuple[Any, ...]] | None = None) -> TableStyle:
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.4, LINE),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("TEXTCOLOR", (0, 0), (-1, 0), GREY),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            *(extra or []),
        ]
    )


_RECORD_COLUMNS = (
    "信息项目",
    "决定文书号",
    "决定日期",
    "认定/提供单位",
    "等级",
    "状态",
    "公示截止",
)
_RECORD_WIDTHS = tuple(w * mm for w in (32, 38, 19, 38, 13, 19, 19))


def _records_table(records: list[RecordLine], st: dict[str, ParagraphStyle], font: str) -> Table:
    # Short values are plain strings: a Paragraph per cell is most of the layout time.
    rows: list[list[Any]] = [list(_RECORD_COLUMNS)]
    spans: list[tuple[Any, ...]] = []
    for r in records:
        rows.append(
            [
                _p(r.item_name, st["cell"]),
                _p(r.document_number, st["cell"]),
                r.decision_date.isoformat(),
                _p(r.department or "—", st["cell"]),
                r.grade_name or "—",
                r.state_label,
                _date(r.display_until),
            ]
        )
        if not r.in_use:
            spans.append(("TEXTCOLOR", (0, len(rows) - 1), (-1, len(rows) - 1), GREY))
        if r.summary:
            rows.append([_p(r.summary, st["small"]), "", "", "", "", "", ""])
            spans.append(("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)))
    return Table(rows, colWidths=_RECORD_WIDTHS, repeatRows=1, style=_grid(font, spans))


def _lists_table(lines: list[ListLine], st: dict[str, ParagraphStyle], font: str) -> Table:
    rows: list[list[Any]] = [["名单", "状态", "列入日期", "截止/移出日期", "列入事由"]]
    for e in lines:
        rows.append(
            [
                e.list_name,
                _p(e.status_label, st["cell"]),
                e.start_date.isoformat() if e.start_date else "—",
                _date(e.end_date),
                _p(e.reasons, st["cell"]),
            ]
        )
    widths = tuple(w * mm for w in (30, 26, 20, 22, 80))
    return Table(rows, colWidths=widths, repeatRows=1, style=_grid(font))


def _score(block: ScoreBlock, st: dict[str, ParagraphStyle]) -> list[Any]:
    flow: list[Any] = [
        _p(
            f"诚信积分：{block.score} 分　分档：{block.band_name}　评价模型：{block.model}",
            st["body"],
        )
    ]
    if block.reasons:
        flow.append(_p("主要影响因素：", st["body"]))
        flow.extend(_p(f"· {text}", st["body"]) for text in block.reasons)
    if block.hidden_reasons:
        flow.append(
            _p(
                f"另有 {block.hidden_reasons} 项影响因素涉及本版本不提供的信息，未列示。",
                st["small"],
            )
        )
    return flow


def _subsection(index: int, sub: Subsection, st: dict[str, ParagraphStyle], font: str) -> list[Any]:
    # A heading never ends a page: start a new one when little room is left.
    flow: list[Any] = [
        CondPageBreak(22 * mm),
        _p(f"（{_SUB_NUMERALS[index]}）{sub.title}", st["h2"]),
    ]
    if sub.score is not None:
        flow.extend(_score(sub.score, st))
    if sub.note:
        flow.append(_p(sub.note, st["none"]))
    if sub.records:
        flow.append(_records_table(sub.records, st, font))
    if sub.lists:
        flow.append(_lists_table(sub.lists, st, font))
    if sub.empty:
        flow.append(_p("无", st["none"]))
    return flow


class QrCode(Flowable):  # type: ignore[misc]
    """The verification QR code as one filled path (see ``reports.qr``)."""

    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        self.text = text
        self.width = self.height = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        box = self.width / (len(qr_modules(self.text)) + 2 * QUIET_ZONE)
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.black)
        path = canvas.beginPath()
        for row, column, length in dark_runs(self.text):
            path.rect(
                (column + QUIET_ZONE) * box,
                self.height - (row + QUIET_ZONE + 1) * box,
                length * box,
                box,
            )
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()


def _cover(content: ReportContent, st: dict[str, ParagraphStyle], font: str) -> list[Any]:
    h = content.header
    issued = h.issued_at.astimezone(SHANGHAI)
    facts = [
        ("报告编号", h.report_number),
        ("出具时间", f"{issued:%Y年%m月%d日 %H:%M:%S}（北京时间）"),
        ("出具机构", h.issuer),
        ("信息主体", content.subject_name),
        ("证件号码", content.subject_number),
        ("报告版本", content.audience_label),
        *cover_facts(h),
        ("查询目的", h.purpose),
        ("验证码", h.verification_code),
    ]
    info = Table(
        [[_p(k, st["head"]), _p(v, st["body"])] for k, v in facts],
        colWidths=(20 * mm, FRAME_WIDTH - 20 * mm - 44 * mm),
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, LINE),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        ),
    )
    qr = Table(
        [[QrCode(h.verify_url, 36 * mm)], [_p("扫码核验报告真伪", st["caption"])]],
        colWidths=(44 * mm,),
        style=TableStyle(
            [("FONTNAME", (0, 0), (-1, -1), font), ("ALIGN", (0, 0), (-1, -1), "CENTER")]
        ),
    )
    cover = Table(
        [[info, qr]],
        colWidths=(FRAME_WIDTH - 44 * mm, 44 * mm),
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )
    flow: list[Any] = [
        _p(content.title, st["title"]),
        _p(f"（{content.audience_label}）", st["subtitle"]),
        Spacer(1, 5 * mm),
        cover,
        Spacer(1, 3 * mm),
    ]
    flow.extend(_p(f"说明：{note}", st["small"]) for note in content.notes)
    return flow


def _page_decorator(content: ReportContent, font: str) -> Callable[[Any, int], None]:
    h = content.header
    heading = f"{h.city}公共信用信息平台 · {content.title}（{content.audience_label}）"

    def draw(canvas: Any, total: int) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(GREY)
        top = PAGE_HEIGHT - 11 * mm
        canvas.drawString(MARGIN_X, top, heading)
        canvas.drawRightString(PAGE_WIDTH - MARGIN_X, top, f"报告编号 {h.report_number}")
        canvas.setStrokeColor(LINE)
        canvas.line(MARGIN_X, top - 2 * mm, PAGE_WIDTH - MARGIN_X, top - 2 * mm)
        canvas.line(MARGIN_X, 15 * mm, PAGE_WIDTH - MARGIN_X, 15 * mm)
        canvas.drawString(
            MARGIN_X, 11.5 * mm, f"报告编号 {h.report_number}　验证码 {h.verification_code}"
        )
        canvas.drawRightString(
            PAGE_WIDTH - MARGIN_X, 11.5 * mm, f"第 {canvas.getPageNumber()} 页 / 共 {total} 页"
        )
        canvas.drawString(MARGIN_X, 8 * mm, content.footer)
        canvas.restoreState()

    return draw


def _numbered_canvas(draw: Callable[[Any, int], None]) -> type[Canvas]:
    """A canvas that draws header and footer once the page count is known."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                draw(self, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def render_pdf(content: ReportContent) -> bytes:
    """The report as PDF bytes."""
    font = report_font().name
    st = _styles(font)
    h = content.header
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=18 * mm,
        bottomMargin=19 * mm,
        title=f"{content.title}（{content.audience_label}）{h.report_number}",
        author=h.issuer,
        subject=f"xinyong-report {h.report_number} {h.verification_code}",
        keywords=f"xinyong credit report report={h.report_number} code={h.verification_code}",
        creator="xinyong",
        producer="xinyong",
        lang="zh-CN",
        initialFontName=font,
    )
    story = _cover(content, st, font)
    for section in content.sections:
        block: list[Any] = [
            CondPageBreak(32 * mm),
            _p(f"{section.number}、{section.title}", st["h1"]),
        ]
        if section.facts:
            cells = [[_p(k, st["head"]), _p(v, st["body"])] for k, v in section.facts]
            block.append(
                Table(
                    cells,
                    colWidths=(28 * mm, FRAME_WIDTH - 28 * mm),
                    style=_grid(font, [("BACKGROUND", (0, 0), (0, -1), SHADE)]),
                )
            )
        for index, sub in enumerate(section.subsections):
            block.extend(_subsection(index, sub, st, font))
        story.extend(block)
    story.extend([CondPageBreak(32 * mm), _p("信息主体权利", st["h1"])])
    story.extend(_p(text, st["body"]) for text in content.rights)
    doc.build(story, canvasmaker=_numbered_canvas(_page_decorator(content, font)))
    return buffer.getvalue()


def find_report_keys(data: bytes) -> list[tuple[str, str]]:
    """(report number, verification code) pairs written into a report PDF's metadata."""
    found: list[tuple[str, str]] = []
    for pattern in METADATA_PATTERNS:
        for number, code in pattern.findall(data):
            pair = (number.decode(), code.decode())
            if pair not in found:
                found.append(pair)
    return found
