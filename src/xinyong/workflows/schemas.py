"""What the API answers about the case workflows (异议, 信用修复, 信用承诺, 举报, 通知, 约谈):
the shapes of the services' ``…_as_dict`` answers, field for field, in their order."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EvidenceRead(BaseModel):
    """An evidence file (证明材料) attached to a case; download it from ``/evidence/{id}``."""

    id: int
    filename: str
    content_type: str | None
    size: int
    sha256: str


class TransitionRead(BaseModel):
    """One step of a case's history: who moved it from which state to which, and why."""

    model_config = ConfigDict(populate_by_name=True)

    action: str
    from_: str | None = Field(alias="from")
    to: str
    actor: str
    role: str | None
    at: str
    reason: str | None


class ObjectionRead(BaseModel):
    """An objection (异议) to a record, with what its reader may do next."""

    id: int
    record_id: int
    subject_id: int
    department_id: int
    document_number: str | None
    item_name: str | None
    record_state: str | None
    state: str
    state_name: str
    reason: str
    filed_on: str
    mark_by: str
    decide_by: str
    provisional: bool = Field(description="暂定：期限跨越尚未载入国务院安排的年份")
    decided_on: str | None
    decision_reason: str | None
    corrections: dict[str, Any] | None
    actions: list[str]
    evidence: list[EvidenceRead]
    history: list[TransitionRead]


class ReviewOutcomeRead(BaseModel):
    record_id: int
    state: str
    version: int


class RepairApplicationRead(BaseModel):
    """A credit repair application (信用修复申请), with what its reader may do next."""

    id: int
    record_id: int
    subject_id: int
    department_id: int
    document_number: str | None
    record_state: str | None
    method: str
    method_name: str
    statement: str
    commitment_id: int | None
    state: str
    state_name: str
    submitted_on: str
    decide_by: str
    provisional: bool = Field(description="暂定：期限跨越尚未载入国务院安排的年份")
    department_reason: str | None
    decided_on: str | None
    decision_reason: str | None
    actions: list[str]
    evidence: list[EvidenceRead]
    history: list[TransitionRead]


class CommitmentRead(BaseModel):
    """A credit commitment (信用承诺) and its assessment."""

    id: int
    code: str
    subject_id: int
    kind: str
    kind_name: str
    matter: str
    business_ref: str | None
    department_id: int | None
    record_id: int | None
    state: str
    state_name: str
    signed_on: str
    due_on: str | None
    assessed_on: str | None
    assessment: str | None
    breach_record_id: int | None
    history: list[TransitionRead]


class TipoffTrackRead(BaseModel):
    """What the person who reported (举报) may see of the case with the tracking code."""

    state: str
    state_name: str
    submitted_at: str
    department: str | None
    reply: str | None
    closed_at: str | None


class TipoffSubmittedRead(BaseModel):
    tracking_code: str = Field(description="查询码：仅此一次返回，请妥善保存")
    state: str
    state_name: str
    submitted_at: str
    department: str | None
    reply: str | None
    closed_at: str | None


class TipoffRead(BaseModel):
    """A tip-off (举报) as the office or the department handling it sees it."""

    id: int
    about: str
    domain: str | None
    content: str
    department_id: int | None
    state: str
    state_name: str
    reply: str | None
    submitted_at: str
    attachments: list[EvidenceRead]
    history: list[TransitionRead]


class NoticeRead(BaseModel):
    """A notice (通知) in the person's inbox."""

    id: int
    kind: str
    title: str
    body: str
    record_id: int | None
    created_at: str
    read: bool


class MarkedRead(BaseModel):
    marked: int = Field(description="标为已读的通知数")


class InterviewRecordedRead(BaseModel):
    id: int
    subject_id: int


class InterviewOutcomeRead(BaseModel):
    id: int
    outcome: str | None


class MissingRead(BaseModel):
    """A condition of credit repair not met yet."""

    code: str
    message: str
    until: str | None = Field(description="到期即自动满足的日期（如已知）")
    at_application: bool = Field(description="可在申请时一并满足（如作出信用修复承诺）")


class RepairEligibilityRead(BaseModel):
    """Whether a record may be repaired on ``on``; if not, from when and what is missing."""

    record_id: int
    item_name: str
    document_number: str
    grade: str | None
    state: str
    decision_date: str
    display_until: str | None
    on: str
    eligible: bool
    eligible_from: str | None
    missing: list[MissingRead]


class RepairOptionRead(BaseModel):
    """One negative record of the person and whether it may be repaired now."""

    record_id: int
    item_name: str
    document_number: str
    grade: str | None
    state: str
    decision_date: str
    eligible: bool
    eligible_from: str | None
    missing: list[MissingRead]


class InterviewRead(BaseModel):
    """A credit interview (约谈) of a subject."""

    id: int
    subject_id: int
    held_at: str
    place: str | None
    attendees: str | None
    reason: str | None
    outcome: str | None
    record_id: int | None
    recorded_by: str | None
