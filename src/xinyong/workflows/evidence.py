"""Evidence files (证明材料) and tip-off attachments: size and type checked, kept as bytes
named by their SHA-256 so the same file uploaded twice is recognisable."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor
from xinyong.config import get_settings
from xinyong.errors import InvalidInput
from xinyong.workflows.models import EvidenceFile

MAX_FILES = 10

# Recognised by their first bytes, never by the name the uploader gave.
_SIGNATURES: tuple[tuple[bytes, str, frozenset[str]], ...] = (
    (b"%PDF-", "application/pdf", frozenset({".pdf"})),
    (b"\x89PNG\r\n\x1a\n", "image/png", frozenset({".png"})),
    (b"\xff\xd8\xff", "image/jpeg", frozenset({".jpg", ".jpeg"})),
    (
        b"PK\x03\x04",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        frozenset({".docx"}),
    ),
)
ALLOWED_TYPES_TEXT = "PDF、PNG、JPG 或 DOCX"


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content: bytes


def sniff(filename: str, content: bytes) -> str:
    """The content type of an accepted file; a clear Chinese refusal otherwise."""
    limit = get_settings().evidence_max_bytes
    if not content:
        raise InvalidInput(f"文件“{_safe_name(filename)}”为空", code="evidence_empty")
    if len(content) > limit:
        raise InvalidInput(
            f"文件“{_safe_name(filename)}”超过大小上限 {limit // (1024 * 1024) or 1} MB",
            code="evidence_too_large",
        )
    suffix = PurePath(filename).suffix.lower()
    for magic, content_type, suffixes in _SIGNATURES:
        if content.startswith(magic) and (magic != b"PK\x03\x04" or suffix in suffixes):
            return content_type
    raise InvalidInput(
        f"文件“{_safe_name(filename)}”类型不支持，仅接受 {ALLOWED_TYPES_TEXT}",
        code="evidence_type",
    )


def _safe_name(filename: str) -> str:
    return PurePath(filename.replace("\\", "/")).name[:100] or "未命名"


def store_evidence(
    session: Session, actor: Actor, owner_kind: str, owner_id: int, uploads: list[Upload]
) -> list[EvidenceFile]:
    if len(uploads) > MAX_FILES:
        raise InvalidInput(f"证明材料最多 {MAX_FILES} 个文件", code="evidence_too_many")
    checked = [(u, sniff(u.filename, u.content)) for u in uploads]
    rows = []
    for upload, content_type in checked:
        row = EvidenceFile(
            owner_kind=owner_kind,
            owner_id=owner_id,
            filename=_safe_name(upload.filename),
            content_type=content_type,
            size=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(),
            content=upload.content,
            uploaded_by=actor.name[:200],
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def evidence_of(session: Session, owner_kind: str, owner_id: int) -> list[EvidenceFile]:
    return list(
        session.scalars(
            select(EvidenceFile)
            .where(EvidenceFile.owner_kind == owner_kind, EvidenceFile.owner_id == owner_id)
            .order_by(EvidenceFile.id)
        )
    )


def evidence_as_dicts(rows: list[EvidenceFile]) -> list[dict[str, object]]:
    return [
        {
            "id": e.id,
            "filename": e.filename,
            "content_type": e.content_type,
            "size": e.size,
            "sha256": e.sha256,
        }
        for e in rows
    ]
