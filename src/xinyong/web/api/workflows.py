"""The person's remedies and the office's workflows: objections (异议), credit repair
(信用修复), commitments (信用承诺), tip-offs (举报), the notice inbox and interviews (约谈).

Evidence travels inside the JSON body (base64), so that filing and its evidence are one
request and one transaction."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from xinyong.accounts.permissions import PERMISSION_DENIED, Permission
from xinyong.actors import Actor, Role
from xinyong.cases import read_evidence
from xinyong.commitments import services as commitments
from xinyong.config import get_settings
from xinyong.errors import Forbidden, InvalidInput
from xinyong.notices import interviews
from xinyong.notices import services as notices
from xinyong.notices.models import Notice
from xinyong.objections import services as objections
from xinyong.repair import services as repair
from xinyong.tipoffs import services as tipoffs
from xinyong.web.deps import ActorDep, PathId, PersonDep, SessionDep, permission
from xinyong.web.ratelimit import client_address, limiter, rate_limit
from xinyong.workflows.evidence import Upload
from xinyong.workflows.schemas import (
    CommitmentRead,
    InterviewOutcomeRead,
    InterviewRead,
    InterviewRecordedRead,
    MarkedRead,
    NoticeRead,
    ObjectionRead,
    RepairApplicationRead,
    RepairEligibilityRead,
    RepairOptionRead,
    ReviewOutcomeRead,
    TipoffRead,
    TipoffSubmittedRead,
    TipoffTrackRead,
)

router = APIRouter(tags=["异议、信用修复、信用承诺、举报 workflows"])


def _roles(permission: Permission, *roles: Role) -> Any:
    """A gate run before the body is read: only these roles reach the endpoint. The
    services then apply the finer rules (own archive, own department, the state machine)."""
    allowed = frozenset(r.value for r in roles)

    def gate(actor: ActorDep) -> Actor:
        if actor.role not in allowed:
            raise Forbidden(PERMISSION_DENIED[permission], code=f"forbidden:{permission.value}")
        return actor

    return Depends(gate)


# Who may call what (the authorization matrix test holds these to its table).
ApplicantDep = Annotated[
    Actor, _roles(Permission.OWN_ARCHIVE, Role.PERSON, Role.INSTITUTION, Role.ADMIN)
]
MarkerDep = Annotated[Actor, _roles(Permission.REVIEW, Role.ADMIN, Role.CLERK, Role.REVIEWER)]
ReviewerDep = Annotated[Actor, permission(Permission.REVIEW)]
TrackerDep = Annotated[
    Actor,
    _roles(Permission.REVIEW, Role.ADMIN, Role.CLERK, Role.REVIEWER, Role.DEPARTMENT),
]
TipoffReaderDep = Annotated[
    Actor,
    _roles(Permission.REVIEW, Role.ADMIN, Role.AUDITOR, Role.CLERK, Role.REVIEWER, Role.DEPARTMENT),
]


class EvidenceIn(BaseModel):
    filename: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(description="文件内容（Base64）")


def evidence_uploads(items: list[EvidenceIn]) -> list[Upload]:
    limit = get_settings().evidence_max_bytes
    uploads = []
    for item in items:
        # Refuse before decoding what is obviously too large.
        if len(item.content_base64) > limit * 4 // 3 + 8:
            raise InvalidInput(
                f"文件“{item.filename[:100]}”超过大小上限 {limit // (1024 * 1024) or 1} MB",
                code="evidence_too_large",
            )
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(
                f"文件“{item.filename[:100]}”不是有效的 Base64 编码", code="evidence_encoding"
            ) from None
        uploads.append(Upload(item.filename, content))
    return uploads


@router.get(
    "/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "文件原样"}},
)
def download_evidence(evidence_id: PathId, session: SessionDep, actor: ActorDep) -> Response:
    """An evidence file or tip-off attachment, to those who may read its case."""
    evidence = read_evidence(session, actor, evidence_id)
    return Response(
        evidence.content,
        media_type=evidence.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(evidence.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


# -- objections ---------------------------------------------------------------------------


class ObjectionCreate(BaseModel):
    record_id: int
    reason: str = Field(min_length=1, max_length=4000, description="异议理由")
    authorization_id: int | None = Field(default=None, description="机构代为提出时：授权编号")
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=10)


class ObjectionDecide(BaseModel):
    outcome: Literal["corrected", "revoked", "upheld"]
    reason: str = Field(min_length=1, max_length=4000)
    corrections: dict[str, Any] | None = Field(
        default=None, description="更正内容：grade、behaviour、decision_date、facts"
    )


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


@router.post("/objections", response_model=ObjectionRead, status_code=201)
def file_objection(body: ObjectionCreate, session: SessionDep, actor: ApplicantDep) -> Any:
    """提出异议: the record is marked 异议处理中 at once and goes to its department."""
    objection = objections.file_objection(
        session,
        actor,
        body.record_id,
        reason=body.reason,
        evidence=evidence_uploads(body.evidence),
        authorization_id=body.authorization_id,
    )
    return objections.objection_as_dict(session, objection, actor)


@router.get("/objections", response_model=list[ObjectionRead])
def list_objections(session: SessionDep, actor: ActorDep, state: str | None = None) -> Any:
    """The person's own objections, a department's queue, or all (credit office)."""
    return objections.list_objections(session, actor, state=state)


@router.get("/objections/{objection_id}", response_model=ObjectionRead)
def read_objection(objection_id: PathId, session: SessionDep, actor: ActorDep) -> Any:
    return objections.read_objection(session, actor, objection_id)


@router.post("/objections/{objection_id}/accept", response_model=ObjectionRead)
def accept_objection(objection_id: PathId, session: SessionDep, actor: MarkerDep) -> Any:
    objection = objections.accept_objection(session, actor, objection_id)
    return objections.objection_as_dict(session, objection, actor)


@router.post("/objections/{objection_id}/extend", response_model=ObjectionRead)
def extend_objection(
    objection_id: PathId, body: ReasonIn, session: SessionDep, actor: ReviewerDep
) -> Any:
    objection = objections.extend_objection(session, actor, objection_id, reason=body.reason)
    return objections.objection_as_dict(session, objection, actor)


@router.post("/objections/{objection_id}/decide", response_model=ObjectionRead)
def decide_objection(
    objection_id: PathId, body: ObjectionDecide, session: SessionDep, actor: ReviewerDep
) -> Any:
    objection = objections.decide_objection(
        session,
        actor,
        objection_id,
        outcome=body.outcome,
        reason=body.reason,
        corrections=body.corrections,
    )
    return objections.objection_as_dict(session, objection, actor)


@router.post("/objections/{objection_id}/withdraw", response_model=ObjectionRead)
def withdraw_objection(objection_id: PathId, session: SessionDep, actor: ApplicantDep) -> Any:
    objection = objections.withdraw_objection(session, actor, objection_id)
    return objections.objection_as_dict(session, objection, actor)


class ReviewOutcome(BaseModel):
    kind: Literal["reconsideration", "litigation"]
    outcome: Literal["revoked", "corrected"]
    document: str = Field(min_length=1, max_length=200, description="复议决定书或裁判文书号")
    reason: str = Field(min_length=1, max_length=4000)
    corrections: dict[str, Any] | None = None


@router.post("/records/{record_id}/review-outcome", response_model=ReviewOutcomeRead)
def review_outcome(
    record_id: PathId, body: ReviewOutcome, session: SessionDep, actor: ReviewerDep
) -> Any:
    """行政复议 / 行政诉讼 outcome entered by the department that submitted the record."""
    record = objections.enter_review_outcome(
        session,
        actor,
        record_id,
        kind=body.kind,
        outcome=body.outcome,
        document=body.document,
        reason=body.reason,
        corrections=body.corrections,
    )
    return {"record_id": record.id, "state": record.state, "version": record.version}


# -- repair -------------------------------------------------------------------------------


@router.get("/records/{record_id}/repair-eligibility", response_model=RepairEligibilityRead)
def repair_eligibility(
    record_id: PathId, session: SessionDep, actor: ActorDep, authorization_id: int | None = None
) -> Any:
    """Whether the record may be repaired now; if not, from when and what is missing."""
    return repair.check_repair(session, actor, record_id, authorization_id=authorization_id)


@router.get("/repair-options", response_model=list[RepairOptionRead])
def repair_options(session: SessionDep, actor: PersonDep) -> Any:
    """本人: every negative record with whether it may be repaired now, from when, and what
    is missing."""
    assert actor.subject_id is not None
    return repair.repair_options(session, actor, actor.subject_id)


class RepairCreate(BaseModel):
    record_id: int
    method: str = Field(description="performance|volunteer|donation|training|other 或中文名称")
    statement: str = Field(
        min_length=1, max_length=4000, description="履行义务、纠正失信行为的情况"
    )
    duties_performed: bool = Field(description="本人确认已履行决定规定的义务")
    commitment: bool = Field(description="同意作出信用修复承诺")
    commitment_text: str | None = Field(default=None, max_length=1000)
    authorization_id: int | None = None
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=10)


class RepairDecide(BaseModel):
    approve: bool
    reason: str = Field(min_length=1, max_length=4000)


@router.post("/repair-applications", response_model=RepairApplicationRead, status_code=201)
def apply_for_repair(body: RepairCreate, session: SessionDep, actor: ApplicantDep) -> Any:
    application = repair.apply_for_repair(
        session,
        actor,
        body.record_id,
        method=body.method,
        statement=body.statement,
        duties_performed=body.duties_performed,
        commit=body.commitment,
        commitment_text=body.commitment_text,
        evidence=evidence_uploads(body.evidence),
        authorization_id=body.authorization_id,
    )
    return repair.application_as_dict(session, application, actor)


@router.get("/repair-applications", response_model=list[RepairApplicationRead])
def list_repair_applications(session: SessionDep, actor: ActorDep, state: str | None = None) -> Any:
    return repair.list_applications(session, actor, state=state)


@router.get("/repair-applications/{application_id}", response_model=RepairApplicationRead)
def read_repair_application(application_id: PathId, session: SessionDep, actor: ActorDep) -> Any:
    return repair.read_application(session, actor, application_id)


@router.post("/repair-applications/{application_id}/decide", response_model=RepairApplicationRead)
def decide_repair(
    application_id: PathId, body: RepairDecide, session: SessionDep, actor: ReviewerDep
) -> Any:
    application = repair.decide_repair(
        session, actor, application_id, approve=body.approve, reason=body.reason
    )
    return repair.application_as_dict(session, application, actor)


@router.post("/repair-applications/{application_id}/withdraw", response_model=RepairApplicationRead)
def withdraw_repair(application_id: PathId, session: SessionDep, actor: ApplicantDep) -> Any:
    application = repair.withdraw_repair(session, actor, application_id)
    return repair.application_as_dict(session, application, actor)


# -- commitments --------------------------------------------------------------------------


class CommitmentCreate(BaseModel):
    subject_id: int | None = Field(default=None, description="省略时为本人")
    kind: str = Field(
        description="approval|tolerance|certification|repair|industry|voluntary|employment"
    )
    matter: str = Field(min_length=1, max_length=1000)
    business_ref: str | None = Field(default=None, max_length=200)
    department_code: str | None = None
    record_id: int | None = None
    due_on: dt.date | None = None
    authorization_id: int | None = None


class CommitmentAssess(BaseModel):
    outcome: Literal["fulfilled", "partly", "unfulfilled"]
    note: str = Field(min_length=1, max_length=4000)


@router.post("/commitments", response_model=CommitmentRead, status_code=201)
def make_commitment(body: CommitmentCreate, session: SessionDep, actor: ApplicantDep) -> Any:
    subject_id = body.subject_id if body.subject_id is not None else actor.subject_id
    if subject_id is None:
        raise InvalidInput("须指明信用主体", code="subject_required")
    commitment = commitments.make_commitment(
        session,
        actor,
        subject_id,
        kind=body.kind,
        matter=body.matter,
        business_ref=body.business_ref,
        department_code=body.department_code,
        record_id=body.record_id,
        due_on=body.due_on,
        authorization_id=body.authorization_id,
    )
    return commitments.commitment_as_dict(session, commitment)


@router.get("/commitments", response_model=list[CommitmentRead])
def list_commitments(session: SessionDep, actor: ActorDep) -> Any:
    return [
        commitments.commitment_as_dict(session, c)
        for c in commitments.list_commitments(session, actor)
    ]


@router.get("/commitments/{commitment_id}", response_model=CommitmentRead)
def read_commitment(commitment_id: PathId, session: SessionDep, actor: ActorDep) -> Any:
    commitment = commitments.read_commitment(session, actor, commitment_id)
    return commitments.commitment_as_dict(session, commitment)


@router.post("/commitments/{commitment_id}/assess", response_model=CommitmentRead)
def assess_commitment(
    commitment_id: PathId, body: CommitmentAssess, session: SessionDep, actor: TrackerDep
) -> Any:
    commitment = commitments.assess_commitment(
        session, actor, commitment_id, outcome=body.outcome, note=body.note
    )
    return commitments.commitment_as_dict(session, commitment)


# -- tip-offs (anonymous submission and tracking) ------------------------------------------


def _rate_limit(request: Request) -> None:
    """Tip-offs filed per client address (limit ``tipoff``, ``tipoff_per_hour``)."""
    limiter.hit("tipoff", client_address(request))


class TipoffCreate(BaseModel):
    about: str = Field(min_length=1, max_length=200, description="被举报对象（姓名或单位）")
    content: str = Field(min_length=1, max_length=5000, description="失信行为的具体情况")
    domain: str | None = Field(default=None, max_length=64)
    department_code: str | None = Field(
        default=None, description="责任部门（可不填，由信用办分派）"
    )
    attachments: list[EvidenceIn] = Field(default_factory=list, max_length=5)


class TipoffTrack(BaseModel):
    code: str = Field(min_length=4, max_length=32, description="举报查询码")


class TipoffAct(BaseModel):
    action: Literal["route", "return", "investigate", "close", "reject"]
    reason: str | None = Field(default=None, max_length=4000)
    department_code: str | None = None


@router.post("/tipoffs", response_model=TipoffSubmittedRead, status_code=201)
def submit_tipoff(body: TipoffCreate, request: Request, session: SessionDep) -> Any:
    """举报 (anonymous): returns the tracking code once; keep it to follow the case."""
    _rate_limit(request)
    _tipoff, code = tipoffs.submit_tipoff(
        session,
        about=body.about,
        content=body.content,
        domain=body.domain,
        department_code=body.department_code,
        attachments=evidence_uploads(body.attachments),
    )
    return {"tracking_code": code, **tipoffs.track_tipoff(session, code)}


@router.post("/tipoffs/track", response_model=TipoffTrackRead, dependencies=[rate_limit("search")])
def track_tipoff(body: TipoffTrack, session: SessionDep) -> Any:
    """The state of a tip-off, by its tracking code (in the body, never in a URL)."""
    return tipoffs.track_tipoff(session, body.code)


@router.get("/tipoffs", response_model=list[TipoffRead])
def list_tipoffs(session: SessionDep, actor: TipoffReaderDep, state: str | None = None) -> Any:
    return [
        tipoffs.tipoff_as_dict(session, t)
        for t in tipoffs.list_tipoffs(session, actor, state=state)
    ]


@router.post("/tipoffs/{tipoff_id}/actions", response_model=TipoffRead)
def act_on_tipoff(tipoff_id: PathId, body: TipoffAct, session: SessionDep, actor: MarkerDep) -> Any:
    tipoff = tipoffs.act_on_tipoff(
        session,
        actor,
        tipoff_id,
        action=body.action,
        reason=body.reason,
        department_code=body.department_code,
    )
    return tipoffs.tipoff_as_dict(session, tipoff)


# -- notice inbox and interviews ----------------------------------------------------------


def _notice_dict(n: Notice) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "record_id": n.record_id,
        "created_at": n.created_at.isoformat(),
        "read": n.read_at is not None,
    }


@router.get("/notices", response_model=list[NoticeRead])
def inbox(session: SessionDep, actor: PersonDep, unread: bool = False) -> Any:
    """站内信: the person's notices, newest first."""
    subject_id = actor.subject_id
    stmt = select(Notice).where(Notice.subject_id == subject_id)
    if unread:
        stmt = stmt.where(Notice.read_at.is_(None))
    return [_notice_dict(n) for n in session.scalars(stmt.order_by(Notice.id.desc()).limit(500))]


