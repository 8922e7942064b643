from xinyong.config import Keys
from xinyong.identity.masking import Audience, mask_id_number, mask_name, mask_value
from xinyong.identity.protection import IdentityProtector

NUMBER = "11010519491231002X"


def test_masks_by_audience() -> None:
    assert mask_id_number(NUMBER, Audience.PUBLIC) == "1101**********002X"
    assert mask_id_number(NUMBER, Audience.SELF) == NUMBER
    assert mask_name("张三", Audience.PUBLIC) == "张*"
    assert mask_name("欧阳娜娜", Audience.AUTHORIZED) == "欧阳**"
    assert mask_name("诸葛亮", Audience.PUBLIC) == "诸葛*"
    assert mask_name("司马光", Audience.PUBLIC) == "司马*"
    assert mask_name("上官婉儿", Audience.PUBLIC) == "上官**"
    assert mask_name("欧阳", Audience.PUBLIC) == "欧*"  # two characters: 欧 is the surname
    assert mask_name("王小明", Audience.PUBLIC) == "王**"
    assert mask_name("张三", Audience.SELF) == "张三"
    assert NUMBER not in mask_value(NUMBER)


def protector(seed: bytes = b"k") -> IdentityProtector:
    return IdentityProtector(Keys(seed * 32, b"e" * 32))


def test_blind_index_is_deterministic_keyed_and_not_the_number() -> None:
    p = protector()
    a = p.blind_index("身份证", NUMBER)
    assert a == p.blind_index("身份证", NUMBER)
    assert NUMBER not in a
    assert a != protector(b"z").blind_index("身份证", NUMBER)
    assert a != p.blind_index("护照", NUMBER)


def test_encryption_round_trip_is_bound_to_the_blind_index() -> None:
    p = protector()
    index = p.blind_index("身份证", NUMBER)
    token = p.encrypt(NUMBER, index)
    assert NUMBER.encode() not in token
    assert p.decrypt(token, index) == NUMBER
    other = p.blind_index("身份证", "110105194912310011")
    try:
        p.decrypt(token, other)
    except Exception as exc:  # cryptography's InvalidTag
        assert type(exc).__name__ == "InvalidTag"
    else:
        raise AssertionError("a ciphertext moved to another row must not decrypt")
