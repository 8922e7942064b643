"""Issuing credit reports (出具信用报告) and verifying them (报告核验).

Issuing is a read of the person's data: it is logged in the query log with its basis
(本人查询, 授权查询, 信用办管理, 依法履职) in the same transaction as the report row. A
report is a snapshot: its PDF and HTML are hashed and kept encrypted, so that the bytes a
recipient holds can be proved genuine and unaltered, and handed out again unchanged.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyong.accounts.models import Institution
from xinyong.actors import Actor, Role
from xinyong.authorizations.models import Authorization
from xinyong.authorizations.rules import PURPOSE_LABELS
from xinyong.authorizations.services import require_authorization
from xinyong.catalog.catalog import Catalog
from xinyong.catalog.models import Department
from xinyong.catalog.schemas import InformationItem
from xinyong.catalog.services import current_catalog
from xinyong.config import get_settings
from xinyong.db import utcnow
from xinyong.errors import Conflict, Forbidden, InvalidInput, NotFound
from xinyong.identity.masking import Audience
from xinyong.identity.protection import IdentityProtector
from xinyong.lists.services import entries_of
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query
from xinyong.records.display import individual_penalty_public
from xinyong.records.models import Record
from xinyong.reports import html as html_render
from xinyong.reports import pdf as pdf_render
from xinyong.reports.content import (
    AUDIENCE_LABELS,
    SHANGHAI,
    ListFact,
    RecordFact,
    ReportContent,
    ReportHeader,
    ScoreFact,
    SubjectFact,
    assemble,
    public_mask,
)
from xinyong.reports.models import CreditReport, CreditReportFile
from xinyong.scoring.presentation import score_as_dict
from xinyong.scoring.services import score_subject
from xinyong.subjects.models import Subject
from xinyong.subjects.services import reveal_number

log = logging.getLogger("xinyong.reports")

REPORT_AUDIENCES = (Audience.SELF, Audience.AUTHORIZED, Audience.PUBLIC)
DEFAULT_PURPOSES = {
    Audience.SELF: "本人查询信用报告",
    Audience.AUTHORIZED: "经本人授权查询信用报告",
    Audience.PUBLIC: "查询社会公开信用信息",
}
SUMMARY_FIELDS = 3
SUMMARY_CHARS = 200


class ReportTampered(Conflict):
    code = "report_tampered"


@dataclass(frozen=True, slots=True)
class IssuedReport:
    report: CreditReport
    content: ReportContent
    pdf: bytes
    html: bytes


@dataclass(frozen=True, slots=True)
class Verification:
    """What the verification page confirms about a genuine report."""

    report_number: str
    issued_at: dt.datetime
    issuer: str
    audience: str
    audience_label: str
    subject_name: str
    subject_number: str
    pdf_sha256: str
    html_sha256: str
    matched: Literal["pdf", "html"] | None = None  # which file was checked, if one was

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": True,
            "report_number": self.report_number,
            "issued_at": self.issued_at.isoformat(),
            "issuer": self.issuer,
            "audience": self.audience,
            "audience_label": self.audience_label,
            "subject": {"name": self.subject_name, "id_number": self.subject_number},
            "pdf_sha256": self.pdf_sha256,
            "html_sha256": self.html_sha256,
            "matched": self.matched,
        }


def report_basis(actor: Actor, subject_id: int, audience: Audience) -> QueryBasis:
    """On what basis ``actor`` may have a report of this audience issued (DOMAIN §10).

    - A person: only their own report, self or public version (本人查询).
    - An institution: only the authorized version, under the person's authorization
      (授权查询; the authorization itself is checked by ``require_authorization``).
    - The credit office: the self version (at a service window, on the person's
      application) and the public version, in its administration (信用办管理).
    - A department: the public version, in the performance of its duties (依法履职).
    """
    if audience not in REPORT_AUDIENCES:
        raise InvalidInput("报告版本只能是本人版、授权查询版或社会公开版", code="bad_audience")
    if actor.role == Role.PERSON:
        if actor.subject_id != subject_id:
            raise Forbidden("只能查询本人的信用报告", code="not_own_report")
        if audience is Audience.AUTHORIZED:
            raise Forbidden("授权查询版信用报告由经授权的机构查询", code="report_forbidden")
        return QueryBasis.SELF
    if audience is Audience.AUTHORIZED:
        if actor.role != Role.INSTITUTION:
            raise Forbidden(
                "授权查询版信用报告仅向经信息主体授权的查询机构出具", code="report_forbidden"
            )
        return QueryBasis.AUTHORIZATION
    if actor.is_admin:
        return QueryBasis.ADMINISTRATION
    if actor.is_department and audience is Audience.PUBLIC:
        return QueryBasis.LEGAL_DUTY
    raise Forbidden("无权出具该版本的信用报告", code="report_forbidden")


def _authorization(
    session: Session, actor: Actor, subject_id: int, authorization_id: int | None
) -> Authorization:
    if authorization_id is None:
        raise InvalidInput("授权查询版信用报告须提供授权编号", code="authorization_required")
    return require_authorization(session, actor, subject_id, authorization_id, scope="report")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_verification_code() -> str:
    """16 characters of base32: 80 random bits, unguessable, easy to type."""
    return base64.b32encode(secrets.token_bytes(10)).decode()


def verify_url(code: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/reports/verify/{code}"


def issuer_name() -> str:
    settings = get_settings()
    return settings.report_issuer or f"{settings.city_name}公共信用信息平台"


def _next_report_number(session: Session, issued_at: dt.datetime) -> str:
    prefix = f"XY{issued_at.astimezone(SHANGHAI):%Y%m%d}"
    last = session.scalar(
        select(func.max(CreditReport.report_number)).where(
            CreditReport.report_number.like(f"{prefix}%")
        )
    )
    serial = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


def _summary(item: InformationItem | None, record: Record) -> str:
    parts: list[str] = []
    if record.behaviour:
        parts.append(record.behaviour)
    if item is not None:
        for spec in item.fields:
            if len(parts) >= SUMMARY_FIELDS:
                break
            value = record.facts.get(spec.name)
            if not spec.required or spec.type == "date" or value in (None, "", []):
                continue
            text = "、".join(value) if isinstance(value, list) else str(value)
            if text == record.behaviour or text == record.document_number:
                continue
            parts.append(f"{spec.label}：{text}")
    summary = "；".join(parts)
    return summary if len(summary) <= SUMMARY_CHARS else summary[: SUMMARY_CHARS - 1] + "…"


def _record_fact(
    record: Record, catalog: Catalog, departments: dict[int, str], subject_kind: str
) -> RecordFact:
    item = catalog.items.get(record.item_code)
    grade = catalog.grades.get(record.grade or "")
    return RecordFact(
        id=record.id,
        item_name=item.name if item else record.item_code,
        info_type=item.info_type if item else "",
        record_format=item.record_format if item else "generic",
        nature=record.nature,
        document_number=record.document_number,
        department=departments.get(record.department_id, ""),
        decision_date=record.decision_date,
        grade_name=grade.name if grade else None,
        state=record.state,
        open_level=record.open_level,
        display_from=record.display_from,
        display_until=record.display_until,
        summary=_summary(item, record),
        grade=record.grade,
        publish_minor=get_settings().publish_minor,
        penalty_publishable=individual_penalty_public(
            item.record_format if item else "generic",
            subject_kind,
            publish=get_settings().publish_individual_penalties,
        ),
    )


def subject_fact(protector: IdentityProtector, subject: Subject) -> SubjectFact:
    return SubjectFact(
        kind=subject.kind,
        name=subject.name,
        id_type=subject.id_type,
        id_number=reveal_number(protector, subject),
        birth_date=subject.birth_date,
        sex=subject.sex,
        region_code=subject.region_code,
    )


@dataclass(frozen=True, slots=True)
class ArchiveFacts:
    """Everything a report of one subject is assembled from, as plain data."""

    records: list[RecordFact]
    lists: list[ListFact]
    score: ScoreFact


def gather(session: Session, subject: Subject, on: dt.date) -> ArchiveFacts:
    """Load the archive, the list memberships and the score of ``subject`` on ``on``."""
    catalog = current_catalog(session)
    departments = {d.id: d.name for d in session.scalars(select(Department))}
    own = list(session.scalars(select(Record).where(Record.subject_id == subject.id)))
    facts = {r.id: _record_fact(r, catalog, departments, subject.kind) for r in own}
    entries = entries_of(session, subject.id)
    # Memberships reaching a person through an organisation's record (落实到人).
    missing = {e.record_id for e in entries if e.record_id is not None} - facts.keys()
    if missing:
        kinds = dict(
            session.execute(
                select(Subject.id, Subject.kind).where(
                    Subject.id.in_(select(Record.subject_id).where(Record.id.in_(missing)))
                )
            ).all()
        )
        for r in session.scalars(select(Record).where(Record.id.in_(missing))):
            facts[r.id] = _record_fact(r, catalog, departments, kinds.get(r.subject_id, ""))
    lists = [
        ListFact(
            list_kind=e.list_kind,
            status=e.status,
            start_date=e.start_date,
            end_date=e.end_date,
            ended_on=e.ended_on,
            reasons=e.reasons,
            record=facts.get(e.record_id) if e.record_id is not None else None,
        )
        for e in entries
    ]
    result = score_subject(session, subject.id, on)
    scored = score_as_dict(result, catalog)
    model = catalog.scoring_models.get(result.model_code)
    score = ScoreFact(
        score=scored["score"],
        band_name=scored["band_name"],
        model=model.name if model else result.model_code,
        reasons=tuple((r["record"], r["text"]) for r in scored["reasons"]),
    )
    own_ids = {r.id for r in own}
    return ArchiveFacts([f for rid, f in facts.items() if rid in own_ids], lists, score)


def _check_self_report_limit(session: Session, subject_id: int, now: dt.datetime) -> None:
    limit = get_settings().self_report_yearly_limit
    if not limit:
        return
    issued = session.scalar(
        select(func.count())
        .select_from(CreditReport)
        .where(
            CreditReport.subject_id == subject_id,
            CreditReport.audience == Audience.SELF.value,
            CreditReport.issued_at > now - dt.timedelta(days=365),
        )
    )
    if (issued or 0) >= limit:
        raise Conflict(
            f"近一年已出具本人信用报告 {issued} 份，已达上限 {limit} 份",
            code="self_report_limit",
        )


def issue_report(
    session: Session,
    actor: Actor,
    protector: IdentityProtector,
    subject: Subject,
    *,
    audience: Audience,
    purpose: str | None = None,
    authorization_id: int | None = None,
    now: dt.datetime | None = None,
) -> IssuedReport:
    """Issue a report of ``subject`` for ``audience``: PDF, HTML, stored hashes, query log."""
    basis = report_basis(actor, subject.id, audience)
    authorization = None
    if audience is Audience.AUTHORIZED:
        authorization = _authorization(session, actor, subject.id, authorization_id)
    else:
        authorization_id = None
    now = now or utcnow()
    if audience is Audience.SELF:
        _check_self_report_limit(session, subject.id, now)
    recipient = authorization_number = None
    if authorization is not None:
        # The authorized version names the institution, the authorization and its purpose
        # (the purpose the person authorized, not one the institution chooses).
        institution = session.get(Institution, authorization.institution_id)
        recipient = institution.name if institution else None
        authorization_number = (
            f"第 {authorization.id} 号（有效期至 {authorization.valid_until:%Y年%m月%d日}）"
        )
        label = PURPOSE_LABELS.get(authorization.purpose, authorization.purpose)
        purpose = f"{label}：{authorization.purpose_text}" if authorization.purpose_text else label
    purpose = (purpose or "").strip()[:200] or DEFAULT_PURPOSES[audience]
    on = now.astimezone(SHANGHAI).date()
    person = subject_fact(protector, subject)
    subject_name, subject_number = public_mask(person)
    facts = gather(session, subject, on)
    for attempt in range(5):
        code = new_verification_code()
        header = ReportHeader(
            report_number=_next_report_number(session, now),
            verification_code=code,
            issued_at=now,
            issuer=issuer_name(),
            audience=audience,
            purpose=purpose,
            verify_url=verify_url(code),
            city=get_settings().city_name,
            recipient=recipient,
            authorization_number=authorization_number,
        )
        content = assemble(header, person, facts.records, facts.lists, facts.score, on)
        pdf = pdf_render.render_pdf(content)
        html = html_render.render_html(content)
        report = CreditReport(
            report_number=header.report_number,
            verification_code=code,
            subject_id=subject.id,
            audience=audience.value,
            authorization_id=authorization_id,
            issued_at=now,
            issuer=header.issuer,
            actor=actor.name,
            channel=actor.channel,
            purpose=purpose,
            basis=basis.value,
            subject_name_masked=subject_name,
            subject_number_masked=subject_number,
            pdf_sha256=_sha256(pdf),
            html_sha256=_sha256(html),
            pdf_size=len(pdf),
        )
        try:
            with session.begin_nested():
                session.add(report)
                session.flush()
        except IntegrityError:
            # Another report took this number at the same moment: number it again.
            if attempt == 4:
                raise
            continue
        break
    context = report.report_number
    session.add(
        CreditReportFile(
            report_id=report.id,
            pdf_cipher=protector.encrypt_bytes(pdf, context),
            html_cipher=protector.encrypt_bytes(html, context),
        )
    )
    log_query(
        session,
        actor,
        subject.id,
        action="report:issue",
        purpose=purpose,
        basis=basis,
        authorization_id=authorization_id,
        organisation=actor.organisation_name,
        returned={
            "report_number": report.report_number,
            "audience": audience.value,
            "records": [
                line.record_id
                for section in content.sections
                for sub in section.subsections
                for line in sub.records
            ],
        },
    )
    log.info(
        "report issued: %s audience=%s actor=%s", report.report_number, audience.value, actor.name
    )
    return IssuedReport(report, content, pdf, html)


def reports_of(session: Session, subject_id: int, limit: int = 50) -> list[CreditReport]:
    """Reports issued about a person, newest first (the person sees every one)."""
    return list(
        session.scalars(
            select(CreditReport)
            .where(CreditReport.subject_id == subject_id)
            .order_by(CreditReport.issued_at.desc(), CreditReport.id.desc())
            .limit(limit)
        )
    )


def get_report(session: Session, report_number: str) -> CreditReport:
    report = session.scalar(select(CreditReport).where(CreditReport.report_number == report_number))
    if report is None:
        raise NotFound("报告不存在", code="report_not_found")
    return report


def report_file(
    session: Session,
    actor: Actor,
    protector: IdentityProtector,
    report_number: str,
    kind: Literal["pdf", "html"],
) -> bytes:
    """The issued file again, byte for byte, for whoever had it issued or the person."""
    report = get_report(session, report_number)
    own = actor.role == Role.PERSON and actor.subject_id == report.subject_id
    if not (own or actor.is_admin or actor.name == report.actor):
        raise Forbidden("只能下载本人或本机构出具的信用报告", code="not_own_report")
    stored = session.get(CreditReportFile, report.id)
    if stored is None:
        raise NotFound("报告文件已不再保存", code="report_file_gone")
    cipher = stored.pdf_cipher if kind == "pdf" else stored.html_cipher
    data = protector.decrypt_bytes(cipher, report.report_number)
    log_query(
        session,
        actor,
        report.subject_id,
        action="report:download",
        purpose=f"下载信用报告 {report.report_number}",
        basis=QueryBasis.SELF if own else QueryBasis(report.basis),
        authorization_id=report.authorization_id,
        organisation=actor.organisation_name,
        returned={"report_number": report.report_number, "file": kind},
    )
    return data


def _verification(report: CreditReport, matched: Literal["pdf", "html"] | None) -> Verification:
    return Verification(
        report_number=report.report_number,
        issued_at=report.issued_at,
        issuer=report.issuer,
        audience=report.audience,
        audience_label=AUDIENCE_LABELS[Audience(report.audience)],
        subject_name=report.subject_name_masked,
        subject_number=report.subject_number_masked,
        pdf_sha256=report.pdf_sha256,
        html_sha256=report.html_sha256,
        matched=matched,
    )


def _by_code(session: Session, code: str) -> CreditReport | None:
    code = code.strip().upper()
    if not code or len(code) > 32:
        return None
    return session.scalar(select(CreditReport).where(CreditReport.verification_code == code))


def _code_hint(code: str) -> str:
    # Enough to correlate log lines, not enough to use the code.
    return (code[:4] + "…") if code else "(空)"


def verify_code(session: Session, code: str) -> Verification:
    """What the QR code leads to: the report's number, time, masked subject and hashes."""
    report = _by_code(session, code)
    if report is None:
        log.warning("report verification refused: unknown code %s", _code_hint(code))
        raise NotFound("报告不存在", code="report_not_found")
    log.info("report verified by code: %s", report.report_number)
    return _verification(report, None)


