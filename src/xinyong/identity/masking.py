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
    """``张三`` → ``张*``; ``诸葛亮`` → ``诸葛*``; ``欧阳娜娜`` → ``欧阳**``.

    A compound surname (复姓) is the whole surname and stays; a two-character name is a
    single surname and one given character whatever they spell (``欧阳`` → ``欧*``).
    """
    if audience in (Audience.SELF, Audience.GOVERNMENT) or not name:
        return name
    keep = 2 if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:keep] + "*" * (len(name) - keep)


# The compound surnames of the 百家姓 and those common today (复姓).
COMPOUND_SURNAMES = frozenset(
    """
    万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于 单于
    太叔 申屠 公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇 仉督 子车
    颛孙 端木 巫马 公西 漆雕 乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 羊舌
    微生 梁丘 左丘 东门 西门 南宫 第五 独孤 公户 公玉 公仪 公仲 公上 公门 公山 公坚 左人
    东里 北宫 王孙 即墨 达奚 褚师 纳兰 归海 完颜 叶赫 贺兰 呼衍 母丘 少正
    """.split()  # noqa: SIM905 (one line per row of the list reads better than literals)
)
