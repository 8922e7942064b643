"""The black-list procedure (国办发〔2020〕49号) over the API: the department notifies and
decides; the person reads the notice and answers (陈述申辩) with evidence files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from xinyong.lists import procedure
from xinyong.lists import services as lists
from xinyong.lists.schemas import DepartmentProcedureRead, ProcedureRead
from xinyong.web.api.workflows import EvidenceIn, evidence_uploads
from xinyong.web.deps import BodyId, PathId, PersonDep, SessionDep, SubmissionsReaderDep

router = APIRouter(tags=["严重失信主体名单程序 lists"])


class DefenceIn(BaseModel):
    statement: str = Field(min_length=1, max_length=5000, description="陈述申辩意见")
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=10)


class NoticeIn(BaseModel):
    record_id: BodyId
    reasons: str = Field(min_length=1, max_length=2000, description="拟列入理由")
    basis: str = Field(min_length=1, max_length=2000, description="列入依据")


class DecisionIn(BaseModel):
    list_subject: bool = Field(description="true：列入；false：不予列入")
    reasons: str = Field(min_length=1, max_length=5000, description="决定理由")
    defence_review: str | None = Field(
        default=None, max_length=5000, description="对陈述申辩意见的审查和采纳情况（有申辩时必填）"
    )


@router.get("/me/blacklist-procedures", response_model=list[ProcedureRead])
def my_procedures(session: SessionDep, actor: PersonDep) -> Any:
    """拟列入告知 and decisions about me: reasons, basis, rights, deadline, my defence."""
    assert actor.subject_id is not None
    return procedure.procedures_of_subject(session, actor.subject_id)


@router.post("/me/blacklist-procedures/{entry_id}/defence", response_model=ProcedureRead)
def submit_my_defence(
    entry_id: PathId, body: DefenceIn, session: SessionDep, actor: PersonDep
) -> Any:
    """陈述申辩 within the defence period, with evidence files (Base64 in the body)."""
    procedure.own_procedure(session, actor, entry_id)
    entry = lists.submit_defence(
        session, actor, entry_id, body.statement, evidence=evidence_uploads(body.evidence)
    )
    return procedure.procedure_as_dict(session, entry)


@router.get("/blacklist-procedures", response_model=list[DepartmentProcedureRead])
def department_procedures(session: SessionDep, actor: SubmissionsReaderDep) -> Any:
    """The procedures the department decides, those with a defence to weigh first."""
    return procedure.procedures_of_department(session, actor)


@router.post("/blacklist-procedures", response_model=ProcedureRead, status_code=201)
def notify(body: NoticeIn, session: SessionDep, actor: SubmissionsReaderDep) -> Any:
    """告知: starts the procedure on one of the department's 严重 records."""
    entry = lists.notify_blacklisting(
        session, actor, body.record_id, reasons=body.reasons, basis=body.basis
    )
    return procedure.procedure_as_dict(session, entry)


@router.post("/blacklist-procedures/{entry_id}/decision", response_model=ProcedureRead)
def decide(
    entry_id: PathId, body: DecisionIn, session: SessionDep, actor: SubmissionsReaderDep
) -> Any:
    """列入 or 不予列入, with reasons and, if the person answered, how the defence was weighed."""
    entry = lists.decide_blacklisting(
        session,
        actor,
        entry_id,
        list_subject=body.list_subject,
        reasons=body.reasons,
        defence_review=body.defence_review,
    )
    return procedure.procedure_as_dict(session, entry)
