"""Validation of the numbers that identify subjects (DOMAIN §3). Pure functions, no I/O.

Resident identity numbers (公民身份号码, GB 11643-1999) are checked completely: length,
digits, ISO 7064 MOD 11-2 check character, birth date (real, not in the future), and region
(a GB/T 2260 code that exists or existed). python-stdnum's own ``cn.ric.validate`` also
requires the county to have existed in the birth year, which rejects real numbers issued
after a county was created or renamed (python-stdnum issue #442); we accept any code the
region table has ever known.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError


class IdType(enum.StrEnum):
    """证件类型. Codes follow the 双公示 format's wording."""

    RESIDENT_ID = "身份证"
    CREDIT_CODE = "统一社会信用代码"
    PASSPORT = "护照"
    HK_MACAO_PERMIT = "港澳居民来往内地通行证"
    TAIWAN_PERMIT = "台湾居民来往大陆通行证"
    FOREIGN_PERMANENT = "外国人永久居留身份证"
    HMT_RESIDENCE_PERMIT = "港澳台居民居住证"
    SOCIAL_SECURITY = "社会保障卡"
    OTHER = "其他"


# A person's documents other than the resident identity card (DOMAIN §3): each maps to the
# person's archive as an alias. The social security card number is the resident identity
# number itself (DOMAIN §17) and is no alias.
OTHER_PERSON_DOCUMENTS = frozenset(
    {
        IdType.PASSPORT,
        IdType.HK_MACAO_PERMIT,
        IdType.TAIWAN_PERMIT,
        IdType.HMT_RESIDENCE_PERMIT,
        IdType.FOREIGN_PERMANENT,
        IdType.OTHER,
    }
)

ID_TYPE_ALIASES: dict[str, IdType] = {
    "身份证": IdType.RESIDENT_ID,
    "居民身份证": IdType.RESIDENT_ID,
    "公民身份号码": IdType.RESIDENT_ID,
    "公民身份证号码": IdType.RESIDENT_ID,
    "身份证号": IdType.RESIDENT_ID,
    "身份证号码": IdType.RESIDENT_ID,
    "中华人民共和国居民身份证": IdType.RESIDENT_ID,
    "统一社会信用代码": IdType.CREDIT_CODE,
    "护照": IdType.PASSPORT,
    "护照号": IdType.PASSPORT,
    "港澳居民来往内地通行证": IdType.HK_MACAO_PERMIT,
    "港澳通行证": IdType.HK_MACAO_PERMIT,
    "台湾居民来往大陆通行证": IdType.TAIWAN_PERMIT,
    "台胞证": IdType.TAIWAN_PERMIT,
    "港澳台居民居住证": IdType.HMT_RESIDENCE_PERMIT,
    "港澳居民居住证": IdType.HMT_RESIDENCE_PERMIT,
    "台湾居民居住证": IdType.HMT_RESIDENCE_PERMIT,
    "港澳居民来往内地通行证（回乡证）": IdType.HK_MACAO_PERMIT,
    "回乡证": IdType.HK_MACAO_PERMIT,
    "外国人永久居留身份证": IdType.FOREIGN_PERMANENT,
    "社会保障卡": IdType.SOCIAL_SECURITY,
    "社保卡": IdType.SOCIAL_SECURITY,
    "其他": IdType.OTHER,
}


def parse_id_type(value: str | None, default: IdType = IdType.RESIDENT_ID) -> IdType | None:
    """The certificate type named by ``value``; ``None`` when it is not one we know."""
    text = (value or "").strip()
    if not text:
        return default
    return ID_TYPE_ALIASES.get(text)


class IdNumberError(ValueError):
    """Why an identity number is not valid: a stable code and a Chinese reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F": odd 17th digit is male (GB 11643-1999 §5.3)
    region_code: str
    converted: bool = False  # written with the 15 digits of before 1999, read as 18


@lru_cache(maxsize=8192)
def region_known(code: str) -> bool:
    """Whether GB/T 2260 has ever assigned this six-digit region code."""
    results = numdb.get("cn/loc").info(code)
    return any("county" in props for _, props in results)


@lru_cache(maxsize=1)
def _known_provinces() -> frozenset[str]:
    db = numdb.get("cn/loc")
    return frozenset(
        code for code in (f"{n:02d}" for n in range(10, 100)) if db.info(code + "0000")[0][1]
    )


def normalize_id_number(value: str) -> str:
    return value.strip().replace(" ", "").upper()


CONVERTED_NOTE = "已由 15 位号码转换"


def upgrade_15_digit(number: str) -> str:
    """The 18-digit form of a 15-digit resident identity number (issued before 1999).

    GB 11643-1999 §7: the two-digit birth year gains the century "19" (15-digit numbers were
    issued only to people born in the 1900s) and the ISO 7064 MOD 11-2 check character is
    appended. Anything else is returned unchanged.
    """
    if len(number) != 15 or not number.isdigit():
        return number
    first17 = number[:6] + "19" + number[6:]
    return first17 + str(ric.calc_check_digit(first17 + "0"))


def canonical_resident_number(value: str) -> str:
    """The number a resident identity number is stored and looked up as: normalized, and
    18 digits even when written with 15 (one rule for import, checks, batch and lookup)."""
    return upgrade_15_digit(normalize_id_number(value))


def parse_resident_id(value: str, *, today: dt.date | None = None) -> ResidentId:
    written = normalize_id_number(value)
    number = upgrade_15_digit(written)
    if len(number) != 18:
        raise IdNumberError(
            "id_length", f"身份证号应为 18 位（或 1999 年前的 15 位），实际为 {len(number)} 位"
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError("id_format", "身份证号前 17 位应为数字，末位应为数字或 X")
    if number[:2] not in _known_provinces() or not region_known(number[:6]):
        raise IdNumberError("id_region", "身份证号的行政区划代码不存在")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise IdNumberError("id_birth_date", "身份证号中的出生日期不是有效日期") from exc
    today = today or dt.date.today()
    if birth > today:
        raise IdNumberError("id_future_birth", "身份证号中的出生日期晚于今天")
    if birth.year < 1880:
        raise IdNumberError("id_birth_date", "身份证号中的出生日期早于 1880 年")
    if ric.calc_check_digit(number) != number[17]:
        raise IdNumberError("id_checksum", "身份证号校验码不正确")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return ResidentId(
        number=number,
        birth_date=birth,
        sex=sex,
        region_code=number[:6],
        converted=number != written,
    )


def is_valid_resident_id(value: str, *, today: dt.date | None = None) -> bool:
    try:
        parse_resident_id(value, today=today)
    except IdNumberError:
        return False
    return True


def parse_credit_code(value: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015), normalized."""
    return _parse_credit_code(normalize_id_number(value))


@lru_cache(maxsize=65536)
def _parse_credit_code(code: str) -> str:
    if len(code) != 18:
        raise IdNumberError("uscc_length", f"统一社会信用代码应为 18 位，实际为 {len(code)} 位")
    try:
        return str(uscc.validate(code))
    except ValidationError as exc:
        raise IdNumberError("uscc_invalid", "统一社会信用代码格式或校验码不正确") from exc


def normalize_other_id(value: str) -> str:
    number = normalize_id_number(value)
    if not number or len(number) > 64:
        raise IdNumberError("id_format", "证件号码为空或过长")
    return number


def resident_id_check_char(first17: str) -> str:
    """The check character for 17 digits (used by the demo generator)."""
    return str(ric.calc_check_digit(first17 + "0"))
