"""Pushing the outbox to the upper platform: incremental, resumable, exactly once in effect.

The watermark (``exchange_state``) is the last outbox row whose every change the upper
platform has acknowledged. It advances only after the acknowledgement, in its own
transaction; a crash or a lost answer leaves it behind, and the next run resends from
there: the upper platform recognises the keys it already holds.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import SYSTEM
from xinyong.audit.services import record_event
from xinyong.catalog.models import Department
from xinyong.db import utcnow
from xinyong.errors import XinyongError
from xinyong.exchange.models import ExchangeOutbox, ExchangeState
from xinyong.exchange.wire import (
    BatchAnswer,
    ChangeBatch,
    ChangeKind,
    WireChange,
    WireRecord,
    WireSubject,
)
from xinyong.identity.protection import IdentityProtector
from xinyong.records.models import Record
from xinyong.subjects.models import Subject
from xinyong.subjects.services import reveal_number

PUSH_STREAM = "push:upper"
UPPER_PREFIX = "UP-"  # departments standing for an upper platform (records pulled from it)
SLICE = 500
KIND_OF: dict[str, ChangeKind] = {
    "record:repaired": "record:repaired",
    "record:revoked": "record:revoked",
    "record:corrected": "record:corrected",
}

Sender = Callable[[ChangeBatch], BatchAnswer]


class ExchangeFailed(XinyongError):
    code = "exchange_failed"
    http_status = 502


@dataclass
class PushResult:
    requests: int = 0
    changes: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    watermark: int = 0
    finished: bool = False


def watermark(session: Session, stream: str = PUSH_STREAM) -> int:
    state = session.get(ExchangeState, stream)
    return state.watermark if state else 0


def _set_watermark(session: Session, value: int, stream: str = PUSH_STREAM) -> None:
    state = session.get(ExchangeState, stream)
    if state is None:
        session.add(ExchangeState(stream=stream, watermark=value, updated_at=utcnow()))
    else:
        state.watermark = value
        state.updated_at = utcnow()


def wire_record(protector: IdentityProtector, record: Record, subject: Subject) -> WireRecord:
    return WireRecord(
        item_code=record.item_code,
        document_number=record.document_number,
        decision_date=record.decision_date.isoformat(),
        behaviour=record.behaviour,
        grade=record.grade,
        state=record.state,
        version=record.version,
        facts=record.facts,
        subject=WireSubject(
            kind="organisation" if subject.kind == "organisation" else "person",
            id_type=subject.id_type,
            id_number=reveal_number(protector, subject),
            name=subject.name,
        ),
    )


def changes_of(
    session: Session, protector: IdentityProtector, source: str, row: ExchangeOutbox
) -> Iterator[WireChange]:
    """The wire changes one outbox row stands for (a submission batch: its records).

    Records pulled from an upper platform are never sent back up (no echo): the upper
    platform holds them already and would not find them under this platform's name."""
    pulled = select(Department.id).where(Department.code.startswith(UPPER_PREFIX))
    if row.kind == "batch:merged":
        query = (
            select(Record, Subject)
            .join(Subject, Subject.id == Record.subject_id)
            .where(
                Record.batch_id == int(row.payload["batch_id"]),
                Record.department_id.not_in(pulled),
            )
            .order_by(Record.id)
            .execution_options(yield_per=SLICE)
        )
        for record, subject in session.execute(query):
            yield WireChange(
                key=f"{source}:{row.id}:{record.id}:v{record.version}",
                kind="record:upsert",
                record=wire_record(protector, record, subject),
            )
    elif row.kind in KIND_OF and row.entity == "record":
        changed = session.get(Record, row.entity_id)
        upper = set(session.scalars(pulled))
        if changed is not None and changed.department_id not in upper:
            owner = session.get(Subject, changed.subject_id)
            assert owner is not None
            yield WireChange(
                key=f"{source}:{row.id}",
                kind=KIND_OF[row.kind],
                record=wire_record(protector, changed, owner),
            )


def _slices(changes: Iterator[WireChange]) -> Iterator[list[WireChange]]:
    chunk: list[WireChange] = []
    for change in changes:
        chunk.append(change)
        if len(chunk) == SLICE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def push(
    factory: Callable[[], Session],
    protector: IdentityProtector,
    send: Sender,
    source: str,
    *,
    max_requests: int | None = None,
    counterpart: str = "upper",
) -> PushResult:
    """Send every outbox row after the watermark, oldest first. Stops early (resumable)
    after ``max_requests`` requests; raises ExchangeFailed when the upper platform fails."""
    result = PushResult()
    with factory() as session:
        result.watermark = watermark(session)
        rows = list(
            session.scalars(
                select(ExchangeOutbox)
                .where(ExchangeOutbox.id > result.watermark)
                .order_by(ExchangeOutbox.id)
            )
        )
        for row in rows:
            for chunk in _slices(changes_of(session, protector, source, row)):
                if max_requests is not None and result.requests >= max_requests:
                    return result
                answer = send(ChangeBatch(source=source, changes=chunk))
                result.requests += 1
                acknowledged = {o.key for o in answer.outcomes}
                missing = [c.key for c in chunk if c.key not in acknowledged]
                if missing:
                    raise ExchangeFailed(f"上级平台未确认 {len(missing)} 条变更，稍后重试")
                result.changes += len(chunk)
                result.applied += answer.applied
                result.duplicates += answer.duplicates
                result.rejected += answer.rejected
                # Committed with the watermark below: a batch whose acknowledgement is
                # not recorded is sent (and audited) again.
                record_event(session, SYSTEM, "exchange:batch:pushed", target_type="exchange_stream", target_id=PUSH_STREAM, details={"counterpart": counterpart, "source": source, "outbox_id": row.id, "changes": len(chunk), "applied": answer.applied, "duplicates": answer.duplicates, "rejected": answer.rejected, "watermark": row.id})  # fmt: skip
            row.sent_at = utcnow()
            _set_watermark(session, row.id)
            session.commit()
            result.watermark = row.id
        result.finished = True
    return result


def http_sender(base_url: str, api_key: str, timeout: float = 30.0) -> Sender:
    """POST each batch to the upper platform's ``/api/v1/exchange/changes``."""
    url = base_url.rstrip("/") + "/api/v1/exchange/changes"

    def send(batch: ChangeBatch) -> BatchAnswer:
        request = urllib.request.Request(
            url,
            data=batch.model_dump_json().encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return BatchAnswer.model_validate(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            raise ExchangeFailed(f"上级平台拒绝了推送（HTTP {exc.code}）") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ExchangeFailed("无法连接上级平台，稍后重试") from exc

    return send
