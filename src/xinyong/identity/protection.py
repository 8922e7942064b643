"""Protection of identity numbers at rest: keyed blind index for lookup, AES-GCM for the value.

A database dump shows neither: the blind index is an HMAC under a key the database never
holds, and the ciphertext is bound to its blind index as associated data so that two rows'
ciphertexts cannot be swapped unnoticed.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from xinyong.config import Keys, Settings, get_settings, load_keys

BLIND_INDEX_HEX = 32  # 128 bits: no collision in any realistic population


class IdentityProtector:
    def __init__(self, keys: Keys) -> None:
        self.keys = keys  # for a worker process to build its own (measures.batch)
        self._mac_key = keys.blind_index
        self._aead = AESGCM(keys.encryption)
        self._cache: dict[tuple[str, str], str] = {}

    def blind_index(self, id_type: str, number: str) -> str:
        """Deterministic lookup key for (certificate type, number)."""
        key = (id_type, number)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        msg = f"{id_type}\x1f{number}".encode()
        digest = hmac.new(self._mac_key, msg, hashlib.sha256).hexdigest()[:BLIND_INDEX_HEX]
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = digest
        return digest

    def encrypt(self, value: str, blind_index: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, value.encode(), blind_index.encode())

    def decrypt(self, token: bytes, blind_index: str) -> str:
        return self._aead.decrypt(token[:12], token[12:], blind_index.encode()).decode()

    def encrypt_text(self, value: str, context: str) -> bytes:
        """Encrypt any sensitive text (e.g. a rejected row kept for the error file)."""
        return self.encrypt(value, context)

    def encrypt_bytes(self, data: bytes, context: str) -> bytes:
        """Encrypt a sensitive file (e.g. an issued credit report), bound to ``context``."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, context.encode())

    def decrypt_bytes(self, token: bytes, context: str) -> bytes:
        return self._aead.decrypt(token[:12], token[12:], context.encode())


def protector_for(settings: Settings | None = None) -> IdentityProtector:
    """The protector of the configured keys (``XINYONG_*_KEY``)."""
    return IdentityProtector(load_keys(settings or get_settings()))
