"""Domain errors. Each carries a stable code for machines and a Chinese message for people.

The web layer maps them to HTTP statuses in one place (``xinyong.web.app``); the CLI
prints the message and exits non-zero.
"""

from __future__ import annotations

from typing import TypeVar


class XinyongError(Exception):
    code = "error"
    http_status = 400
    # The work done before the error stands although the request fails (a refused query's
    # audit trail, a failed login's count): the web's unit of work (web.deps.get_session)
    # commits it instead of rolling back. Set with ``keep_work``.
    work_kept = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


_E = TypeVar("_E", bound=XinyongError)


def keep_work(exc: _E) -> _E:
    """``exc``, marked so that the transaction's work so far is committed, not rolled back."""
    exc.work_kept = True
    return exc


class ConfigurationError(XinyongError):
    code = "configuration"
    http_status = 500


class InvalidInput(XinyongError):
    code = "invalid_input"
    http_status = 422


class NotFound(XinyongError):
    code = "not_found"
    http_status = 404


class Unauthorized(XinyongError):
    code = "unauthorized"
    http_status = 401


class Forbidden(XinyongError):
    code = "forbidden"
    http_status = 403


class Conflict(XinyongError):
    code = "conflict"
    http_status = 409


class TooManyRequests(XinyongError):
    """A rate limit was hit; ``retry_after`` seconds until the next attempt may pass."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class InvalidTransition(Conflict):
    code = "invalid_transition"


class UnreadableFile(InvalidInput):
    """The whole file cannot be read: wrong format, encoding, truncated, encrypted."""

    code = "unreadable_file"
