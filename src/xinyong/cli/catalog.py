"""catalog load/list, department add/list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from xinyong.catalog.schemas import SECTION_KINDS
from xinyong.catalog.services import add_department, current_catalog, list_departments, load_file
from xinyong.cli.common import cli_session, console, fail, print_json

catalog_app = typer.Typer(help="目录管理", no_args_is_help=True)
department_app = typer.Typer(help="部门管理", no_args_is_help=True)

KINDS = {
    "items": "items",
    "domains": "domains",
    "key-groups": "key_groups",
    "key_groups": "key_groups",
    "info-types": "info_types",
    "grades": "grades",
    "behaviours": "behaviours",
    "scenarios": "scenarios",
    "departments": "departments",
    "measures": "measures",
    "grading-rules": "grading_rules",
    "scoring-models": "scoring_models",
}


@catalog_app.command("load")
def catalog_load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """载入目录文件：新增或更新条目，旧版本保留。"""
    with cli_session() as session:
        result = load_file(session, file)
    console.print(f"新增 {result.added}，更新 {result.updated}，未变 {result.unchanged}")


@catalog_app.command("list")
def catalog_list(
    kind: Annotated[
        str,
        typer.Argument(
            help="items|domains|key-groups|info-types|grades|behaviours|scenarios|departments"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """列出目录条目。"""
    section = KINDS.get(kind)
    if section is None:
        fail(f"未知的类别 {kind}；可选：{', '.join(sorted(KINDS))}")
    rows: list[dict[str, Any]]
    with cli_session() as session:
        if section == "departments":
            rows = [
                {"code": d.code, "name": d.name, "credit_code": d.credit_code, "kind": d.kind}
                for d in list_departments(session)
            ]
        else:
            catalog = current_catalog(session)
            kind_of = SECTION_KINDS[section]
            rows = [
                {
                    **entry.model_dump(mode="json"),  # type: ignore[attr-defined]
                    "version": catalog.versions.get((kind_of, code)),
                }
                for code, entry in catalog.section(section).items()
            ]
    if as_json:
        print_json(rows)
        return
    table = Table("代码", "名称", "现行版本", "说明")
    for row in rows:
        extra = row.get("credit_code") or row.get("description") or ""
        version = row.get("version")
        table.add_row(
            str(row["code"]),
            str(row["name"]),
            f"第 {version} 版" if version else "—",
            str(extra)[:60],
        )
    console.print(table)


@department_app.command("add")
def department_add(
    code: str,
    name: str,
    credit_code: Annotated[
        str | None, typer.Option("--credit-code", help="统一社会信用代码")
    ] = None,
    kind: Annotated[str, typer.Option(help="government|association|judicial")] = "government",
) -> None:
    """登记报送部门。"""
    with cli_session() as session:
        dept = add_department(session, code, name, credit_code, kind)
        console.print(f"已登记部门 {dept.code} {dept.name}")


@department_app.command("list")
def department_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """列出部门。"""
    catalog_list("departments", as_json)
