"""The verification QR code, drawn from its module matrix.

reportlab's QR widget builds one graphics node per run of dark modules and renders them
through its generic graphics layer, which costs more than the rest of a report; drawing
the matrix directly is a single path in the PDF and a single ``<path>`` in the HTML.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

from reportlab.graphics.barcode import qrencoder

QUIET_ZONE = 4  # modules of white border (ISO/IEC 18004)


@lru_cache(maxsize=16)
def qr_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code of ``text`` (error correction level M) as rows of dark/light modules."""
    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.make()
    return tuple(tuple(bool(m) for m in row) for row in qr.modules)


def dark_runs(text: str) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules."""
    runs = []
    for r, row in enumerate(qr_modules(text)):
        c = 0
        for dark, group in itertools.groupby(row):
            n = len(list(group))
            if dark:
                runs.append((r, c, n))
            c += n
    return runs


def qr_svg(text: str, size_px: int = 120) -> str:
    """An inline SVG of the QR code, quiet zone included."""
    n = len(qr_modules(text)) + 2 * QUIET_ZONE
    d = "".join(
        f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h{length}v1h-{length}z"
        for r, c, length in dark_runs(text)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges" role="img" aria-label="核验二维码">'
        f'<rect width="{n}" height="{n}" fill="#fff"/><path d="{d}" fill="#000"/></svg>'
    )
