"""Credit reports: issue, download, verify. Identity numbers travel in bodies, never in URLs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from xinyong.accounts.permissions import Permission
from xinyong.actors import Actor, Role
from xinyong.authorized import authorized_report
from xinyong.errors import InvalidInput, NotFound
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.reports.content import AUDIENCE_LABELS
from xinyong.reports.models import CreditReport
from xinyong.reports.services import (
    issue_report,
    report_file,
    verify_code,
    verify_file,
    verify_url,
)
from xinyong.subjects.models import Subject
from xinyong.subjects.services import find_subject, get_subject
from xinyong.web.deps import SessionDep, permission

router = APIRouter(tags=["信用报告 reports"])

# Who may ask at all; which version each may have is reports.services.report_basis.
ReportActorDep = Annotated[Actor, permission(Permission.ISSUE_REPORT)]

MAX_VERIFY_BYTES = 20 * 1024 * 1024


class ReportCreate(BaseModel):
    subject_id: int | None = Field(default=None, description="信用主体编号")
    id_number: str | None = Field(
        default=None, min_length=1, max_length=64, description="身份证号或统一社会信用代码"
    )
    id_type: str | None = Field(default=None, description="证件类型；默认按号码识别")
    audience: Literal["self", "authorized", "public"] = Field(
        description="报告版本：self 本人版、authorized 授权查询版、public 社会公开版"
    )
    authorization_id: int | None = Field(default=None, description="授权编号（授权查询版必填）")
    purpose: str | None = Field(default=None, max_length=200, description="查询目的")

    @model_validator(mode="after")
    def _one_subject(self) -> ReportCreate:
        if self.subject_id is not None and self.id_number is not None:
            raise ValueError("subject_id 与 id_number 只能提供一个")
        return self


class MaskedSubject(BaseModel):
    name: str
    id_number: str


class ReportRead(BaseModel):
    report_number: str
    issued_at: str
    issuer: str
    audience: str
    audience_label: str
    subject: MaskedSubject
    verification_code: str
    verify_url: str
    pdf_sha256: str
    html_sha256: str
    pdf_url: str
    html_url: str


class VerificationRead(BaseModel):
    valid: bool
    report_number: str
    issued_at: str
    issuer: str
    audience: str
    audience_label: str
    subject: MaskedSubject
    pdf_sha256: str
    html_sha256: str
    matched: str | None


def _subject(session: SessionDep, actor: Actor, body: ReportCreate) -> Subject:
    if body.id_number is not None:
        subject = find_subject(session, protector_for(), body.id_number, body.id_type)
        if subject is None:
            raise NotFound("档案中没有该主体", code="subject_not_found")
        return subject
    if body.subject_id is not None:
        return get_subject(session, body.subject_id)
    if actor.role == Role.PERSON and actor.subject_id is not None:
        return get_subject(session, actor.subject_id)
    raise InvalidInput("请提供 subject_id 或 id_number", code="subject_required")


def _read(report: CreditReport) -> dict[str, Any]:
    return {
        "report_number": report.report_number,
        "issued_at": report.issued_at.isoformat(),
        "issuer": report.issuer,
        "audience": report.audience,
        "audience_label": AUDIENCE_LABELS[Audience(report.audience)],
        "subject": {"name": report.subject_name_masked, "id_number": report.subject_number_masked},
        "verification_code": report.verification_code,
        "verify_url": verify_url(report.verification_code),
        "pdf_sha256": report.pdf_sha256,
        "html_sha256": report.html_sha256,
        "pdf_url": f"/api/v1/reports/{report.report_number}.pdf",
        "html_url": f"/api/v1/reports/{report.report_number}.html",
    }


@router.post("/reports", response_model=ReportRead, status_code=201)
def create(body: ReportCreate, session: SessionDep, actor: ReportActorDep) -> Any:
    """出具信用报告 (PDF + HTML); the read is logged in the person's query log. The
    authorized version needs no identity number: the authorization names the person."""
    if (
        body.audience == Audience.AUTHORIZED.value
        and body.authorization_id is not None
        and body.subject_id is None
        and body.id_number is None
    ):
        return _read(authorized_report(session, actor, body.authorization_id))
    subject = _subject(session, actor, body)
    issued = issue_report(
        session,
        actor,
        protector_for(),
        subject,
        audience=Audience(body.audience),
        purpose=body.purpose,
        authorization_id=body.authorization_id,
    )
    return _read(issued.report)


@router.get(
    "/reports/{report_number}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def download_pdf(report_number: str, session: SessionDep, actor: ReportActorDep) -> Response:
    """The issued PDF, byte for byte."""
    data = report_file(session, actor, protector_for(), report_number, "pdf")
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{report_number}.pdf"'},
    )


@router.get(
    "/reports/{report_number}.html",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}}},
)
def download_html(report_number: str, session: SessionDep, actor: ReportActorDep) -> Response:
    """The issued HTML version, byte for byte."""
    data = report_file(session, actor, protector_for(), report_number, "html")
    # The page is self-contained: no scripts, no requests; only its inline styles and SVG.
    return Response(
        data,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


@router.get("/reports/verify/{code}", response_model=VerificationRead)
def verify_by_code(code: str, session: SessionDep) -> Any:
    """报告核验 (no key needed): number, issue time, masked subject, audience and hashes."""
    return verify_code(session, code).as_dict()


async def _uploaded_file(request: Request) -> bytes:
    """The report file: form field ``file`` (multipart/form-data) or the request body itself
    (application/pdf, text/html), at most ``MAX_VERIFY_BYTES``."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("请以 file 字段上传报告文件", code="missing_file")
        data = await upload.read(MAX_VERIFY_BYTES + 1)
    else:
        chunks, size = [], 0
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_VERIFY_BYTES:
                break
        data = b"".join(chunks)
    if len(data) > MAX_VERIFY_BYTES:
        raise InvalidInput("文件过大，不是本平台出具的信用报告", code="report_unrecognised")
    return data


@router.post("/reports/verify", response_model=VerificationRead)
async def verify_upload(request: Request, session: SessionDep) -> Any:
    """Check a report file (PDF or HTML) against the issued one, byte for byte: upload it as
    form field ``file`` (multipart/form-data) or send it as the body (application/pdf)."""
    data = await _uploaded_file(request)
    result = await run_in_threadpool(verify_file, session, data)
    return result.as_dict()
