from __future__ import annotations

from xinyong.submissions.history import mask_cell


def test_identity_columns_are_masked_whatever_their_value() -> None:
    assert mask_cell("证件号码", "430102199005170011") == "4301**********0011"
    assert mask_cell("法定代表人证件号码", "not-a-number-123") == "not-********-123"
    assert mask_cell(" 身份证号 ", "12345") == "*****"


def test_numbers_in_other_columns_are_masked_too() -> None:
    text = "当事人430102199005170011于某日"
    assert mask_cell("违法事实", text) == "当事人4301**********0011于某日"
    assert mask_cell("罚款金额（万元）", "1.5") == "1.5"
    assert mask_cell("统一社会信用代码", "91430100MA4L0X1234") == "91430100MA4L0X1234"
