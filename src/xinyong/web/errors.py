"""The API's error bodies: one shape for every route (and for ``api.checks.CheckRoute``)."""

from __future__ import annotations

from typing import Any

from xinyong.errors import XinyongError

INTERNAL_ERROR: dict[str, Any] = {
    "error": {"code": "internal", "message": "服务器内部错误，请稍后再试"}
}


def error_body(exc: XinyongError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message}}
