"""Subjects and archives. Identity numbers travel in request bodies, never in URLs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from xinyong.accounts.permissions import Permission
from xinyong.actors import Actor
from xinyong.errors import InvalidInput, NotFound
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.queries.models import QueryBasis
from xinyong.reads import read_lists, read_score
from xinyong.records.services import read_archive
from xinyong.subjects.services import find_subject, get_subject
from xinyong.web.deps import ArchiveAdminDep, LookupDep, PathId, SessionDep, permission

router = APIRouter(tags=["档案 archive"])


def government_basis(actor: Actor) -> tuple[QueryBasis, str]:
    """The basis and default purpose of a government read: the office manages the archive,
    a department reads under its legal duties (依法履职, 共享 by open level)."""
    if actor.is_admin:
        return QueryBasis.ADMINISTRATION, "信用办档案管理"
    return QueryBasis.LEGAL_DUTY, "依法履职查询"


class SubjectLookup(BaseModel):
    id_number: str = Field(min_length=1, max_length=64, description="身份证号或统一社会信用代码")
    id_type: str | None = Field(default=None, description="证件类型；默认按号码识别")


class SubjectRef(BaseModel):
    id: int
    kind: str


@router.post("/subjects/lookup", response_model=SubjectRef)
def lookup(body: SubjectLookup, session: SessionDep, actor: LookupDep) -> Any:
    """The subject id for an identity number (so the number never appears in a URL)."""
    subject = find_subject(session, protector_for(), body.id_number, body.id_type)
    if subject is None:
        raise NotFound("档案中没有该主体", code="subject_not_found")
    return {"id": subject.id, "kind": subject.kind}


class ProvenanceRead(BaseModel):
    batch_id: int | None
    row_number: int | None
    channel: str | None
    channel_name: str | None
    filename: str | None
    submitted_by: str | None
    submitted_at: str | None


class RecordVersionRead(BaseModel):
    version: int
    state: str
    state_label: str
    behaviour: str | None
    decision_date: str
    grade: str | None
    grade_name: str | None
    grade_source_name: str
    grade_reason: str | None
    display_until: str | None
    facts: dict[str, Any]
    superseded_at: str
    superseded_by_batch: int | None
    provenance: ProvenanceRead


class ArchiveRecord(BaseModel):
    id: int
    document_number: str
    item: str
    item_name: str
    nature: str
    department: str
    behaviour: str | None
    decision_date: str
    state: str
    state_label: str
    grade: str | None
    grade_name: str | None
    grade_source: str | None
    grade_source_name: str = ""
    open_level: str
    open_level_name: str
    display_from: str
    display_until: str | None
    in_use: bool
    version: int
    facts: dict[str, Any]
    provenance: ProvenanceRead
    history: list[RecordVersionRead] | None = None


class ArchiveSubject(BaseModel):
    id: int
    kind: str
    name: str
    id_type: str
    id_number: str
    birth_date: str | None
    sex: str | None
    region_code: str | None


class ArchiveRead(BaseModel):
    subject: ArchiveSubject
    records: list[ArchiveRecord]


PurposeQuery = Annotated[
    str | None, Query(max_length=200, description="事由（部门查询必填），如“行政许可审查”")
]
ReferenceQuery = Annotated[
    str | None,
    Query(max_length=100, description="业务编号（部门查询必填），如受理编号、案件编号"),
]


def business_matter(
    actor: Actor, purpose: str | None, reference: str | None
) -> tuple[str, str | None]:
    """(事由, 业务编号) of a government read. A department reads only for a stated matter
    with its business reference, both kept in the query log (查询使用登记); the credit
    office's own management reads may omit them."""
    matter, ref = (purpose or "").strip(), (reference or "").strip()
    if actor.is_department and not (matter and ref):
        missing = (
            "事由和业务编号" if not (matter or ref) else ("事由" if not matter else "业务编号")
        )
        raise InvalidInput(
            f"部门查询信用档案须写明{missing}（purpose、reference），将记入查询日志",
            code="business_reference_required",
        )
    return matter or government_basis(actor)[1], ref or None


