"""Logs are JSON lines and never carry an identity number in clear."""

from __future__ import annotations

import io
import json
import logging

from tests import factories
from xinyong.identity.scrub import scrub_text, scrub_value
from xinyong.logs import handler

NUMBER = factories.resident_id(seq=42)
MASKED = NUMBER[:4] + "*" * 10 + NUMBER[-4:]


def capture(fmt: str = "json") -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(f"xinyong.test.{fmt}")
    logger.handlers = [handler(fmt, stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_json_lines_with_extra_fields() -> None:
    logger, stream = capture()
    logger.info("import done batch=%s", 7, extra={"rows": 3})
    line = json.loads(stream.getvalue())
    assert line["message"] == "import done batch=7"
    assert (line["level"], line["logger"], line["rows"]) == ("info", "xinyong.test.json", 3)
    assert line["time"].endswith("+00:00")


def test_identity_numbers_masked_in_message_args_extra_and_traceback() -> None:
    logger, stream = capture()
    logger.warning(f"lookup {NUMBER} failed")
    logger.warning("lookup %s failed", NUMBER)
    logger.info("row", extra={"value": NUMBER, "nested": {"id": NUMBER}})
    try:
        raise ValueError(f"bad number {NUMBER}")
    except ValueError:
        logger.exception("unexpected")
    text = stream.getvalue()
    assert NUMBER not in text
    assert text.count(MASKED) == 5
    for line in text.splitlines():
        json.loads(line)


def test_text_format_is_scrubbed_too() -> None:
    logger, stream = capture("text")
    logger.error("person %s", NUMBER.lower())
    assert NUMBER not in stream.getvalue() and MASKED in stream.getvalue()


def test_scrub_shapes() -> None:
    x_number = "11010119900307002X"
    assert scrub_text(f"a{x_number}b") == f"a{x_number}b"  # glued to letters: not a number
    assert scrub_text(f"号码:{x_number}。") == "号码:1101**********002X。"
    assert scrub_text("20261123101500123456") == "20261123101500123456"  # 20 digits
    assert scrub_text("订单 123456789012345678") == "订单 123456789012345678"  # no birth date
    assert scrub_value({"k": [x_number, 1]}) == {"k": ["1101**********002X", 1]}
