"""xinyong archive ID_NUMBER."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import func, select

from xinyong.accounts.permissions import Permission, require
from xinyong.actors import actor_label, cli_operator
from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.identity.masking import Audience
from xinyong.identity.protection import protector_for
from xinyong.queries.models import QueryBasis
from xinyong.records.models import Record
from xinyong.records.services import read_archive
from xinyong.subjects.services import find_subject


def register(app: typer.Typer) -> None:
    @app.command()
    def archive(
        id_number: Annotated[str, typer.Argument(help="身份证号或统一社会信用代码")],
        purpose: Annotated[str | None, typer.Option(help="查询目的（--full 时必填）")] = None,
        full: Annotated[
            bool,
            typer.Option(
                "--full",
                help="档案管理：含已过期、已修复、已撤销等全部记录及其历史版本（须说明目的）",
            ),
        ] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """查看信用主体的诚信档案（查询将被记录）。"""
        if full and not (purpose and purpose.strip()):
            fail("查看完整档案须以 --purpose 说明查询目的")
        actor = cli_operator()
        if full:
            require(actor, Permission.READ_FULL_ARCHIVE)
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
                actor,
                protector,
                subject,
                audience=Audience.GOVERNMENT,
                purpose=(purpose or "信用办档案管理").strip(),
                basis=QueryBasis.ADMINISTRATION,
                full=full,
            )
            data = result.as_dict()
            hidden = 0
            if not full:
                total = session.scalar(
                    select(func.count()).select_from(Record).where(Record.subject_id == subject.id)
                )
                hidden = (total or 0) - len(data["records"])
        if as_json:
            print_json(data)
            return
        subj = data["subject"]
        scope = "完整档案，" if full else ""
        console.print(
            f"[bold]{subj['name']}[/bold]  {subj['id_number']}  "
            f"{scope}共 {len(data['records'])} 条记录"
        )
        table = Table(
            "ID", "目录项", "文书号", "决定日期", "等级", "定级依据", "状态", "公示截止", "来源"
        )
        for r in data["records"]:
            table.add_row(
                str(r["id"]),
                r["item_name"],
                r["document_number"],
                r["decision_date"],
                r["grade_name"] or "-",
                r["grade_source_name"] or "-",
                r["state_label"],
                r["display_until"] or "长期",
                _provenance_text(r["department"], r["provenance"]),
            )
        console.print(table)
        if hidden:
            console.print(
                f"另有 {hidden} 条记录不在共享范围内（已过期、已修复、已撤销或尚未公示），"
                "信用办可使用 --full --purpose 查看完整档案"
            )
        if full:
            for r in data["records"]:
                for v in r.get("history") or []:
                    console.print(
                        f"  记录 {r['id']} 第 {v['version']} 版（{v['state_label']}，"
                        f"{v['grade_name'] or '无等级'}，{v['grade_source_name'] or '-'}，"
                        f"公示截止 {v['display_until'] or '长期'}）"
                        f"被替换于 {v['superseded_at'][:10]}；"
                        f"{_provenance_text('', v['provenance'])}"
                    )


def _provenance_text(department: str, provenance: dict[str, Any]) -> str:
    parts = [department] if department else []
    if provenance.get("batch_id") is not None:
        where = f"批次 {provenance['batch_id']}"
        if provenance.get("row_number") is not None:
            where += f" 第 {provenance['row_number']} 行"
        parts.append(where)
    if provenance.get("submitted_by"):
        parts.append(f"报送人 {actor_label(provenance['submitted_by'])}")
    return "，".join(parts) or "-"


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
