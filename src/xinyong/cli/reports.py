"""xinyong report ID_NUMBER --audience … --out FILE.pdf · xinyong report verify FILE.pdf."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.core import TyperGroup

from xinyong.accounts.models import Institution
from xinyong.actors import Actor, Role, cli_operator
from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.errors import XinyongError
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.reports.content import AUDIENCE_LABELS
from xinyong.subjects.services import find_subject


class _IssueByDefault(TyperGroup):
    """``xinyong report ID …`` (or ``xinyong report --authorization N …``, the person named
    by the authorization) is ``xinyong report issue …``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's vendored click
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["issue", *args]
        return super().parse_args(ctx, args)


class AudienceChoice(enum.StrEnum):
    SELF = "self"
    AUTHORIZED = "authorized"
    PUBLIC = "public"


report_app = typer.Typer(
    cls=_IssueByDefault,
    help="信用报告：出具（xinyong report 身份证号 --audience self --out 报告.pdf）与核验。",
    no_args_is_help=True,
)


def _window_institution(session: Session, name: str | None) -> Actor:
    """At a service window the operator issues an authorized report for the institution that
    presents the person's authorization; the query is the institution's, not the office's."""
    if not name:
        fail("授权查询版须用 --institution 指明持授权的查询机构")
    found = session.scalar(select(Institution).where(Institution.name == name.strip()))
    if found is None:
        fail(f"查询机构不存在：{name}")
    return Actor(
        name="cli:window",
        role=Role.INSTITUTION,
        channel="cli",
        organisation=found.name,
        institution_id=found.id,
    )


@report_app.command("issue")
def issue(
    out: Annotated[Path, typer.Option("--out", help="PDF 文件写入位置")],
    id_number: Annotated[
        str | None,
        typer.Argument(help="身份证号或统一社会信用代码（授权查询版可省略：以授权所指的人为准）"),
    ] = None,
    audience: Annotated[
        AudienceChoice,
        typer.Option(help="报告版本：self 本人版、authorized 授权查询版、public 社会公开版"),
    ] = AudienceChoice.SELF,
    authorization: Annotated[
        int | None, typer.Option("--authorization", help="授权编号（授权查询版必填）")
    ] = None,
    institution: Annotated[
        str | None,
        typer.Option("--institution", help="授权查询版：持授权前来办理的查询机构名称（窗口代办）"),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="另存 HTML 版本")] = None,
    purpose: Annotated[str | None, typer.Option(help="查询目的")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """出具信用报告（PDF，可另存 HTML）；出具即查询，记入查询记录。"""
    # Imported here, not at the top: reportlab and PIL add ≈ 11 MB to every other command,
    # the importer's memory budget included.
    from xinyong.reports.services import issue_report, verify_url

    protector = protector_for()
    with cli_session() as session:
        if id_number is None:
            if audience is not AudienceChoice.AUTHORIZED or authorization is None:
                fail("请给出身份证号或统一社会信用代码（授权查询版可只给 --authorization）")
            from xinyong.authorizations.models import Authorization
            from xinyong.subjects.models import Subject

            granted = session.get(Authorization, authorization)
            subject = session.get(Subject, granted.subject_id) if granted else None
            if subject is None:
                fail(f"授权第 {authorization} 号不存在")
        else:
            subject = find_subject(session, protector, id_number)
        if subject is None:
            fail("档案中没有该主体")
        actor = cli_operator()
        if audience is AudienceChoice.AUTHORIZED:
            actor = _window_institution(session, institution)
        issued = issue_report(
            session,
            actor,
            protector,
            subject,
            audience=Audience(audience.value),
            purpose=purpose,
            authorization_id=authorization,
        )
        report = issued.report
        try:
            out.write_bytes(issued.pdf)
            if html is not None:
                html.write_bytes(issued.html)
        except OSError as exc:
            fail(f"无法写入报告文件：{exc.strerror}")
    data: dict[str, Any] = {
        "report_number": report.report_number,
        "issued_at": report.issued_at.isoformat(),
        "audience": report.audience,
        "verification_code": report.verification_code,
        "verify_url": verify_url(report.verification_code),
        "pdf": str(out),
        "pdf_sha256": report.pdf_sha256,
        "html": str(html) if html else None,
        "html_sha256": report.html_sha256,
    }
    if as_json:
        print_json(data)
        return
    console.print(
        f"已出具信用报告 [bold]{report.report_number}[/bold]"
        f"（{AUDIENCE_LABELS[Audience(report.audience)]}），验证码 {report.verification_code}"
    )
    console.print(f"PDF：{out}" + (f"　HTML：{html}" if html else ""))
    console.print(f"核验地址：{data['verify_url']}")


@report_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="信用报告文件（PDF 或 HTML）")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """核验信用报告文件是否为平台出具且未被篡改。"""
    # Imported here, not at the top: reportlab and PIL add ≈ 11 MB to every other command,
    # the importer's memory budget included.
    from xinyong.reports.services import verify_file

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"无法读取文件 {file}：{exc.strerror}")
    with cli_session() as session:
        try:
            result = verify_file(session, data)
        except XinyongError as exc:
            if as_json:
                print_json({"valid": False, "code": exc.code, "message": exc.message})
                raise typer.Exit(1) from None
            fail(f"核验未通过：{exc.message}")
    if as_json:
        print_json(result.as_dict())
        return
    console.print(f"[green]核验通过[/green]：文件与平台出具的报告 {result.report_number} 完全一致")
    console.print(
        f"出具时间 {result.issued_at.isoformat()}　信息主体 {result.subject_name}"
        f"（{result.subject_number}）　版本 {result.audience_label}"
    )
    console.print(f"SHA-256 {result.pdf_sha256 if result.matched == 'pdf' else result.html_sha256}")
