"""Security headers on every response (a plain ASGI middleware: cheap on the hot path).

- ``Content-Security-Policy``: scripts only from the platform itself, never inline; no
  plugins, no framing, forms post only to the platform. Styles may be inline because the
  base template carries its small stylesheet in the page (no script can be injected
  through a style). The API documentation page (Swagger UI) loads its script and styles
  from a CDN and starts with an inline script, so it gets a policy of its own.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (older browsers' form of
  ``frame-ancestors 'none'``), ``Referrer-Policy: no-referrer``, ``Permissions-Policy``.
- ``Strict-Transport-Security`` on HTTPS requests only (an HSTS header over plain HTTP is
  ignored by browsers and would be misleading).
- ``Cache-Control: no-store`` on API answers and pages that may carry personal data, unless
  the handler set its own caching.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/api/docs", "/api/docs/oauth2-redirect", "/api/redoc")
HSTS = "max-age=31536000; includeSubDomains"

_COMMON: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_PUBLIC_CACHEABLE = ("/static/", "/healthz")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"
        csp = DOCS_CSP if path in DOCS_PATHS else CSP
        no_store = not path.startswith(_PUBLIC_CACHEABLE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [h for h in _COMMON if h[0] not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", csp.encode()))
                if https:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                if no_store and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimit:
    """Refuses request bodies over ``limit`` bytes before anything spools them to disk.

    A declared ``Content-Length`` over the limit is answered 413 at once; a body sent
    without one (chunked) is counted as it arrives and cut off at the limit. Without this,
    the multipart parser would write any upload to a temporary file before the handler's
    own size check ran."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(send, self.limit, scope, receive)
                return
        seen = 0
        tripped = False
        started = False

        async def counted() -> Message:
            nonlocal seen, tripped
            if tripped:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # The app sees the client gone and stops reading; it answers nothing.
                    tripped = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if tripped:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not tripped:
                raise
        if tripped and not started:
            await _too_large(send, self.limit, scope, receive)


def _message(limit: int) -> str:  # Chinese, as every error
    return f"请求内容超过 {limit // (1 << 20)} MB 上限"


async def _too_large(
    send: Send, limit: int, scope: Scope | None = None, receive: Receive | None = None
) -> None:
    import json

    if scope is not None and receive is not None and not scope["path"].startswith("/api/"):
        # A page URL: the site's Chinese error page (the API keeps its JSON shape).
        from starlette.requests import Request

        from xinyong.web.pages.common import render

        page = render(
            Request(scope),
            "error.html",
            None,
            413,
            status=413,
            heading="提交的内容过大",
            message=_message(limit) + "，请缩小文件后重试",
        )
        page.headers["connection"] = "close"
        await page(scope, receive, send)
        return

    body = json.dumps(
        {"error": {"code": "too_large", "message": _message(limit)}}, ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
