"""The CJK font embedded in every report, found once per process.

A PDF that relies on a viewer's fonts renders differently (or not at all) from one viewer
to the next, so the report embeds a subset of a TrueType font with Chinese glyphs. The
font is configured (``XINYONG_REPORT_FONT_PATH``) or found in a short list of well-known
system locations; with neither the platform refuses to issue reports rather than produce
a PDF with missing glyphs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from xinyong.config import Settings, get_settings
from xinyong.errors import ConfigurationError

FONT_NAME = "XinyongCJK"

# TrueType-outline fonts only: reportlab cannot embed CFF (PostScript-outline) fonts such
# as Noto Sans CJK.
DEFAULT_FONT_CANDIDATES: tuple[tuple[Path, int], ...] = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),  # Debian fonts-wqy-microhei
    (Path("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc"), 0),  # Fedora
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),  # Debian fonts-wqy-zenhei
    (Path("/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"), 0),
    (Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0),
)

_lock = threading.Lock()
_registered: dict[tuple[Path, int], str] = {}


@dataclass(frozen=True, slots=True)
class ReportFont:
    name: str  # the name registered with reportlab
    path: Path
    index: int


def find_font(settings: Settings | None = None) -> tuple[Path, int]:
    """The configured font, else the first known system font that exists."""
    settings = settings or get_settings()
    if settings.report_font_path is not None:
        path = settings.report_font_path
        if not path.is_file():
            raise ConfigurationError(
                f"报告字体文件不存在：{path}（请检查 XINYONG_REPORT_FONT_PATH）",
                code="report_font_missing",
            )
        return path, settings.report_font_index
    for path, index in DEFAULT_FONT_CANDIDATES:
        if path.is_file():
            return path, index
    searched = "、".join(str(p) for p, _ in DEFAULT_FONT_CANDIDATES)
    raise ConfigurationError(
        "未找到出具信用报告所需的中文字体。请安装 fonts-wqy-microhei，"
        "或设置 XINYONG_REPORT_FONT_PATH 指向含中文字形的 TrueType 字体文件"
        f"（已查找：{searched}）",
        code="report_font_missing",
    )


def report_font(settings: Settings | None = None) -> ReportFont:
    """Register the font with reportlab once per process and file; return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    path, index = find_font(settings)
    key = (path.resolve(), index)
    with _lock:
        name = _registered.get(key)
        if name is None:
            name = f"{FONT_NAME}{len(_registered)}" if _registered else FONT_NAME
            try:
                font = TTFont(name, str(key[0]), subfontIndex=index)
            except (TTFError, OSError) as exc:
                raise ConfigurationError(
                    f"报告字体无法使用：{path}（需要 TrueType 轮廓的中文字体；{exc}）",
                    code="report_font_unusable",
                ) from exc
            if not font.face.charToGlyph.get(ord("信")):
                raise ConfigurationError(
                    f"报告字体不含中文字形：{path}", code="report_font_unusable"
                )
            pdfmetrics.registerFont(font)
            _registered[key] = name
    return ReportFont(name, key[0], index)
