"""Credit repair end to end: whether a record may be repaired, the application, the
department's and the credit office's decisions; a repaired record disappears from checks,
lists and scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.workflows.conftest import ADMIN, TODAY, Case, reviewer, submit_record
from xinyong.catalog.models import Department
from xinyong.commitments.models import Commitment
from xinyong.config import get_settings
from xinyong.errors import Conflict, Forbidden, InvalidInput
from xinyong.exchange.models import ExchangeOutbox
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.lists.models import ListEntry
from xinyong.measures.services import run_check
from xinyong.notices.models import Notice
from xinyong.objections.services import file_objection
from xinyong.queries.models import QueryBasis
from xinyong.records.display import add_months
from xinyong.records.services import read_archive
from xinyong.repair.models import RepairApplication
from xinyong.repair.services import apply_for_repair, check_repair, decide_repair, withdraw_repair
from xinyong.scoring.services import score_subject, stored_score
from xinyong.subjects.services import get_subject
from xinyong.workflows.evidence import Upload
from xinyong.workflows.history import history_of

PDF = b"%PDF-1.4\n% receipt\n"


@pytest.fixture()
def case(session: Session, dept: Department) -> Case:
    """A 造谣传谣 record (一般: repairable after 3 months), decided 150 days ago."""
    return submit_record(session, dept, "RUMOUR_SPREADING", decided=TODAY - dt.timedelta(days=150))


def apply(session: Session, case: Case, **kw: object) -> RepairApplication:
    args: dict[str, object] = {
        "method": "履约",
        "statement": "已删除不实信息并公开致歉",
        "duties_performed": True,
        "commit": True,
        "evidence": [Upload("致歉声明.pdf", PDF)],
    }
    args.update(kw)
    return apply_for_repair(session, case.person, case.record.id, **args)  # type: ignore[arg-type]


def test_check_says_from_when_and_what_is_missing(session: Session, dept: Department) -> None:
    recent = submit_record(session, dept, "RUMOUR_SPREADING", decided=TODAY - dt.timedelta(days=20))
    result = check_repair(session, recent.person, recent.record.id)
    assert result["eligible"] is False
    assert result["eligible_from"] == add_months(recent.record.decision_date, 3).isoformat()
    codes = {m["code"]: m for m in result["missing"]}
    assert set(codes) == {"min_period", "commitment", "duties"}
    assert codes["min_period"]["until"] == result["eligible_from"]
    assert codes["commitment"]["at_application"] and codes["duties"]["at_application"]
    with pytest.raises(Conflict, match="最短公示期未满"):
        apply(session, recent)


def test_black_list_for_the_same_matter_blocks_repair(session: Session, dept: Department) -> None:
    debtor = submit_record(
        session, dept, "DISHONEST_JUDGMENT_DEBTOR", decided=TODAY - dt.timedelta(days=400)
    )
    result = check_repair(session, debtor.person, debtor.record.id)
    assert result["eligible"] is False
    [black] = [m for m in result["missing"] if m["code"] == "black_list"]
    assert "移出名单" in black["message"]


def test_disputed_or_positive_records_cannot_be_repaired(session: Session, case: Case) -> None:
    file_objection(session, case.person, case.record.id, reason="不是我")
    result = check_repair(session, case.person, case.record.id)
    assert (result["eligible"], result["eligible_from"]) == (False, None)
    assert result["missing"][0]["code"] == "state"


def test_repair_end_to_end(session: Session, case: Case, other_dept: Department) -> None:
    scenario = dict(
        id_number=case.number, scenario="ADMIN_LICENSING", operator="王科员", business_ref="XK-9"
    )
    assert run_check(session, ADMIN, protector_for(), **scenario).verdict == "restricted"
    punished = stored_score(session, case.subject_id)
    assert punished is not None
    punished_score = punished.score
    assert check_repair(session, case.person, case.record.id)["eligible"] is True
    # Open to the public (this item is 政务共享 by default), so that the public credit
    # report shows it before the repair.
    case.record.open_level = "public"
    session.flush()
    document = case.record.document_number
    assert document in _public_report_text(session, case)

    application = apply(session, case)
    assert application.state == "submitted"
    commitment = session.get(Commitment, application.commitment_id)
    assert commitment is not None and commitment.kind == "repair"
    assert commitment.code.startswith(get_settings().city_region_code + f"{TODAY:%Y%m%d}")
    assert check_repair(session, case.person, case.record.id)["missing"][0]["code"] == (
        "pending_application"
    )
    # 谁认定谁修复: the office cannot decide first, another department not at all.
    with pytest.raises(Forbidden):
        decide_repair(session, ADMIN, application.id, approve=True, reason="同意")
    with pytest.raises(Forbidden):
        decide_repair(session, reviewer(other_dept), application.id, approve=True, reason="同意")
    decide_repair(session, case.reviewer, application.id, approve=True, reason="已履行，同意修复")
    assert application.state == "dept_approved" and case.record.state == "active"
    with pytest.raises(Forbidden):
        decide_repair(session, case.reviewer, application.id, approve=True, reason="再次同意")
    decide_repair(session, ADMIN, application.id, approve=True, reason="复核同意")
    assert application.state == "approved"

    # Repaired: no longer shown to others, shared or used.
    assert case.record.state == "repaired"
    assert run_check(session, ADMIN, protector_for(), **scenario).verdict == "clear"
    [entry] = session.scalars(select(ListEntry).where(ListEntry.record_id == case.record.id))
    assert (entry.status, entry.end_reason, entry.ended_on) == ("ended", "repaired", TODAY)
    repaired = stored_score(session, case.subject_id)
    assert repaired is not None and repaired.score > punished_score
    assert repaired.score == score_subject(session, case.subject_id, TODAY).score
    subject = get_subject(session, case.subject_id)
    for audience in (Audience.PUBLIC, Audience.AUTHORIZED, Audience.GOVERNMENT):
        archive = read_archive(
            session,
            ADMIN,
            protector_for(),
            subject,
            audience=audience,
            purpose="测试",
            basis=QueryBasis.ADMINISTRATION,
        )
        assert case.record.id not in [e.record.id for e in archive.entries], audience
    own = read_archive(
        session,
        case.person,
        protector_for(),
        subject,
        audience=Audience.SELF,
        purpose="本人",
        basis=QueryBasis.SELF,
    )
    assert {e.record.id: e.label for e in own.entries}[case.record.id] == "已修复"
    # The repair record is kept; the change is queued for the upper platform; the person told.
    assert [s.action for s in history_of(session, "repair", application.id)] == [
        "apply",
        "approve",
        "approve",
    ]
    # Every step is in the audit trail too, by whoever took it, with its Chinese name.
    from xinyong.audit.models import AuditEvent
    from xinyong.audit.tags import label_of

    session.commit()
    steps = history_of(session, "repair", application.id)
    trail = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "repair", AuditEvent.target_id == str(application.id))
        .order_by(AuditEvent.seq)
    ).all()
    assert [(e.action, e.actor) for e in trail] == [
        (f"workflows:repair:{s.action}", s.actor) for s in steps
    ]
    assert [label_of(e.action) for e in trail] == [
        "信用修复：申请",
        "信用修复：批准",
        "信用修复：批准",
    ]
    [outbox] = session.scalars(
        select(ExchangeOutbox).where(
            ExchangeOutbox.entity == "record", ExchangeOutbox.entity_id == case.record.id
        )
    )
    assert outbox.kind == "record:repaired" and outbox.payload["state"] == "repaired"
    told = session.scalar(select(Notice).where(Notice.kind == "repair:approved"))
    assert told is not None and "已修复" in told.body
    assert check_repair(session, case.person, case.record.id)["missing"][0]["message"] == (
        "该记录已修复"
    )
    # …and gone from the credit report the public receives (PDF text and HTML alike).
    assert document not in _public_report_text(session, case)


def test_rejection_gives_reasons_and_a_waiting_period(session: Session, case: Case) -> None:
    application = apply(session, case)
    decide_repair(session, case.reviewer, application.id, approve=False, reason="缴款凭证不清晰")
    assert (application.state, application.decision_reason) == ("rejected", "缴款凭证不清晰")
    assert case.record.state == "active"
    told = session.scalar(select(Notice).where(Notice.kind == "repair:rejected"))
    assert told is not None and "缴款凭证不清晰" in told.body
    result = check_repair(session, case.person, case.record.id)
    again = TODAY + dt.timedelta(days=get_settings().repair_reapply_after_days)
    assert result["eligible"] is False and result["eligible_from"] == again.isoformat()
    assert [m["code"] for m in result["missing"] if not m["at_application"]] == ["reapply_wait"]
    later = check_repair(session, case.person, case.record.id, on=again)
    assert later["eligible"] is True
    with pytest.raises(Conflict, match="再次申请"):
        apply(session, case)


def test_without_office_review_the_department_decides_alone(
    session: Session, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "repair_office_review", False)
    application = apply(session, case)
    decide_repair(session, case.reviewer, application.id, approve=True, reason="同意")
    assert (application.state, case.record.state) == ("approved", "repaired")


def test_application_needs_duties_commitment_and_a_known_method(
    session: Session, case: Case
) -> None:
    with pytest.raises(InvalidInput, match="修复方式"):
        apply(session, case, method="送礼")
    with pytest.raises(InvalidInput, match="履行"):
        apply(session, case, duties_performed=False)
    with pytest.raises(InvalidInput, match="承诺"):
        apply(session, case, commit=False)
    with pytest.raises(InvalidInput, match="类型不支持"):
        apply(session, case, evidence=[Upload("a.exe", b"MZ\x90\x00")])


def test_withdrawal(session: Session, case: Case) -> None:
    application = apply(session, case, method="volunteer")
    withdraw_repair(session, case.person, application.id)
    assert application.state == "withdrawn"
    assert check_repair(session, case.person, case.record.id)["eligible"] is True


@pytest.fixture()
def small_evidence_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(get_settings(), "evidence_max_bytes", 2048)
    yield


def test_evidence_size_is_checked(session: Session, case: Case, small_evidence_limit: None) -> None:
    with pytest.raises(InvalidInput, match="超过大小上限"):
        apply(session, case, evidence=[Upload("big.pdf", PDF + b"0" * 4096)])


def _public_report_text(session: Session, case: Case) -> str:
    import io

    from pypdf import PdfReader

    from xinyong.reports.services import issue_report

    issued = issue_report(
        session,
        ADMIN,
        protector_for(),
        get_subject(session, case.subject_id),
        audience=Audience.PUBLIC,
        purpose="公示查询",
    )
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(issued.pdf)).pages)
    return pdf_text + issued.html.decode()
