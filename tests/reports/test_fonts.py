"""The report font: configured or found, never silently missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from xinyong.config import Settings
from xinyong.errors import ConfigurationError
from xinyong.reports import fonts

NOTO_CFF = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def test_a_configured_font_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    settings = Settings(report_font_path=tmp_path / "none.ttf")
    with pytest.raises(ConfigurationError) as exc:
        fonts.find_font(settings)
    assert (
        exc.value.code == "report_font_missing" and "XINYONG_REPORT_FONT_PATH" in exc.value.message
    )


def test_no_font_anywhere_is_an_error_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "DEFAULT_FONT_CANDIDATES", ((tmp_path / "a.ttc", 0),))
    with pytest.raises(ConfigurationError) as exc:
        fonts.find_font(Settings())
    assert "未找到出具信用报告所需的中文字体" in exc.value.message
    assert str(tmp_path / "a.ttc") in exc.value.message


def test_the_default_search_finds_an_installed_font() -> None:
    path, index = fonts.find_font(Settings())
    assert path.is_file() and index >= 0
    assert fonts.report_font(Settings()).name == fonts.report_font(Settings()).name


def test_a_font_reportlab_cannot_embed_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font at all" * 10)
    with pytest.raises(ConfigurationError) as exc:
        fonts.report_font(Settings(report_font_path=bogus))
    assert exc.value.code == "report_font_unusable"
    if NOTO_CFF.is_file():  # PostScript outlines: reportlab cannot embed them
        with pytest.raises(ConfigurationError):
            fonts.report_font(Settings(report_font_path=NOTO_CFF))
