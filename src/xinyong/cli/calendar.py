"""calendar load/list: the State Council's yearly holiday schedules (节假日安排)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xinyong.actors import cli_operator
from xinyong.cli.common import cli_session, console, print_json
from xinyong.deadlines import load_schedule
from xinyong.workdays.services import year_views

calendar_app = typer.Typer(help="节假日安排（工作日计算）", no_args_is_help=True)


@calendar_app.command("load")
def calendar_load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """载入国务院节假日安排（YAML 或 CSV）：每个年度成为新版本，并重新计算受影响的期限。"""
    with cli_session() as session:
        result = load_schedule(session, cli_operator(), file.read_bytes(), file.name)
    console.print(result.summary)


@calendar_app.command("list")
def calendar_list(
    ahead: Annotated[int, typer.Option(help="列出今年之后的年数")] = 3,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """列出各年度工作日的来源：信用办载入、随平台提供，或暂定（按法定节假日推算）。"""
    with cli_session() as session:
        views = year_views(session, ahead=ahead)
    if as_json:
        print_json(
            [
                {
                    "year": v.year,
                    "source": v.source.value,
                    "provisional": v.provisional,
                    "version": v.version,
                    "notice": v.notice,
                    "off_days": [d.isoformat() for d, _ in v.off_days],
                    "work_days": [d.isoformat() for d, _ in v.work_days],
                }
                for v in views
            ]
        )
        return
    table = Table("年度", "来源", "版本", "放假天数", "调休上班", "通知")
    for v in views:
        table.add_row(
            str(v.year),
            v.source_name,
            str(v.version or "—"),
            str(len(v.off_days)),
            "、".join(f"{d:%m-%d}" for d, _ in v.work_days) or "—",
            v.notice or "—",
        )
    console.print(table)
    if any(v.provisional for v in views):
        console.print("暂定年度的期限按法定节假日和周末计算，载入该年度安排后自动重新计算。")
