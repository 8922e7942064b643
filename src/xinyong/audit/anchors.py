"""Signed anchors (锚点): the chain head, signed with Ed25519 and kept outside the database.

An anchor file says "on this date the chain's event N had hash H", signed with a key the
database never holds. Whoever rewrites the chain — even a superuser recomputing every
hash — cannot make the chain agree with an anchor taken before the rewrite, nor forge a
new anchor without the signing key. Anchors are verified with the public key from
configuration, never with a key found next to them.

File: ``anchor-<seq, 12 digits>-<UTC time>.json`` holding
``{"payload": {"seq", "hash", "signed_at", "key_id"}, "signature": base64}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from xinyong.audit.chain import AnchorPoint, canonical_json
from xinyong.config import Settings, read_key_file
from xinyong.errors import ConfigurationError, InvalidInput


@dataclass(frozen=True)
class KeyPair:
    private: str  # base64 raw 32 bytes
    public: str  # base64 raw 32 bytes


def generate_key_pair() -> KeyPair:
    key = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return KeyPair(base64.b64encode(private).decode(), base64.b64encode(public).decode())


def _decode(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ConfigurationError(f"{name} 不是有效的 Base64 编码") from exc
    if len(raw) != 32:
        raise ConfigurationError(f"{name} 长度不正确（需要 32 字节）")
    return raw


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    value = settings.audit_signing_key
    if not value and settings.is_sqlite:
        value = read_key_file(settings).get("audit_signing_key")
    if not value:
        raise ConfigurationError(
            "未配置审计锚点签名密钥 XINYONG_AUDIT_SIGNING_KEY（可用 xinyong audit keygen 生成）"
        )
    return Ed25519PrivateKey.from_private_bytes(_decode(value, "XINYONG_AUDIT_SIGNING_KEY"))


def public_key(settings: Settings, override: str | None = None) -> Ed25519PublicKey:
    value = override or settings.audit_public_key
    if value:
        return Ed25519PublicKey.from_public_bytes(_decode(value, "XINYONG_AUDIT_PUBLIC_KEY"))
    return signing_key(settings).public_key()


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def write_anchor(
    directory: Path, key: Ed25519PrivateKey, seq: int, chain_hash: str, now: dt.datetime
) -> Path:
    payload = {
        "seq": seq,
        "hash": chain_hash,
        "signed_at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "key_id": key_id(key.public_key()),
    }
    signature = key.sign(canonical_json(payload).encode("utf-8"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"anchor-{seq:012d}-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    data = {"payload": payload, "signature": base64.b64encode(signature).decode()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_anchors(directory: Path, key: Ed25519PublicKey) -> list[AnchorPoint]:
    """Every anchor in ``directory``, each signature checked; InvalidInput on a bad one."""
    if not directory.is_dir():
        raise InvalidInput(f"锚点目录 {directory} 不存在", code="anchors_missing")
    points = []
    for path in sorted(directory.glob("anchor-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            payload = data["payload"]
            signature = base64.b64decode(data["signature"], validate=True)
            key.verify(signature, canonical_json(payload).encode("utf-8"))
            points.append(
                AnchorPoint(
                    int(payload["seq"]), str(payload["hash"]), payload["signed_at"], path.name
                )
            )
        except InvalidSignature as exc:
            raise InvalidInput(
                f"锚点 {path.name} 的签名无效（锚点被篡改或不是用本平台的密钥签名）",
                code="anchor_signature",
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"锚点 {path.name} 格式不正确", code="anchor_format") from exc
    return points


def latest_anchor(directory: Path, key: Ed25519PublicKey) -> AnchorPoint | None:
    """The newest anchor of this key's series in ``directory`` (None when there is none),
    its signature checked; InvalidInput when it is forged or unreadable."""
    if not directory.is_dir():
        return None
    ours = key_id(key)
    for path in sorted(directory.glob("anchor-*.json"), reverse=True):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            payload = data["payload"]
            if payload.get("key_id") != ours:
                continue  # an earlier key's series (after a key rotation)
            signature = base64.b64decode(data["signature"], validate=True)
            key.verify(signature, canonical_json(payload).encode("utf-8"))
            return AnchorPoint(
                int(payload["seq"]), str(payload["hash"]), payload["signed_at"], path.name
            )
        except InvalidSignature as exc:
            raise InvalidInput(
                f"锚点 {path.name} 的签名无效（锚点被篡改或不是用本平台的密钥签名）",
                code="anchor_signature",
            ) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"锚点 {path.name} 格式不正确", code="anchor_format") from exc
    return None
