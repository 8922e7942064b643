"""xinyong partitions …: the PostgreSQL partitions of records, query_log and audit_events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from xinyong import partitions
from xinyong.cli.common import cli_session, console, print_json

partitions_app = typer.Typer(help="分区维护（仅 PostgreSQL）", no_args_is_help=True)


@partitions_app.command("ensure")
def ensure_command(
    months: Annotated[int, typer.Option("--months", min=0, help="提前创建的月数")] = 3,
) -> None:
    """提前创建查询记录（按年）与审计事件（按月）的分区；默认分区中已落入的数据随之迁入。可重复执行。"""
    with cli_session() as session:
        made = partitions.ensure(session.connection(), dt.date.today(), months=months)
    console.print(f"新建分区 {len(made)} 个" + (f"：{', '.join(made)}" if made else ""))


@partitions_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """列出各分区的范围、估计行数与大小。"""
    with cli_session() as session:
        rows = partitions.sizes(session.connection())
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("没有分区（SQLite，或尚未迁移）")
        return
    table = Table("表", "分区", "范围", "估计行数", "大小 (MB)")
    for r in rows:
        table.add_row(
            r["table"], r["partition"], r["bound"], f"{r['rows']:,}", f"{r['bytes'] / 2**20:,.1f}"
        )
    console.print(table)
