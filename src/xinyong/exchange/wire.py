"""The exchange protocol (共享交换) between a platform and the one above it.

A lower platform POSTs batches of changes to ``/api/v1/exchange/changes``. Every change
carries an idempotency key (``source:outbox-id:part``); the receiver applies each key at
most once and answers with the keys it holds, so the sender can advance its watermark.
A sender that crashes or loses the answer resends from its watermark: keys already held
are acknowledged without being applied again. Identity numbers travel only inside the
request body over the wire (TLS in production), never in URLs, logs or the outbox.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ChangeKind = Literal["record:upsert", "record:repaired", "record:revoked", "record:corrected"]


class WireSubject(BaseModel):
    kind: Literal["person", "organisation"]
    id_type: str = Field(max_length=32)
    id_number: str = Field(max_length=64)
    name: str = Field(max_length=200)


class WireRecord(BaseModel):
    item_code: str = Field(max_length=64)
    document_number: str = Field(max_length=200)
    decision_date: str = Field(max_length=10)
    behaviour: str | None = Field(default=None, max_length=500)
    grade: str | None = Field(default=None, max_length=32)
    state: str = Field(max_length=16)
    version: int = Field(ge=1, le=1_000_000)
    facts: dict[str, Any] = Field(default_factory=dict)
    subject: WireSubject


class WireChange(BaseModel):
    key: str = Field(min_length=1, max_length=128)
    kind: ChangeKind
    record: WireRecord


class ChangeBatch(BaseModel):
    source: str = Field(min_length=1, max_length=32, description="下级平台代码")
    changes: list[WireChange] = Field(max_length=1000)


class ChangeOutcome(BaseModel):
    key: str
    status: Literal["applied", "duplicate", "rejected"]
    detail: str | None = None


class BatchAnswer(BaseModel):
    applied: int
    duplicates: int
    rejected: int
    outcomes: list[ChangeOutcome]


def as_row(record: WireRecord) -> dict[str, str]:
    """The change as a row of the generic submission format, so the receiver validates it
    with the same rules as any department's submission."""
    row = {
        "item_code": record.item_code,
        "subject_name": record.subject.name,
        "id_type": record.subject.id_type,
        "document_number": record.document_number,
        "decision_date": record.decision_date,
    }
    if record.subject.kind == "organisation":
        row["credit_code"] = record.subject.id_number
    else:
        row["id_number"] = record.subject.id_number
    if record.behaviour:
        row["behaviour"] = record.behaviour
    if record.grade:
        row["grade"] = record.grade
    for name, value in record.facts.items():
        if isinstance(value, list):
            row[name] = "；".join(str(v) for v in value)
        elif value is not None:
            row[name] = str(value)
    return row