@router.post("/notices/{notice_id}/read", response_model=NoticeRead)
def mark_read(notice_id: PathId, session: SessionDep, actor: PersonDep) -> Any:
    return _notice_dict(notices.mark_read(session, actor, notice_id))


@router.post("/notices/read", response_model=MarkedRead)
def mark_all_read(session: SessionDep, actor: PersonDep) -> Any:
    """全部标为已读: every unread notice of the person."""
    return {"marked": notices.mark_all_read(session, actor)}


class InterviewCreate(BaseModel):
    subject_id: int
    held_at: dt.datetime = Field(description="约谈时间（带时区）")
    place: str = Field(min_length=1, max_length=200)
    attendees: str = Field(min_length=1, max_length=2000)
    reason: str = Field(min_length=1, max_length=2000)
    outcome: str | None = Field(default=None, max_length=4000)
    record_id: int | None = None


class InterviewConclude(BaseModel):
    outcome: str = Field(min_length=1, max_length=4000)


@router.post("/interviews", response_model=InterviewRecordedRead, status_code=201)
def record_interview(body: InterviewCreate, session: SessionDep, actor: MarkerDep) -> Any:
    """约谈: recorded with time, place, attendees and (later) its outcome."""
    interview = interviews.record_interview(
        session,
        actor,
        body.subject_id,
        held_at=body.held_at,
        place=body.place,
        attendees=body.attendees,
        reason=body.reason,
        outcome=body.outcome,
        record_id=body.record_id,
    )
    return {"id": interview.id, "subject_id": interview.subject_id}


@router.post("/interviews/{interview_id}/outcome", response_model=InterviewOutcomeRead)
def conclude_interview(
    interview_id: PathId, body: InterviewConclude, session: SessionDep, actor: MarkerDep
) -> Any:
    interview = interviews.conclude_interview(session, actor, interview_id, body.outcome)
    return {"id": interview.id, "outcome": interview.outcome}


@router.get("/subjects/{subject_id}/interviews", response_model=list[InterviewRead])
def interviews_of(subject_id: PathId, session: SessionDep, actor: ActorDep) -> Any:
    return interviews.interviews_of(session, actor, subject_id)
