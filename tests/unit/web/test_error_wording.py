"""The errors FastAPI and Starlette raise themselves, in Chinese, in the API's shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import assume, given
from hypothesis import strategies as st
from starlette.exceptions import HTTPException

from xinyong.web.errors import HTTP_ERRORS, validation_details, validation_reason


@pytest.fixture()
def client(session: object) -> Iterator[TestClient]:
    from xinyong.web.app import create_app

    app: FastAPI = create_app()

    def unparsable() -> None:
        # What FastAPI raises when a body cannot be parsed.
        raise HTTPException(status_code=400, detail="There was an error parsing the body")

    app.add_api_route("/api/v1/_probe", unparsable, methods=["POST"])
    app.add_api_route("/_probe", unparsable, methods=["POST"])
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def test_a_body_parse_error_is_chinese_in_the_api_and_a_page_elsewhere(client: TestClient) -> None:
    api = client.post("/api/v1/_probe")
    assert api.status_code == 400
    assert api.json() == {"error": {"code": "bad_request", "message": HTTP_ERRORS[400][2]}}
    page = client.post("/_probe")
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "请求无法处理" in page.text and "There was an error" not in page.text


def test_a_wrong_method_keeps_its_allow_header(client: TestClient) -> None:
    resp = client.delete("/api/v1/catalog/items")
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"
    assert "allow" in {k.lower() for k in resp.headers}


def test_pydantic_reasons_in_chinese() -> None:
    assert (
        validation_reason({"type": "missing", "loc": ("body", "x"), "msg": "Field required"})
        == "必填"
    )
    assert (
        validation_reason({"type": "string_too_long", "ctx": {"max_length": 100}, "msg": "…"})
        == "长度不能超过 100 个字符"
    )
    assert validation_reason({"type": "value_error", "msg": "Value error, 日期格式不正确"}) == (
        "日期格式不正确"
    )
    details = validation_details(
        [
            {
                "type": "int_parsing",
                "loc": ("query", "page"),
                "msg": "Input should be a valid integer",
            }
        ]
    )
    assert details == [{"field": "page", "reason": "须为整数"}]


@given(
    st.text(min_size=1, max_size=30),
    st.dictionaries(
        st.sampled_from(["max_length", "min_length", "ge", "le", "gt", "lt", "expected"]),
        st.integers(),
    ),
)
def test_any_error_type_gets_a_chinese_reason_never_the_english_text(
    kind: str, ctx: dict[str, int]
) -> None:
    assume(kind != "value_error")  # our own validators' text, Chinese already
    reason = validation_reason({"type": kind, "ctx": ctx, "msg": "Input should be English"})
    assert reason and "English" not in reason and "{" not in reason
