"""Placeholder secrets are refused outside demo mode."""

from __future__ import annotations

import base64
import secrets

import pytest

from xinyong.config import Settings, default_secret_problems, refuse_default_secrets, weak_secret
from xinyong.errors import ConfigurationError


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("value", "weak"),
    [
        (b64(b"b" * 32), True),
        (b64(bytes(32)), True),
        (b64(b"change-me-change-me-change-me-32"), True),
        (b64(bytes(range(8)) * 4), True),
        (b64(secrets.token_bytes(32)), False),
    ],
)
def test_weak_secret(value: str, weak: bool) -> None:
    assert weak_secret(value) is weak


def test_refused_outside_demo_accepted_in_demo() -> None:
    weak = b64(b"b" * 32)
    strong = b64(secrets.token_bytes(32))
    production = Settings(demo=False, blind_index_key=weak, encryption_key=strong)
    assert default_secret_problems(production) == ["XINYONG_BLIND_INDEX_KEY"]
    with pytest.raises(ConfigurationError, match="XINYONG_BLIND_INDEX_KEY"):
        refuse_default_secrets(production)
    refuse_default_secrets(Settings(demo=True, blind_index_key=weak, encryption_key=strong))
    refuse_default_secrets(
        Settings(demo=False, blind_index_key=strong, encryption_key=b64(secrets.token_bytes(32)))
    )


def test_app_refuses_to_start_with_placeholder_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    from xinyong.config import get_settings
    from xinyong.web.app import create_app

    monkeypatch.setenv("XINYONG_DEMO", "0")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigurationError):
            create_app()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
