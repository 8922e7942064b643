"""xinyong check: the joint reward and punishment check from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xinyong.actors import cli_operator
from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.identity.protection import protector_for
from xinyong.measures.engine import VERDICT_NAMES
from xinyong.measures.services import run_check


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        id_number: Annotated[str | None, typer.Argument(help="身份证号或统一社会信用代码")] = None,
        scenario: Annotated[str, typer.Option(help="应用场景代码")] = "",
        operator: Annotated[str, typer.Option(help="经办人")] = "命令行",
        business_ref: Annotated[str, typer.Option("--business-ref", help="业务编号")] = "CLI",
        file: Annotated[Path | None, typer.Option("--file", help="批量比对：CSV 或 XLSX")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="批量比对结果 XLSX")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """联合奖惩核查：该主体在该场景下适用的措施、原因和结论（查询将被记录）。"""
        if not scenario:
            fail("请用 --scenario 指定应用场景")
        if file is not None:
            from xinyong.measures.batch import compare_file

            if out is None:
                fail("批量比对须用 --out 指定结果文件")
            summary = compare_file(file, out, scenario=scenario, operator=operator)
            if as_json:
                print_json(summary)
            else:
                console.print(
                    f"共 {summary['total']} 行：拦截 {summary['blocked']}，限制 {summary['restricted']}，"
                    f"激励 {summary['eased']}，无措施 {summary['clear']}，无效 {summary['invalid']}；结果见 {out}"
                )
            return
        if not id_number:
            fail("请提供证件号码，或用 --file 进行批量比对")
        with cli_session() as session:
            result = run_check(
                session,
                cli_operator(operator),
                protector_for(),
                id_number=id_number,
                scenario=scenario,
                operator=operator,
                business_ref=business_ref,
            )
            data = result.as_dict()
        if as_json:
            print_json(data)
            return
        console.print(f"核查编号 {data['check_id']}：[bold]{VERDICT_NAMES[data['verdict']]}[/bold]")
        for d in data["decisions"]:
            console.print(f"  · {d['name']}（{d['effect_name']}）依据：{d['basis']}")
            for t in d["triggers"]:
                via = f"（所在组织 {t['via_organisation']}）" if t["via_organisation"] else ""
                console.print(f"      原因：{t['text']}{via}")
