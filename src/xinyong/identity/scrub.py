"""Scrubbing text that might carry an identity number (logs, audit details, error texts).

Anything shaped like an 18-character resident identity number (GB 11643: region, birth
date, sequence, check character) is masked as ``1101**********002X``, whether or not its
check character is right: a mistyped number is still somebody's number.
"""

from __future__ import annotations

import re
from typing import Any

from xinyong.identity.masking import mask_id_number

RESIDENT_ID_SHAPE = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[0-9Xx](?![0-9A-Za-z])"
)


def scrub_text(text: str) -> str:
    """``text`` with every identity-number-shaped substring masked."""
    if len(text) < 18:
        return text
    return RESIDENT_ID_SHAPE.sub(lambda m: mask_id_number(m.group(0)), text)


def scrub_value(value: Any) -> Any:
    """Strings scrubbed recursively through lists, tuples and dicts (keys too)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value
