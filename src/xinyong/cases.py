"""Reading a workflow case's evidence: only those who may read the case itself."""

from __future__ import annotations

from sqlalchemy.orm import Session

from xinyong.actors import Actor, Role
from xinyong.errors import NotFound
from xinyong.workflows.access import log_case_read, may_read_subject, refuse_auditor
from xinyong.workflows.models import EvidenceFile


def read_evidence(session: Session, actor: Actor, evidence_id: int) -> EvidenceFile:
    """An evidence file of an objection, a repair application or a tip-off; reading the
    evidence of a person's case is logged like any read of their data."""
    from xinyong.lists.models import ListEntry
    from xinyong.objections.models import Objection
    from xinyong.repair.models import RepairApplication
    from xinyong.tipoffs.services import get_tipoff

    refuse_auditor(actor, "证明材料")
    evidence = session.get(EvidenceFile, evidence_id)
    if evidence is None:
        raise NotFound("文件不存在", code="evidence_not_found")
    if evidence.owner_kind == "tipoff":
        get_tipoff(session, actor, evidence.owner_id)  # NotFound unless the actor handles it
        return evidence
    case: Objection | RepairApplication | ListEntry | None
    filer: str | None = None
    if evidence.owner_kind == "list_entry":  # a defence (陈述申辩) in the black-list procedure
        case = session.get(ListEntry, evidence.owner_id)
    elif evidence.owner_kind == "objection":
        case = session.get(Objection, evidence.owner_id)
        filer = case.filed_by if case else None
    else:
        case = session.get(RepairApplication, evidence.owner_id)
        filer = case.applied_by if case else None
    if case is None:
        raise NotFound("文件不存在", code="evidence_not_found")
    mine = actor.role == Role.INSTITUTION and filer == actor.name[:200]
    if not (mine or may_read_subject(actor, case.subject_id, case.department_id)):
        raise NotFound("文件不存在", code="evidence_not_found")
    log_case_read(
        session,
        actor,
        case.subject_id,
        action=f"{evidence.owner_kind}:evidence",
        what="证明材料",
        ids=[evidence.id],
    )
    return evidence
