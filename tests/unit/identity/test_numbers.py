import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from xinyong.identity.numbers import (
    IdNumberError,
    canonical_resident_number,
    is_valid_resident_id,
    parse_credit_code,
    parse_resident_id,
    resident_id_check_char,
    upgrade_15_digit,
)


def make_id(region: str, birth: dt.date, seq: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + resident_id_check_char(first17)


def test_valid_number_gives_birth_date_sex_and_region() -> None:
    rid = parse_resident_id("11010519491231002X")
    assert rid.birth_date == dt.date(1949, 12, 31)
    assert rid.sex == "F"  # 17th digit 2 is even
    assert rid.region_code == "110105"


def test_male_from_odd_seventeenth_digit() -> None:
    assert parse_resident_id(make_id("430102", dt.date(1990, 5, 1), 13)).sex == "M"


def test_lowercase_x_and_spaces_are_normalized() -> None:
    assert parse_resident_id(" 11010519491231002x ").number == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("1101051949123100", "id_length"),
        ("11010519491231002Y", "id_format"),
        ("11010519491231A02X", "id_format"),
        ("11010519491231002Z", "id_format"),
        ("110105194912310021", "id_checksum"),
        ("990105194912310021", "id_region"),
        ("110199194912310021", "id_region"),
    ],
)
def test_invalid_numbers_are_rejected_with_a_reason(number: str, code: str) -> None:
    with pytest.raises(IdNumberError) as exc:
        parse_resident_id(number)
    assert exc.value.code == code
    assert exc.value.message  # Chinese reason for people


def test_impossible_birth_date_is_rejected() -> None:
    first17 = "11010520230229001"  # 2023 has no 29 February
    with pytest.raises(IdNumberError) as exc:
        parse_resident_id(first17 + resident_id_check_char(first17))
    assert exc.value.code == "id_birth_date"


def test_future_birth_date_is_rejected() -> None:
    today = dt.date(2026, 11, 23)
    number = make_id("110105", dt.date(2026, 11, 24), 1)
    with pytest.raises(IdNumberError) as exc:
        parse_resident_id(number, today=today)
    assert exc.value.code == "id_future_birth"
    assert parse_resident_id(make_id("110105", today, 1), today=today).birth_date == today


def test_number_issued_before_its_county_existed_is_accepted() -> None:
    # 110112 通州区 was created in 1997; people born earlier carry its code (stdnum #442).
    number = make_id("110112", dt.date(1980, 1, 1), 5)
    assert not ric.is_valid(number)
    assert is_valid_resident_id(number)


def test_abolished_county_code_is_accepted() -> None:
    # 110103 崇文区 was abolished in 2010; its residents keep their numbers.
    assert is_valid_resident_id(make_id("110103", dt.date(2012, 3, 4), 7))


@given(
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 11, 1)),
    seq=st.integers(0, 999),
    region=st.sampled_from(["110105", "430102", "440305", "310115", "650102"]),
)
def test_every_generated_number_validates_and_one_changed_digit_does_not(
    birth: dt.date, seq: int, region: str
) -> None:
    number = make_id(region, birth, seq)
    rid = parse_resident_id(number, today=dt.date(2026, 11, 23))
    assert rid.birth_date == birth
    assert rid.sex == ("M" if seq % 2 else "F")
    wrong = number[:16] + str((int(number[16]) + 1) % 10) + number[17]
    assert not is_valid_resident_id(wrong, today=dt.date(2026, 11, 23))


@given(st.text(max_size=30))
def test_arbitrary_text_raises_only_id_number_error(text: str) -> None:
    try:
        rid = parse_resident_id(text)
    except IdNumberError as exc:
        assert exc.code.startswith("id_")
    else:
        assert len(rid.number) == 18


def test_credit_code() -> None:
    assert parse_credit_code("91110000600037341l".upper()) == "91110000600037341L"
    with pytest.raises(IdNumberError) as exc:
        parse_credit_code("91110000600037341A")
    assert exc.value.code == "uscc_invalid"
    with pytest.raises(IdNumberError):
        parse_credit_code("123")


def test_fifteen_digit_number_is_read_as_its_eighteen_digit_form() -> None:
    # 110105491231002 is the 1949-12-31 woman of 11010519491231002X, before 1999.
    rid = parse_resident_id("110105491231002")
    assert rid.number == "11010519491231002X"
    assert rid.converted is True
    assert rid.birth_date == dt.date(1949, 12, 31) and rid.sex == "F"
    assert parse_resident_id("11010519491231002X").converted is False
    assert canonical_resident_number(" 110105491231002 ") == "11010519491231002X"


def test_fifteen_digit_number_with_impossible_date_is_still_refused() -> None:
    with pytest.raises(IdNumberError) as exc:
        parse_resident_id("110105491331002")
    assert exc.value.code == "id_birth_date"


@given(
    region=st.sampled_from(["110105", "430102", "310104", "440305"]),
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)),
    seq=st.integers(min_value=0, max_value=999),
)
def test_every_fifteen_digit_number_upgrades_to_the_valid_eighteen_digit_one(
    region: str, birth: dt.date, seq: int
) -> None:
    eighteen = make_id(region, birth, seq)
    fifteen = eighteen[:6] + eighteen[8:17]
    assert upgrade_15_digit(fifteen) == eighteen
    assert ric.calc_check_digit(upgrade_15_digit(fifteen)) == eighteen[-1]
    assert parse_resident_id(fifteen).number == eighteen
    # only 15 digits are upgraded; anything else is left for the checks to refuse
    assert upgrade_15_digit(eighteen) == eighteen
    assert upgrade_15_digit(fifteen[:-1] + "X") == fifteen[:-1] + "X"
