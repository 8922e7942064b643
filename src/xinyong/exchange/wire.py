"""The exchange protocol (共享交换) between a platform and the one above it.

A lower platform POSTs batches of changes to ``/api/v1/exchange/changes``. Every change
carries an idempotency key (``source:outbox-id:part``); the receiver applies each key at
most once and answers with the keys it holds, so the sender can advance its watermark.
A sender that crashes or loses the answer resends from its watermark: keys already held
are acknowledged without being applied again. Identity numbers travel only inside the
request body over the wire (TLS in production), never in URLs, logs or the outbox.

National lists travel the other way with the same record shape: a lower platform GETs
``/api/v1/exchange/lists?after=<cursor>`` and receives a page of list entries in the upper
platform's feed order (``ListPage``), each with the record behind it and the entry's state
(listed / ended). ``parse_list_page`` is the one place the lower platform reads a page.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from xinyong.errors import XinyongError

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


# -- national lists pulled from the upper platform (名单下发) -------------------------------

ListKindName = Literal["black", "red", "watch"]
PAGE_LIMIT = 500


class WireListEntry(BaseModel):
    """One list entry as the upper platform holds it now. ``seq`` is its place in the feed;
    the same entry appears again, later in the feed, each time its state changes."""

    seq: int = Field(ge=1)
    entry_id: int = Field(ge=1, description="上级平台的名单条目号")
    status: Literal["listed", "ended"]
    list_kind: ListKindName
    reasons: str = Field(max_length=5000)
    basis: str = Field(max_length=5000)
    start_date: str | None = Field(default=None, max_length=10)
    end_date: str | None = Field(default=None, max_length=10)
    ended_on: str | None = Field(default=None, max_length=10)
    end_reason: str | None = Field(default=None, max_length=32)
    record: WireRecord


class ListPage(BaseModel):
    source: str = Field(min_length=1, max_length=32, description="上级平台代码")
    entries: list[WireListEntry] = Field(max_length=PAGE_LIMIT)
    next_after: int = Field(ge=0, description="下一页的游标（本页最后一个序号）")
    more: bool = Field(description="游标之后是否还有条目")


class BadListPage(XinyongError):
    code = "exchange_bad_page"
    http_status = 502


def parse_list_page(raw: bytes, after: int) -> ListPage:
    """A page as the upper platform answered it, checked before anything is applied: valid
    JSON of the right shape, entries in strictly increasing feed order after the cursor
    asked for, and a next cursor that does not go backwards or skip past its entries."""
    try:
        page = ListPage.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        raise BadListPage("上级平台返回的名单数据格式不正确") from exc
    last = after
    for entry in page.entries:
        if entry.seq <= last:
            raise BadListPage(f"上级平台返回的名单序号未递增（第 {entry.seq} 号）")
        last = entry.seq
    if page.next_after < last or (page.next_after == after and page.more):
        raise BadListPage("上级平台返回的下一页游标不正确")
    return page
