"""Masking of identity numbers and names by audience (DOMAIN §3)."""

from __future__ import annotations

import enum


class Audience(enum.StrEnum):
    """Who is looking: decides how much of a person is shown."""

    SELF = "self"
    GOVERNMENT = "government"
    AUTHORIZED = "authorized"
    PUBLIC = "public"


def mask_id_number(number: str, audience: Audience = Audience.PUBLIC) -> str:
    """``110101199003070011`` → ``1101**********0011`` for others; in full for the person.

    Credit codes of organisations are public registration data and are not masked.
    """
    if audience is Audience.SELF:
        return number
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 1) if number else number
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_value(value: str) -> str:
    """Mask any value that might be an identity number, for error messages and logs."""
    text = value.strip()
    if len(text) >= 8:
        return text[:4] + "*" * (len(text) - 8) + text[-4:]
    return "*" * len(text)


def mask_name(name: str, audience: Audience = Audience.PUBLIC) -> str:
    """``张三`` → ``张*``; ``欧阳娜娜`` → ``欧阳**`` (compound surnames keep two characters)."""
    if audience in (Audience.SELF, Audience.GOVERNMENT) or not name:
        return name
    keep = 2 if len(name) >= 4 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:keep] + "*" * (len(name) - keep)


COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "西门",
    ]
)
