"""The API's error bodies: one shape for every route (and for ``api.checks.CheckRoute``).

Also the Chinese wording of the errors FastAPI and Starlette raise themselves (a path that
does not exist, a body that cannot be parsed, a field that fails validation), so that the
API's bodies and the pages say the same thing in Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xinyong.errors import XinyongError

INTERNAL_ERROR: dict[str, Any] = {
    "error": {"code": "internal", "message": "服务器内部错误，请稍后再试"}
}

# Status codes Starlette raises on its own (routing, body parsing), their code and wording.
HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    # status: (code, heading, message)
    400: ("bad_request", "请求无法处理", "请求体无法解析，请检查提交的内容"),
    401: ("not_authenticated", "请先登录", "请先登录后再访问"),
    403: ("forbidden", "无权访问", "您没有访问该页面的权限"),
    404: ("not_found", "页面不存在", "您访问的页面不存在或已被删除，请检查网址"),
    405: ("method_not_allowed", "请求方式不正确", "该地址不支持此请求方式"),
    413: ("too_large", "提交的内容过大", "提交的内容超过了允许的大小，请缩小文件后重试"),
    422: ("invalid_request", "请求格式不正确", "请求参数不正确，请检查后重试"),
    429: ("too_many_requests", "请求过于频繁", "请求过于频繁，请稍后再试"),
    500: ("internal", "服务器内部错误", "服务器内部错误，请稍后再试"),
    503: ("busy", "系统繁忙", "系统繁忙，请稍后重试"),
}
# The database was busy (another writer held its lock past the bound): come back later.
BUSY_ERROR: dict[str, Any] = {
    "error": {"code": "busy", "message": "系统繁忙，请稍后重试", "details": []}
}
BUSY_RETRY_AFTER = 5  # seconds

HEADINGS: dict[int, str] = {status: heading for status, (_, heading, _) in HTTP_ERRORS.items()}


def error_body(exc: XinyongError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message}}


def http_error(status: int) -> tuple[str, str, str]:
    """Code, heading and message of a status Starlette raised (4xx/5xx without our own)."""
    if status in HTTP_ERRORS:
        return HTTP_ERRORS[status]
    if status >= 500:
        return HTTP_ERRORS[500]
    return (f"http_{status}", "无法完成请求", "无法完成请求")


# pydantic's error types in Chinese; ``{…}`` are filled from the error's ``ctx``.
_REASONS: dict[str, str] = {
    "missing": "必填",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "int_from_float": "须为整数",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "decimal_parsing": "须为数字",
    "bool_parsing": "须为是或否（true/false）",
    "bool_type": "须为是或否（true/false）",
    "string_type": "须为文本",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "date_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "date_type": "须为日期（YYYY-MM-DD）",
    "datetime_parsing": "须为日期时间（YYYY-MM-DDTHH:MM:SS）",
    "datetime_from_date_parsing": "须为日期时间（YYYY-MM-DDTHH:MM:SS）",
    "datetime_type": "须为日期时间（YYYY-MM-DDTHH:MM:SS）",
    "literal_error": "须为以下之一：{expected}",
    "enum": "须为以下之一：{expected}",
    "json_invalid": "JSON 格式不正确",
    "json_type": "须为 JSON",
    "dict_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "list_type": "须为数组",
    "extra_forbidden": "不允许的字段",
    "uuid_parsing": "须为 UUID",
    "url_parsing": "须为网址",
}


def validation_reason(error: Mapping[str, Any]) -> str:
    """One validation error of pydantic, in Chinese."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        # Our own validators raise Chinese text; pydantic prefixes it.
        message = str(error.get("msg", ""))
        return message.removeprefix("Value error, ") or "取值不正确"
    template = _REASONS.get(kind)
    if template is None:
        return "取值不正确"
    try:
        return template.format(**{k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：: ") or "取值不正确"


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """``field``/``reason`` pairs of a RequestValidationError, the reasons in Chinese."""
    return [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())[1:]),
            "reason": validation_reason(e),
        }
        for e in errors
    ]


FIELD_PLACES = {"query": "网址参数", "path": "网址", "body": "提交的内容", "header": "请求头"}


def validation_sentence(errors: Sequence[Mapping[str, Any]]) -> str:
    """The errors as one sentence for a page (parameter names and reasons)."""
    parts = []
    for e in errors[:5]:
        loc = list(e.get("loc", ()))
        place = FIELD_PLACES.get(str(loc[0]), "") if loc else ""
        field = ".".join(str(p) for p in loc[1:])
        if loc and loc[0] == "path":
            # The route's parameter name is internal: name the segment the person typed.
            parts.append(f"网址中的“{str(e.get('input', ''))[:40]}”{validation_reason(e)}")
            continue
        parts.append(f"{place}「{field}」{validation_reason(e)}" if field else validation_reason(e))
    return "；".join(parts)
