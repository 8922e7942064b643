"""What the API answers about a black-list procedure (严重失信主体名单列入程序):
``lists.procedure.procedure_as_dict``, field for field."""

from __future__ import annotations

from pydantic import BaseModel, Field

from xinyong.workflows.schemas import EvidenceRead


class ProcedureNoticeRead(BaseModel):
    """The notice before listing (拟列入告知)."""

    reasons: str
    basis: str
    measures: str | None
    remedies: str | None
    rights: str
    notified_on: str | None
    defence_until: str | None


class DefenceRead(BaseModel):
    """The person's statement and defence (陈述申辩)."""

    statement: str
    submitted_at: str | None
    evidence: list[EvidenceRead]


class ProcedureDecisionRead(BaseModel):
    """列入 or 不予列入, with the reasons and how the defence was weighed."""

    decided_on: str | None
    reasons: str | None
    defence_review: str | None


class ProcedureRead(BaseModel):
    id: int
    subject_id: int
    status: str
    status_name: str
    source: str
    organisation: str | None = Field(description="落实到人：名单所由的单位")
    department: str | None
    record_id: int | None
    document_number: str | None
    notice: ProcedureNoticeRead
    defence: DefenceRead | None
    may_submit_defence: bool
    decision: ProcedureDecisionRead | None


class DepartmentProcedureRead(ProcedureRead):
    """A procedure as the deciding department sees it: the person's name masked."""

    subject_name: str
