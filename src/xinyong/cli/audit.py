"""xinyong audit …: verify the chain, sign anchors, scan for abuse, handle alerts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from xinyong.actors import cli_operator
from xinyong.audit import alerts as audit_alerts
from xinyong.audit import anchors as audit_anchors
from xinyong.audit import services as audit
from xinyong.audit.chain import PROBLEM_NAMES, AnchorPoint, Verification
from xinyong.audit.rules import SHANGHAI
from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.config import get_settings
from xinyong.db import session_factory, utcnow
from xinyong.errors import XinyongError

audit_app = typer.Typer(help="安全审计：审计链校验、签名锚点、异常监测与告警", no_args_is_help=True)

EXIT_BROKEN = 3


@audit_app.command("verify")
def verify(
    anchors: Annotated[
        Path | None,
        typer.Option("--anchors", help="锚点目录：同时核对每个签名锚点（默认为自动锚点的目录）"),
    ] = None,
    public_key: Annotated[
        str | None, typer.Option(help="核验锚点的公钥（Base64）；默认取配置")
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="从第 1 号事件起逐条校验整条链（默认自上次校验点起，只校验新增的事件）"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """校验审计链（带密钥的哈希链）：默认自上次校验点起校验新增的事件（校验点本身及锚点也核对），
    --full 逐条校验整条链；发现篡改、删除、插入、调换或整链改写时指出第一个异常事件（退出码 3）。"""
    settings = get_settings()
    points = None
    directory = anchors
    if directory is None and any(settings.anchor_dir.glob("anchor-*.json")):
        directory = settings.anchor_dir  # the automatic anchors
    if directory is not None:
        try:
            key = audit_anchors.public_key(settings, public_key)
            points = audit_anchors.read_anchors(directory, key)
        except XinyongError as exc:
            fail(exc.message, EXIT_BROKEN if exc.code.startswith("anchor") else 1)
    result = _verify_full(points) if full else _verify_incremental(points)
    # Recorded in a transaction of its own: a chain broken badly enough not to take the
    # event must still be reported.
    recorded = True
    try:
        with session_factory()() as session:
            audit.save_checkpoint(session, result)
            audit.record_event(session, cli_operator(), "audit:chain:verified", details={"ok": result.ok, "events": result.events, "full": full, "verified_from": result.verified_from, "anchors": len(points or []), "first_bad_seq": result.first_bad_seq, "problem": result.problem})  # fmt: skip
            session.commit()
    except (SQLAlchemyError, XinyongError):
        recorded = False
    if as_json:
        data = result.as_dict()
        data["full"] = full
        data["anchors"] = len(points or [])
        data["recorded"] = recorded
        print_json(data)
    elif result.ok:
        extra = f"，{len(points)} 个签名锚点均相符" if points else ""
        scope = (
            f"自第 {result.verified_from} 号（上次校验点）起校验了 {result.events} 个事件"
            if result.verified_from
            else f"共 {result.events} 个事件"
        )
        console.print(f"审计链完整：{scope}，最后一个为第 {result.last_seq} 号{extra}")
    else:
        console.print(
            f"[red]审计链异常[/red]：{PROBLEM_NAMES.get(result.problem or '', '')}——"
            f"第 {result.first_bad_seq} 号事件。{result.message}"
        )
    if not recorded and not as_json:
        console.print("[red]本次校验未能记入审计链[/red]（审计链须先接续或调查）")
    if not result.ok:
        raise typer.Exit(EXIT_BROKEN)


def _verify_full(points: list[AnchorPoint] | None) -> Verification:
    with cli_session() as session:
        result = audit.verify(session, points)
        session.rollback()
    return result


def _verify_incremental(points: list[AnchorPoint] | None) -> Verification:
    """From the last checkpoint to the head, one batch (``audit_verify_batch``) at a time,
    the checkpoint saved after each intact batch; the anchors checked at the end (before a
    checkpoint the chain no longer holds is reported)."""
    walked, began = 0, None
    while True:
        with cli_session() as session:
            step = audit.verify_incremental(session)
            session.rollback()
        walked += step.events
        began = step.verified_from if began is None else began
        if not step.ok or step.complete:
            break
        with session_factory()() as session:
            audit.save_checkpoint(session, step)
            session.commit()
    result = dataclasses.replace(step, events=walked, verified_from=began)
    # A checkpoint the chain no longer holds says less than an anchor it no longer holds.
    if points and (result.ok or result.problem == "checkpoint"):
        with cli_session() as session:
            failed = audit.anchors_problem(session, points)
            session.rollback()
        if failed is not None:
            result = dataclasses.replace(
                result,
                ok=False,
                first_bad_seq=failed.first_bad_seq,
                problem=failed.problem,
                message=failed.message,
            )
    return result


@audit_app.command("anchor")
def anchor(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="锚点文件写入的目录（应在数据库之外保管）；默认为自动锚点的目录"
        ),
    ] = None,
) -> None:
    """先校验审计链（自上一个锚点起，没有锚点时全链），完好才对链头签名（Ed25519）并写出锚点文件；
    链已损坏时拒绝签名，指出第一个异常事件（退出码 3）。每日任务和每满 N 个事件时也会自动执行。"""
    directory = out or get_settings().anchor_dir
    try:
        outcome = audit.sign_anchor(session_factory(), directory, cli_operator())
    except XinyongError as exc:
        fail(exc.message, EXIT_BROKEN if exc.code.startswith("anchor") else 1)
    result, last = outcome.result, outcome.previous
    if outcome.path is None:
        fail(
            f"审计链异常，拒绝签名：{PROBLEM_NAMES.get(result.problem or '', '')}——"
            f"第 {result.first_bad_seq} 号事件。{result.message}",
            EXIT_BROKEN,
        )
    checked = f"自第 {last.seq} 号（上一个锚点）起" if last else "全链"
    console.print(
        f"已校验{checked}共 {result.events} 个事件，签名第 {result.last_seq} 号事件的链头："
        f"{outcome.path}",
        soft_wrap=True,
    )


@audit_app.command("keygen")
def keygen() -> None:
    """生成锚点签名密钥对：私钥配置为 XINYONG_AUDIT_SIGNING_KEY，公钥交审计员保管。"""
    pair = audit_anchors.generate_key_pair()
    console.print(f"XINYONG_AUDIT_SIGNING_KEY={pair.private}", highlight=False, soft_wrap=True)
    console.print(f"XINYONG_AUDIT_PUBLIC_KEY={pair.public}", highlight=False, soft_wrap=True)


@audit_app.command("events")
def events(
    actor: Annotated[str | None, typer.Option(help="操作者，如 user:clerk1")] = None,
    action: Annotated[
        str | None, typer.Option(help="动作前缀，如 query: 或 accounts:login")
    ] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """列出审计事件（最新在前）。"""
    with cli_session() as session:
        where = audit.EventFilter(actor=actor, action_prefix=action)
        rows = audit.read_events(session, cli_operator(), where, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("序号", "时间", "动作", "操作者", "对象", "目的")
    for r in rows:
        at = dt.datetime.fromisoformat(r["occurred_at"]).astimezone(SHANGHAI)
        target = f"{r['target_type']}:{r['target_id']}" if r["target_type"] else "-"
        table.add_row(
            str(r["seq"]), f"{at:%Y-%m-%d %H:%M:%S}", r["action_name"], r["actor"], target,
            r["purpose"] or "-",
        )  # fmt: skip
    console.print(table)


@audit_app.command("scan")
def scan(
    date: Annotated[
        str | None, typer.Option("--date", help="扫描的日期（北京时间），默认昨天和今天")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """按异常规则扫描审计记录，产生告警（重复扫描不会重复告警）。建议每日及每小时执行。"""
    if date:
        try:
            days = [dt.date.fromisoformat(date)]
        except ValueError:
            fail("日期格式应为 YYYY-MM-DD")
    else:
        today = utcnow().astimezone(SHANGHAI).date()
        days = [today - dt.timedelta(days=1), today]
    with cli_session() as session:
        result = audit_alerts.scan(session, cli_operator(), days)
    if as_json:
        print_json(
            {"days": result.days, "raised": result.raised, "already_known": result.already_known}
        )
    else:
        console.print(
            f"已扫描 {'、'.join(result.days)}：新告警 {len(result.raised)} 条，"
            f"已有告警 {result.already_known} 条"
        )


@audit_app.command("alerts")
def alerts(
    include_all: Annotated[bool, typer.Option("--all", help="包括已确认的告警")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """列出异常告警（默认只列待处理的）。"""
    with cli_session() as session:
        rows = audit_alerts.list_alerts(session, cli_operator(), include_acknowledged=include_all)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("没有待处理的告警")
        return
    table = Table("编号", "规则", "级别", "对象", "说明", "状态")
    for r in rows:
        table.add_row(
            str(r["id"]), r["rule_name"], r["severity_name"], r["actor"], r["message"],
            r["status_name"],
        )  # fmt: skip
    console.print(table)


@audit_app.command("ack")
def ack(
    alert_id: Annotated[int, typer.Argument(help="告警编号")],
    note: Annotated[str, typer.Option("--note", help="处理说明")],
) -> None:
    """确认告警并记录处理说明。"""
    with cli_session() as session:
        audit_alerts.acknowledge(session, cli_operator(), alert_id, note)
    console.print(f"已确认告警 {alert_id}")
