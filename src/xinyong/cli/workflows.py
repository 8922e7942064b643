"""xinyong objection|repair|commitment|tipoff|notices: the workflows from the console.

The console operator acts with the credit office's authority (信用办窗口); ``--department
CODE`` acts as that department's reviewer instead, for the decisions that belong to the
department that made the finding (谁认定谁修复)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.actors import Actor, Role, cli_operator
from xinyong.catalog.models import Department
from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.errors import NotFound
from xinyong.workflows.evidence import Upload

objection_app = typer.Typer(help="异议：提出、受理、延期、处理", no_args_is_help=True)
repair_app = typer.Typer(help="信用修复：条件查询、申请、审核", no_args_is_help=True)
commitment_app = typer.Typer(help="信用承诺：作出、履约认定", no_args_is_help=True)
tipoff_app = typer.Typer(help="举报：提交、查询、办理", no_args_is_help=True)
notices_app = typer.Typer(help="信用告知：发送待发通知", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="以 JSON 输出")]
DeptOpt = Annotated[
    str | None, typer.Option("--department", help="以该部门审核员身份办理（部门代码）")
]
EvidenceOpt = Annotated[
    list[Path] | None, typer.Option("--evidence", help="证明材料（PDF/PNG/JPG/DOCX），可多次指定")
]


def register(app: typer.Typer) -> None:
    app.add_typer(objection_app, name="objection")
    app.add_typer(repair_app, name="repair")
    app.add_typer(commitment_app, name="commitment")
    app.add_typer(tipoff_app, name="tipoff")
    app.add_typer(notices_app, name="notices")


def _actor(session: Session, department: str | None) -> Actor:
    if not department:
        return cli_operator()
    dept = session.scalar(select(Department).where(Department.code == department))
    if dept is None:
        raise NotFound(f"部门 {department} 未登记", code="unknown_department")
    return Actor(
        name=f"cli:{dept.code}",
        role=Role.REVIEWER,
        department_id=dept.id,
        department_code=dept.code,
        channel="cli",
    )


def _uploads(paths: list[Path] | None) -> list[Upload]:
    uploads = []
    for path in paths or []:
        try:
            uploads.append(Upload(path.name, path.read_bytes()))
        except OSError:
            fail(f"无法读取文件 {path.name}")
    return uploads


def _corrections(
    grade: str | None, behaviour: str | None, decision_date: str | None, facts: list[str] | None
) -> dict[str, Any]:
    corrections: dict[str, Any] = {}
    if grade:
        corrections["grade"] = grade
    if behaviour is not None:
        corrections["behaviour"] = behaviour
    if decision_date:
        corrections["decision_date"] = decision_date
    if facts:
        pairs = {}
        for fact in facts:
            key, sep, value = fact.partition("=")
            if not sep or not key.strip():
                fail(f"--fact 应为 字段=值：{fact}")
            pairs[key.strip()] = value
        corrections["facts"] = pairs
    return corrections


def _show(data: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{title}[/bold] 编号 {data['id']}：{data['state_name']}")
    for key in ("document_number", "decide_by", "decision_reason", "code"):
        if data.get(key):
            mark = "（暂定）" if key == "decide_by" and data.get("provisional") else ""
            console.print(f"  {key}: {data[key]}{mark}")


# -- objections ---------------------------------------------------------------------------


@objection_app.command("file")
def objection_file(
    record_id: Annotated[int, typer.Argument(help="记录编号")],
    reason: Annotated[str, typer.Option("--reason", help="异议理由")],
    evidence: EvidenceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """代信息主体提出异议（信用办窗口受理）：记录即标注为异议处理中。"""
    from xinyong.objections.services import file_objection, objection_as_dict

    with cli_session() as session:
        actor = cli_operator()
        objection = file_objection(
            session, actor, record_id, reason=reason, evidence=_uploads(evidence)
        )
        data = objection_as_dict(session, objection, actor)
    _show(data, as_json, "异议已提交")


@objection_app.command("accept")
def objection_accept(
    objection_id: Annotated[int, typer.Argument(help="异议编号")],
    department: DeptOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """受理异议。"""
    from xinyong.objections.services import accept_objection, objection_as_dict

    with cli_session() as session:
        actor = _actor(session, department)
        data = objection_as_dict(session, accept_objection(session, actor, objection_id), actor)
    _show(data, as_json, "异议已受理")


@objection_app.command("extend")
def objection_extend(
    objection_id: Annotated[int, typer.Argument(help="异议编号")],
    reason: Annotated[str, typer.Option("--reason", help="延期理由")],
    department: DeptOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """延长异议处理期限（仅一次）。"""
    from xinyong.objections.services import extend_objection, objection_as_dict

    with cli_session() as session:
        actor = _actor(session, department)
        obj = extend_objection(session, actor, objection_id, reason=reason)
        data = objection_as_dict(session, obj, actor)
    _show(data, as_json, "异议已延期")


@objection_app.command("decide")
def objection_decide(
    objection_id: Annotated[int, typer.Argument(help="异议编号")],
    outcome: Annotated[str, typer.Option("--outcome", help="corrected | revoked | upheld")],
    reason: Annotated[str, typer.Option("--reason", help="处理理由")],
    grade: Annotated[str | None, typer.Option(help="更正后的失信等级（轻微/一般/严重）")] = None,
    behaviour: Annotated[str | None, typer.Option(help="更正后的失信行为")] = None,
    decision_date: Annotated[str | None, typer.Option(help="更正后的决定日期 YYYY-MM-DD")] = None,
    fact: Annotated[list[str] | None, typer.Option("--fact", help="更正字段：字段=值")] = None,
    department: DeptOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """处理异议：更正、撤销记录或维持原记录，并告知信息主体。"""
    from xinyong.objections.services import decide_objection, objection_as_dict

    with cli_session() as session:
        actor = _actor(session, department)
        obj = decide_objection(
            session,
            actor,
            objection_id,
            outcome=outcome,
            reason=reason,
            corrections=_corrections(grade, behaviour, decision_date, fact),
        )
        data = objection_as_dict(session, obj, actor)
    _show(data, as_json, "异议已处理")


@objection_app.command("show")
def objection_show(
    objection_id: Annotated[int, typer.Argument(help="异议编号")], as_json: JsonOpt = False
) -> None:
    """查看异议及其办理经过（查看将被记录）。"""
    from xinyong.objections.services import read_objection

    with cli_session() as session:
        data = read_objection(session, cli_operator(), objection_id)
    _show(data, as_json, "异议")


@objection_app.command("list")
def objection_list(
    state: Annotated[str | None, typer.Option(help="按状态筛选，如 escalated")] = None,
    as_json: JsonOpt = False,
) -> None:
    """列出异议（查看将被记录）。"""
    from xinyong.objections.services import list_objections

    with cli_session() as session:
        rows = list_objections(session, cli_operator(), state=state)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(
            f"{row['id']}\t{row['state_name']}\t记录 {row['record_id']}\t期限 {row['decide_by']}"
            + ("（暂定）" if row.get("provisional") else "")
        )


@objection_app.command("escalate")
def objection_escalate(as_json: JsonOpt = False) -> None:
    """把逾期未处理的异议转信用办督办（每日任务，可重复运行）。"""
    from xinyong.actors import SYSTEM
    from xinyong.objections.services import escalate_overdue

    with cli_session() as session:
        ids = [o.id for o in escalate_overdue(session, SYSTEM, dt.date.today())]
    if as_json:
        print_json({"escalated": ids})
    else:
        console.print(f"转督办 {len(ids)} 件")


@objection_app.command("review-outcome")
def objection_review_outcome(
    record_id: Annotated[int, typer.Argument(help="记录编号")],
    kind: Annotated[str, typer.Option(help="reconsideration（行政复议）| litigation（行政诉讼）")],
    outcome: Annotated[str, typer.Option(help="revoked | corrected")],
    document: Annotated[str, typer.Option(help="复议决定书或裁判文书号")],
    reason: Annotated[str, typer.Option(help="理由")],
    grade: Annotated[str | None, typer.Option(help="更正后的失信等级")] = None,
    department: DeptOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """录入行政复议、行政诉讼结果：撤销或更正记录。"""
    from xinyong.objections.services import enter_review_outcome

    with cli_session() as session:
        actor = _actor(session, department)
        record = enter_review_outcome(
            session,
            actor,
            record_id,
            kind=kind,
            outcome=outcome,
            document=document,
            reason=reason,
            corrections=_corrections(grade, None, None, None),
        )
        data = {"record_id": record.id, "state": record.state, "version": record.version}
    if as_json:
        print_json(data)
    else:
        console.print(f"记录 {data['record_id']}：{data['state']}（版本 {data['version']}）")


# -- repair -------------------------------------------------------------------------------


@repair_app.command("check")
def repair_check(
    record_id: Annotated[int, typer.Argument(help="记录编号")],
    on: Annotated[str | None, typer.Option(help="按该日期判断 YYYY-MM-DD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """该记录现在能否申请信用修复；不能的，何时可以、还缺什么。"""
    from xinyong.repair.services import check_repair

    day = _date(on)
    with cli_session() as session:
        data = check_repair(session, cli_operator(), record_id, on=day)
    if as_json:
        print_json(data)
        return
    if data["eligible"]:
        console.print(f"记录 {record_id}（{data['item_name']}）[green]现在可以申请信用修复[/green]")
    elif data["eligible_from"]:
        console.print(
            f"记录 {record_id}（{data['item_name']}）{data['eligible_from']} 起可申请信用修复"
        )
    else:
        console.print(f"记录 {record_id}（{data['item_name']}）[red]目前不能申请信用修复[/red]")
    for m in data["missing"]:
        mark = "申请时提供" if m["at_application"] else "尚不满足"
        console.print(f"  · [{mark}] {m['message']}")


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail("日期格式应为 YYYY-MM-DD")


@repair_app.command("apply")
def repair_apply(
    record_id: Annotated[int, typer.Argument(help="记录编号")],
    method: Annotated[str, typer.Option(help="履约|志愿服务|慈善捐助|信用培训|其他（或英文代码）")],
    statement: Annotated[
        str, typer.Option(help="纠正失信行为、履行义务的情况说明")
    ] = "已履行行政决定规定的义务，已纠正失信行为",
    evidence: EvidenceOpt = None,
    commit: Annotated[
        bool, typer.Option("--commit/--no-commit", help="一并作出信用修复承诺")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """代信息主体申请信用修复（信用办窗口受理），一并作出信用修复承诺。"""
    from xinyong.repair.services import application_as_dict, apply_for_repair

    with cli_session() as session:
        actor = cli_operator()
        application = apply_for_repair(
            session,
            actor,
            record_id,
            method=method,
            statement=statement,
            duties_performed=True,
            commit=commit,
            evidence=_uploads(evidence),
        )
        data = application_as_dict(session, application, actor)
    _show(data, as_json, "信用修复申请已提交")


@repair_app.command("decide")
def repair_decide(
    application_id: Annotated[int, typer.Argument(help="申请编号")],
    reason: Annotated[str, typer.Option("--reason", help="审核理由")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="同意或不予修复")],
    department: DeptOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """审核信用修复申请：认定部门（--department）先审，信用办复核。"""
    from xinyong.repair.services import application_as_dict, decide_repair

    with cli_session() as session:
        actor = _actor(session, department)
        application = decide_repair(session, actor, application_id, approve=approve, reason=reason)
        data = application_as_dict(session, application, actor)
    _show(data, as_json, "信用修复申请")


@repair_app.command("show")
def repair_show(
    application_id: Annotated[int, typer.Argument(help="申请编号")], as_json: JsonOpt = False
) -> None:
    """查看修复申请及其办理经过（查看将被记录）。"""
    from xinyong.repair.services import read_application

    with cli_session() as session:
        data = read_application(session, cli_operator(), application_id)
    _show(data, as_json, "信用修复申请")


@repair_app.command("list")
def repair_list(
    state: Annotated[str | None, typer.Option(help="按状态筛选")] = None, as_json: JsonOpt = False
) -> None:
    """列出修复申请（查看将被记录）。"""
    from xinyong.repair.services import list_applications

    with cli_session() as session:
        rows = list_applications(session, cli_operator(), state=state)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        console.print(
            f"{row['id']}\t{row['state_name']}\t记录 {row['record_id']}\t期限 {row['decide_by']}"
            + ("（暂定）" if row.get("provisional") else "")
        )


# -- commitments --------------------------------------------------------------------------


@commitment_app.command("make")
def commitment_make(
    subject_id: Annotated[int, typer.Argument(help="信用主体编号")],
    kind: Annotated[
        str,
        typer.Option(help="approval|tolerance|certification|repair|industry|voluntary|employment"),
    ],
    matter: Annotated[str, typer.Option(help="承诺事项")],
    business_ref: Annotated[str | None, typer.Option(help="对应的业务编号")] = None,
    department: Annotated[str | None, typer.Option(help="承诺受理部门代码")] = None,
    record_id: Annotated[int | None, typer.Option(help="信用修复型：所修复的记录")] = None,
    as_json: JsonOpt = False,
) -> None:
    """代信息主体作出信用承诺（信用办窗口受理）。"""
    from xinyong.commitments.services import commitment_as_dict, make_commitment

    with cli_session() as session:
        commitment = make_commitment(
            session,
            cli_operator(),
            subject_id,
            kind=kind,
            matter=matter,
            business_ref=business_ref,
            department_code=department,
            record_id=record_id,
        )
        data = commitment_as_dict(session, commitment)
    _show(data, as_json, "信用承诺")


@commitment_app.command("assess")
def commitment_assess(
    commitment_id: Annotated[int, typer.Argument(help="承诺编号（数字 id）")],
    outcome: Annotated[str, typer.Option(help="fulfilled | partly | unfulfilled")],
    note: Annotated[str, typer.Option(help="认定说明")],
    department: DeptOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """履约认定；部分履行或未履行的，生成违背信用承诺的失信记录。"""
    from xinyong.commitments.services import assess_commitment, commitment_as_dict

    with cli_session() as session:
        actor = _actor(session, department)
        commitment = assess_commitment(session, actor, commitment_id, outcome=outcome, note=note)
        data = commitment_as_dict(session, commitment)
    _show(data, as_json, "信用承诺")


# -- tip-offs and notices -----------------------------------------------------------------


@tipoff_app.command("track")
def tipoff_track(
    code: Annotated[str, typer.Argument(help="举报查询码")], as_json: JsonOpt = False
) -> None:
    """凭查询码查看举报办理进度。"""
    from xinyong.tipoffs.services import track_tipoff

    with cli_session() as session:
        data = track_tipoff(session, code)
    if as_json:
        print_json(data)
    else:
        console.print(f"{data['state_name']}" + (f"：{data['reply']}" if data["reply"] else ""))


@tipoff_app.command("act")
def tipoff_act(
    tipoff_id: Annotated[int, typer.Argument(help="举报编号")],
    action: Annotated[str, typer.Option(help="route|return|investigate|close|reject")],
    reason: Annotated[str | None, typer.Option(help="处理结果或理由")] = None,
    to: Annotated[str | None, typer.Option("--to", help="转办：责任部门代码")] = None,
    department: DeptOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """办理举报：转办、核查、办结或不予受理。"""
    from xinyong.tipoffs.services import act_on_tipoff, tipoff_as_dict

    with cli_session() as session:
        actor = _actor(session, department)
        tipoff = act_on_tipoff(
            session, actor, tipoff_id, action=action, reason=reason, department_code=to
        )
        data = tipoff_as_dict(session, tipoff)
    _show(data, as_json, "举报")


@notices_app.command("send")
def notices_send(
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="最多发送条数")] = None,
    as_json: JsonOpt = False,
) -> None:
    """发送待发的信用告知，直至发完（或达到 --limit）；站内信必达，短信、邮件按配置。"""
    from xinyong.notices.senders import send_queued

    with cli_session() as session:
        result = send_queued(session, limit=limit, after_batch=session.commit)
    if as_json:
        print_json({"sent": result.sent, "remaining": result.remaining})
    else:
        console.print(f"已发送 {result.sent} 条通知，尚有 {result.remaining} 条待发")
