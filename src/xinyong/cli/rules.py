"""expire, rescore, score, lists: the archive's rules from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong import partitions
from xinyong.actors import cli_operator
from xinyong.catalog.services import current_catalog
from xinyong.changes.records import change_grade
from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.daily import run_daily
from xinyong.identity.protection import protector_for
from xinyong.lists.models import (
    END_REASON_NAMES,
    ENTRY_SOURCE_NAMES,
    ENTRY_STATUS_NAMES,
    LIST_NAMES,
    ListKind,
    label,
)
from xinyong.lists.services import (
    clean_for_three_years,
    decide_blacklisting,
    entries_of,
    notify_blacklisting,
    submit_defence,
)
from xinyong.queries.models import QueryBasis
from xinyong.queries.services import log_query
from xinyong.scoring.presentation import score_as_dict
from xinyong.scoring.services import rescore as run_rescore
from xinyong.scoring.services import score_history, score_subject
from xinyong.subjects.models import LinkRole, SubjectLink
from xinyong.subjects.services import find_subject
from xinyong.workdays.services import calendar_for
from xinyong.workflows.evidence import Upload

lists_app = typer.Typer(help="红黑名单与重点关注名单", no_args_is_help=True)


def _date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"日期格式应为 YYYY-MM-DD：{value}")


def register(app: typer.Typer) -> None:
    @app.command()
    def expire(
        date: Annotated[str | None, typer.Option("--date", help="按该日期执行（默认今天）")] = None,
    ) -> None:
        """每日任务：结束到期的公示期和名单，生成即将到期的告知，逾期异议转信用办督办，异常监测扫描，签名审计锚点。可重复执行。"""
        from xinyong.actors import SYSTEM

        on = _date(date)
        with cli_session() as session:
            # Next months' query-log and audit partitions (PostgreSQL; a no-op once made).
            partitions.ensure(session.connection(), max(on, dt.date.today()), months=3)
        with cli_session() as session:
            daily = run_daily(session, on)
        result = daily.expire
        if daily.interrupted:
            console.print(f"中断的导入批次 {daily.interrupted} 个已标记为“中断”")
        console.print(
            f"{on}：公示期满 {result.records_expired} 条，移出名单 {result.entries_ended} 条，"
            f"新增到期告知 {result.notices_queued} 条，逾期异议转督办 {daily.escalated} 件"
        )
        # The daily job also runs the abuse rules over yesterday and today (idempotent).
        from xinyong.audit.alerts import scan

        with cli_session() as session:
            scanned = scan(session, SYSTEM, [on - dt.timedelta(days=1), on])
        if scanned.raised:
            console.print(f"异常监测：新告警 {len(scanned.raised)} 条（xinyong audit alerts 查看）")
        # …and anchors the audit chain (verified since the last anchor, then signed).
        from xinyong.audit.services import sign_anchor
        from xinyong.config import get_settings
        from xinyong.db import session_factory
        from xinyong.errors import XinyongError

        try:
            anchored = sign_anchor(
                session_factory(), get_settings().anchor_dir, SYSTEM, reason="daily"
            )
        except XinyongError as exc:  # no signing key configured, or a forged anchor
            console.print(f"[red]审计锚点未签名[/red]：{exc.message}")
            return
        if anchored.path is None:
            console.print(f"[red]审计链异常，拒绝签名锚点[/red]：{anchored.result.message}")
            raise typer.Exit(3)
        console.print(f"审计锚点：第 {anchored.result.last_seq} 号事件，{anchored.path}")

    @app.command()
    def rescore(
        date: Annotated[str | None, typer.Option("--date", help="按该日期计分（默认今天）")] = None,
    ) -> None:
        """全量重算诚信积分（在数据库内集合运算）。"""
        on = _date(date)
        with cli_session() as session:
            result = run_rescore(session, on)
        console.print(f"积分已重算：{result.changed} 人的分数有变化（未变化的不重写）")

    @app.command()
    def score(
        id_number: Annotated[str, typer.Argument(help="身份证号或统一社会信用代码")],
        what_if_repaired: Annotated[
            int | None, typer.Option("--what-if-repaired", help="假设该记录已修复时的分数")
        ] = None,
        date: Annotated[str | None, typer.Option("--date")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """诚信积分：分数、分档、主要原因和模型版本（查询将被记录）。"""
        on = _date(date)
        with cli_session() as session:
            subject = find_subject(session, protector_for(), id_number)
            if subject is None:
                fail("档案中没有该主体", 1)
            catalog = current_catalog(session)
            result = score_subject(session, subject.id, on)
            data = score_as_dict(result, catalog)
            data["history"] = [
                {"score": h.score, "band": h.band, "computed_on": h.computed_on.isoformat()}
                for h in score_history(session, subject.id)
            ]
            if what_if_repaired is not None:
                ids = {c.record_id for c in result.contributions}
                if what_if_repaired not in ids:
                    fail(f"记录 {what_if_repaired} 不是该主体计入积分的记录")
                alt = score_subject(session, subject.id, on, exclude_record=what_if_repaired)
                data["what_if_repaired"] = {
                    "record": what_if_repaired,
                    "score": alt.score,
                    "band": alt.band_code,
                    "band_name": alt.band_name,
                }
            log_query(
                session,
                cli_operator(),
                subject.id,
                action="score:view",
                purpose="信用办积分查询",
                basis=QueryBasis.ADMINISTRATION,
                returned={"score": result.score},
            )
        if as_json:
            print_json(data)
            return
        console.print(
            f"诚信积分 [bold]{data['score']}[/bold]（{data['band_name']}），模型 {data['model']} v{data['model_version']}"
        )
        for reason in data["reasons"]:
            console.print(f"  · {reason['text']}")
        if "what_if_repaired" in data:
            alt = data["what_if_repaired"]
            console.print(f"若记录 {alt['record']} 修复：{alt['score']}（{alt['band_name']}）")

    @app.command()
    def grade(
        record_id: int,
        to: Annotated[str, typer.Option("--to", help="新等级：轻微/一般/严重 或代码")],
        reason: Annotated[str, typer.Option(help="调整理由（必填）")],
    ) -> None:
        """调整失信记录等级（形成新版本，原版本留存）。"""
        with cli_session() as session:
            record = change_grade(session, cli_operator(), record_id, to, reason)
            grade = current_catalog(session).grades.get(record.grade or "")
            console.print(
                f"记录 {record.id} 已调整为 {grade.name if grade else record.grade}，"
                f"版本 {record.version}"
            )

    app.add_typer(lists_app, name="lists")


def _organisation_of(session: Session, parent_entry_id: int | None) -> str | None:
    """落实到人: the organisation whose entry reached this person."""
    if parent_entry_id is None:
        return None
    from xinyong.lists.models import ListEntry
    from xinyong.subjects.models import Subject

    parent = session.get(ListEntry, parent_entry_id)
    org = session.get(Subject, parent.subject_id) if parent else None
    return org.name if org else None


@lists_app.command("show")
def lists_show(
    id_number: Annotated[str, typer.Argument(help="身份证号或统一社会信用代码")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """某主体的名单记录（含历史）。"""
    with cli_session() as session:
        subject = find_subject(session, protector_for(), id_number)
        if subject is None:
            fail("档案中没有该主体")
        rows = [
            {
                "id": e.id,
                "list": e.list_kind,
                "list_name": LIST_NAMES[ListKind(e.list_kind)],
                "status": e.status,
                "status_name": label(ENTRY_STATUS_NAMES, e.status),
                "source": e.source,
                "source_name": label(ENTRY_SOURCE_NAMES, e.source),
                "record_id": e.record_id,
                "reasons": e.reasons,
                "basis": e.basis,
                "start_date": e.start_date.isoformat() if e.start_date else None,
                "end_date": e.end_date.isoformat() if e.end_date else None,
                "ended_on": e.ended_on.isoformat() if e.ended_on else None,
                "end_reason": e.end_reason,
                "end_reason_name": label(END_REASON_NAMES, e.end_reason),
                "defence_until": e.defence_until.isoformat() if e.defence_until else None,
                "defence_statement": e.defence_statement,
                "decision_reasons": e.decision_reasons,
                "defence_review": e.defence_review,
                "organisation": _organisation_of(session, e.parent_entry_id),
            }
            for e in entries_of(session, subject.id)
        ]
        clean = clean_for_three_years(session, subject.id, dt.date.today())
        log_query(
            session,
            cli_operator(),
            subject.id,
            action="lists:view",
            purpose="信用办名单查询",
            basis=QueryBasis.ADMINISTRATION,
            returned={"entries": [r["id"] for r in rows]},
        )
    if as_json:
        print_json({"entries": rows, "no_negative_record_three_years": clean})
        return
    table = Table("ID", "名单", "状态", "来源", "起", "止", "移出原因", "理由")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["list_name"]),
            str(r["status_name"]),
            str(r["source_name"]),
            str(r["start_date"] or "—"),
            str(r["ended_on"] or r["end_date"] or "—"),
            str(r["end_reason_name"]),
            (f"所在组织 {r['organisation']}：" if r["organisation"] else "")
            + str(r["reasons"] or "")[:40],
        )
    console.print(table)
    if clean:
        console.print("连续三年以上无不良信用记录")


@lists_app.command("notify")
def lists_notify(
    record_id: int,
    reasons: Annotated[str, typer.Option(help="拟列入理由")],
    basis: Annotated[str, typer.Option(help="列入依据")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """启动严重失信主体名单列入程序：告知并开始陈述申辩期。"""
    with cli_session() as session:
        entry = notify_blacklisting(
            session, cli_operator(), record_id, reasons=reasons, basis=basis
        )
        data = {"id": entry.id, "status": entry.status, "defence_until": entry.defence_until}
        if entry.notified_on and entry.defence_until:
            data["provisional"] = calendar_for(session).provisional_between(
                entry.notified_on, entry.defence_until
            )
    if as_json:
        print_json(data)
    else:
        mark = "（暂定）" if data.get("provisional") else ""
        console.print(f"已告知（条目 {data['id']}），陈述申辩截止 {data['defence_until']}{mark}")


@lists_app.command("decide")
def lists_decide(
    entry_id: int,
    list_subject: Annotated[bool, typer.Option("--list/--withdraw", help="列入或不予列入")],
    reasons: Annotated[str | None, typer.Option(help="决定理由")] = None,
    defence_review: Annotated[
        str | None,
        typer.Option("--defence-review", help="对陈述申辩意见的审查和采纳情况（有申辩时必填）"),
    ] = None,
) -> None:
    """作出列入或不予列入决定（陈述申辩期满后，或当事人已申辩）。"""
    with cli_session() as session:
        entry = decide_blacklisting(
            session,
            cli_operator(),
            entry_id,
            list_subject=list_subject,
            reasons=reasons,
            defence_review=defence_review,
        )
        status = entry.status
    console.print(f"条目 {entry_id}：{status}")


@lists_app.command("defence")
def lists_defence(
    entry_id: int,
    statement: Annotated[str, typer.Option(help="陈述申辩意见（当事人书面提交的，由信用办登记）")],
    files: Annotated[list[Path] | None, typer.Option("--file", help="证明材料，可多次给出")] = None,
) -> None:
    """登记当事人以书面方式提交的陈述申辩（本人可在个人中心直接提交）。"""
    uploads = [Upload(f.name, f.read_bytes()) for f in files or []]
    with cli_session() as session:
        entry = submit_defence(session, cli_operator(), entry_id, statement, evidence=uploads)
        until = entry.defence_until
    console.print(f"条目 {entry_id}：已登记陈述申辩（期限 {until}），证明材料 {len(uploads)} 个")


@lists_app.command("link")
def lists_link(
    organisation: Annotated[str, typer.Argument(help="组织的统一社会信用代码")],
    person: Annotated[str, typer.Argument(help="法定代表人或相关责任人的身份证号")],
    role: Annotated[
        str,
        typer.Option(help="legal_representative（法定代表人）或 responsible_person（相关责任人）"),
    ] = "legal_representative",
    valid_from: Annotated[str | None, typer.Option("--from", help="任职起（YYYY-MM-DD）")] = None,
    valid_until: Annotated[str | None, typer.Option("--until", help="任职止（YYYY-MM-DD）")] = None,
) -> None:
    """登记法定代表人、相关责任人的任职期间：落实到人只及于行为发生时在任者。"""
    if role not in {r.value for r in LinkRole}:
        fail(f"角色 {role} 不存在：应为 legal_representative 或 responsible_person")
    start = _date(valid_from) if valid_from else None
    end = _date(valid_until) if valid_until else None
    if start and end and end < start:
        fail(f"任职止（{end}）早于任职起（{start}）")
    with cli_session() as session:
        protector = protector_for()
        org = find_subject(session, protector, organisation)
        someone = find_subject(session, protector, person)
        if org is None or org.kind != "organisation":
            fail("档案中没有该组织")
        if someone is None or someone.kind != "person":
            fail("档案中没有该自然人")
        link = session.scalar(
            select(SubjectLink).where(
                SubjectLink.organisation_id == org.id,
                SubjectLink.person_id == someone.id,
                SubjectLink.role == role,
            )
        )
        if link is None:
            link = SubjectLink(organisation_id=org.id, person_id=someone.id, role=role)
            session.add(link)
        link.valid_from, link.valid_until = start, end
    console.print(f"已登记任职期间：{start or '不详'} 至 {end or '至今'}")