@router.get("/subjects/{subject_id}/archive", response_model=ArchiveRead)
def archive(
    subject_id: PathId,
    session: SessionDep,
    actor: LookupDep,
    purpose: PurposeQuery = None,
    reference: ReferenceQuery = None,
) -> Any:
    """The subject's archive as government sees it (共享, by open level); the read is logged
    with the matter, business reference and basis (信用办管理 or 依法履职). A department must
    state the matter (事由) and business reference (业务编号)."""
    matter, ref = business_matter(actor, purpose, reference)
    subject = get_subject(session, subject_id)
    basis, _ = government_basis(actor)
    result = read_archive(
        session,
        actor,
        protector_for(),
        subject,
        audience=Audience.GOVERNMENT,
        purpose=matter,
        basis=basis,
        reference=ref,
    )
    return result.as_dict()


FullArchiveDep = Annotated[Actor, permission(Permission.READ_FULL_ARCHIVE)]


@router.get("/subjects/{subject_id}/full-archive", response_model=ArchiveRead)
def full_archive(
    subject_id: PathId,
    session: SessionDep,
    actor: FullArchiveDep,
    purpose: Annotated[str, Query(min_length=2, max_length=200, description="查询目的（必填）")],
) -> Any:
    """档案管理 (credit office only): every record of the subject whatever its state —
    expired, repaired, revoked, disputed — each labelled, with its earlier versions and its
    provenance (batch, row, submitter). The read is logged with the stated purpose."""
    subject = get_subject(session, subject_id)
    result = read_archive(
        session,
        actor,
        protector_for(),
        subject,
        audience=Audience.GOVERNMENT,
        purpose=purpose.strip(),
        basis=QueryBasis.ADMINISTRATION,
        full=True,
    )
    return result.as_dict()


class ReasonRead(BaseModel):
    record: int
    item: str
    grade: str | None
    decision_date: str
    points: float
    text: str


class ScoreRead(BaseModel):
    score: int
    band: str
    band_name: str
    model: str
    model_version: int
    reasons: list[ReasonRead]
    hidden_reasons: int = Field(
        default=0, description="计入积分但依开放等级不向本查询方列示的记录数"
    )
    history: list[dict[str, Any]]


@router.get("/subjects/{subject_id}/score", response_model=ScoreRead)
def score(subject_id: PathId, session: SessionDep, actor: ArchiveAdminDep) -> Any:
    """诚信积分 with up to four reasons and the history; the read is logged."""
    subject = get_subject(session, subject_id)
    basis, purpose = government_basis(actor)
    return read_score(session, actor, subject.id, purpose=purpose, basis=basis)


class ListEntryRead(BaseModel):
    id: int
    list_kind: str
    status: str
    source: str
    record_id: int | None
    reasons: str
    basis: str
    measures: str | None
    exit_conditions: str | None
    remedies: str | None
    start_date: str | None
    end_date: str | None
    ended_on: str | None
    end_reason: str | None
    organisation: str | None = Field(default=None, description="落实到人：经由其列入的所在组织名称")


@router.get("/subjects/{subject_id}/lists", response_model=list[ListEntryRead])
def lists(
    subject_id: PathId,
    session: SessionDep,
    actor: LookupDep,
    purpose: PurposeQuery = None,
    reference: ReferenceQuery = None,
) -> Any:
    """Red, black and watch list memberships, with their history; the read is logged with
    the matter and business reference (required of a department)."""
    matter, ref = business_matter(actor, purpose, reference)
    subject = get_subject(session, subject_id)
    basis, _ = government_basis(actor)
    return read_lists(
        session,
        actor,
        subject.id,
        audience=Audience.GOVERNMENT,
        purpose=matter,
        basis=basis,
        reference=ref,
    )
