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
    chain = b64(secrets.token_bytes(32))  # the suite's environment holds a placeholder
    production = Settings(
        demo=False, blind_index_key=weak, encryption_key=strong, audit_chain_key=chain
    )
    assert default_secret_problems(production) == ["XINYONG_BLIND_INDEX_KEY"]
    with pytest.raises(ConfigurationError, match="XINYONG_BLIND_INDEX_KEY"):
        refuse_default_secrets(production)
    refuse_default_secrets(Settings(demo=True, blind_index_key=weak, encryption_key=strong))
    refuse_default_secrets(
        Settings(
            demo=False,
            blind_index_key=strong,
            encryption_key=b64(secrets.token_bytes(32)),
            audit_chain_key=chain,
        )
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


def test_the_key_file_holds_an_audit_chain_key_and_an_old_one_gets_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from xinyong.config import create_key_file, load_chain_keys

    embedded = f"sqlite:///{tmp_path / 'x.sqlite3'}"  # the key file is the embedded default's
    settings = Settings(home=tmp_path, database_url=embedded, audit_chain_key=None)
    assert create_key_file(settings) is True
    data = json.loads(settings.key_file.read_text(encoding="utf-8"))
    key, previous = load_chain_keys(settings)
    assert len(key) == 32 and previous == () and data["audit_chain_key"]
    # A key file from before the keyed chain: the key is added, nothing else changes.
    old = {k: v for k, v in data.items() if k != "audit_chain_key"}
    settings.key_file.write_text(json.dumps(old), encoding="utf-8")
    assert create_key_file(settings) is True
    again = json.loads(settings.key_file.read_text(encoding="utf-8"))
    assert {k: again[k] for k in old} == old and again["audit_chain_key"] != data["audit_chain_key"]
    assert create_key_file(settings) is False  # never overwrites a key
    # Configured keys win; earlier keys come oldest first; a placeholder is refused outside demo.
    a, b = b64(secrets.token_bytes(32)), b64(secrets.token_bytes(32))
    configured = Settings(home=tmp_path, audit_chain_key=b, audit_chain_previous_keys=a)
    assert load_chain_keys(configured) == (base64.b64decode(b), (base64.b64decode(a),))
    weak = Settings(demo=False, audit_chain_key=b64(b"c" * 32))
    assert "XINYONG_AUDIT_CHAIN_KEY" in default_secret_problems(weak)


def test_one_search_limit_under_both_documented_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """XINYONG_PORTAL_SEARCHES_PER_MINUTE, or the RATE_ family's name README gave it."""
    assert Settings().portal_searches_per_minute == 30
    monkeypatch.setenv("XINYONG_RATE_SEARCH_PER_MINUTE", "7")
    assert Settings().portal_searches_per_minute == 7
    monkeypatch.setenv("XINYONG_PORTAL_SEARCHES_PER_MINUTE", "8")
    assert Settings().portal_searches_per_minute == 8
    assert Settings(portal_searches_per_minute=4).portal_searches_per_minute == 4
    assert not hasattr(Settings(), "rate_search_per_minute")
    assert not hasattr(Settings(), "rate_tipoff_per_minute")
    assert not hasattr(Settings(), "audit_enabled")
