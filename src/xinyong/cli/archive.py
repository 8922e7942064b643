"""xinyong archive ID_NUMBER."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from xinyong.actors import cli_operator
from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.identity.masking import Audience
from xinyong.queries.models import QueryBasis
from xinyong.records.ingest import protector_for
from xinyong.records.services import read_archive
from xinyong.subjects.services import find_subject


def register(app: typer.Typer) -> None:
    @app.command()
    def archive(
        id_number: Annotated[str, typer.Argument(help="身份证号或统一社会信用代码")],
        purpose: Annotated[str, typer.Option(help="查询目的")] = "信用办档案管理",
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """查看信用主体的诚信档案（查询将被记录）。"""
        protector = protector_for()
        with cli_session() as session:
            subject = find_subject(session, protector, id_number)
            if subject is None:
                if as_json:
                    print_json({"subject": None, "records": []})
                    return
                fail("档案中没有该主体的记录", 0)
            result = read_archive(
                session,
                cli_operator(),
                protector,
                subject,
                audience=Audience.GOVERNMENT,
                purpose=purpose,
                basis=QueryBasis.ADMINISTRATION,
            )
            data = result.as_dict()
        if as_json:
            print_json(data)
            return
        subj = data["subject"]
        console.print(
            f"[bold]{subj['name']}[/bold]  {subj['id_number']}  共 {len(data['records'])} 条记录"
        )
        table = Table("ID", "目录项", "文书号", "决定日期", "等级", "状态", "公示截止")
        for r in data["records"]:
            table.add_row(
                str(r["id"]),
                r["item_name"],
                r["document_number"],
                r["decision_date"],
                r["grade_name"] or "-",
                r["state_label"],
                r["display_until"] or "长期",
            )
        console.print(table)


def register_queries(app: typer.Typer) -> None:
    @app.command()
    def queries(
        id_number: Annotated[str, typer.Argument(help="身份证号或统一社会信用代码")],
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """查询记录：谁、何时、为何、依据什么查询了该主体的信息。"""
        from xinyong.queries.services import query_log_view

        protector = protector_for()
        with cli_session() as session:
            subject = find_subject(session, protector, id_number)
            if subject is None:
                fail("档案中没有该主体")
            rows: list[dict[str, Any]] = query_log_view(session, subject.id, limit=1_000_000)
        if as_json:
            print_json(rows)
            return
        console.print("时间均为北京时间（UTC+8）；本人查看已合并为一行；被拒绝的查询也列出。")
        table = Table("时间", "查询方", "事项", "目的", "依据")
        for q in rows:
            table.add_row(
                q["time"].removesuffix("（北京时间）"),
                q["who"],
                q["action_name"],
                q["purpose"],
                q["basis_name"],
            )
        console.print(table)

    @app.command("purge-queries")
    def purge_queries(
        on: Annotated[str | None, typer.Option(help="按此日期计算（默认今天）")] = None,
    ) -> None:
        """删除超过保存期限（默认 10 年）的查询记录。"""
        import datetime as dt

        from xinyong.config import get_settings
        from xinyong.queries.services import purge_query_log

        try:
            day = dt.date.fromisoformat(on) if on else dt.date.today()
        except ValueError:
            fail(f"日期“{on}”格式不正确，应为 YYYY-MM-DD")
        years = get_settings().query_log_retention_years
        with cli_session() as session:
            removed = purge_query_log(session, day, years)
        console.print(f"已删除 {removed} 条超过 {years} 年保存期限的查询记录")