def verify_file(session: Session, data: bytes) -> Verification:
    """Whether a PDF or HTML file is a report as issued, byte for byte."""
    kind: Literal["pdf", "html"]
    if data.startswith(b"%PDF"):
        kind, keys = "pdf", pdf_render.find_report_keys(data)
    else:
        kind, keys = "html", html_render.find_report_keys(data)
    if not keys:
        log.warning("report verification refused: no report number or code in the %s file", kind)
        raise InvalidInput(
            "文件中没有信用报告编号和验证码，不是本平台出具的信用报告", code="report_unrecognised"
        )
    report = None
    for _, code in keys:
        report = _by_code(session, code)
        if report is not None:
            break
    if report is None:
        log.warning(
            "report verification refused: unknown code %s in a %s file",
            _code_hint(keys[0][1]),
            kind,
        )
        raise NotFound("报告不存在", code="report_not_found")
    expected = report.pdf_sha256 if kind == "pdf" else report.html_sha256
    if not hmac.compare_digest(_sha256(data), expected):
        log.warning(
            "report verification refused: %s file of %s does not match its hash",
            kind,
            report.report_number,
        )
        raise ReportTampered("报告内容已被篡改", code="report_tampered")
    log.info("report verified by file: %s (%s)", report.report_number, kind)
    return _verification(report, kind)
