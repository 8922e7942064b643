"""xinyong user …: accounts from the console."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from xinyong.accounts import services as accounts
from xinyong.accounts.models import Institution, User
from xinyong.actors import ROLE_LABELS, cli_operator
from xinyong.catalog.models import Department
from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.identity.protection import protector_for

user_app = typer.Typer(help="账号管理", no_args_is_help=True)

PASSWORD_ENV = "XINYONG_NEW_PASSWORD"


def _password(given: str | None) -> str:
    """From --password, the environment (for scripts), or a hidden prompt."""
    if given:
        return given
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    return str(typer.prompt("密码", hide_input=True, confirmation_prompt=True))


def _row(session: Any, user: User) -> dict[str, Any]:
    dept = session.get(Department, user.department_id) if user.department_id else None
    inst = session.get(Institution, user.institution_id) if user.institution_id else None
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_name": ROLE_LABELS.get(user.role, user.role),
        "department": dept.code if dept else None,
        "institution": inst.name if inst else None,
        "is_active": user.is_active,
    }


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[str, typer.Option(help="admin|clerk|reviewer|institution|auditor|person")],
    department: Annotated[str | None, typer.Option(help="部门代码（部门账号）")] = None,
    institution: Annotated[str | None, typer.Option(help="机构名称（机构账号）")] = None,
    display_name: Annotated[str | None, typer.Option(help="显示名称")] = None,
    id_number: Annotated[
        str | None, typer.Option(help="个人账号：本人身份证号（经实名核验）")
    ] = None,
    name: Annotated[str | None, typer.Option(help="个人账号：本人姓名")] = None,
    password: Annotated[
        str | None, typer.Option(help=f"密码；不填则读取 {PASSWORD_ENV} 或提示输入")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """新增账号。个人账号须提供本人身份证号和姓名，经实名核验后绑定本人档案。"""
    secret = _password(password)
    with cli_session() as session:
        if role == "person":
            if not (id_number and name):
                fail("个人账号须提供 --id-number 和 --name")
            user = accounts.register_person(
                session,
                protector_for(),
                id_number=id_number,
                name=name,
                username=username,
                password=secret,
            )
        else:
            user = accounts.create_user(
                session,
                username=username,
                password=secret,
                role=role,
                display_name=display_name,
                department_code=department,
                institution_name=institution,
                by=cli_operator(),
            )
        row = _row(session, user)
    if as_json:
        print_json(row)
    else:
        console.print(f"已创建账号 {row['username']}（{row['role_name']}）")


@user_app.command("list")
def list_users(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """列出账号。"""
    with cli_session() as session:
        rows = [_row(session, u) for u in session.scalars(select(User).order_by(User.id))]
    if as_json:
        print_json(rows)
        return
    table = Table("用户名", "名称", "角色", "部门", "机构", "状态")
    for r in rows:
        table.add_row(
            r["username"],
            r["display_name"],
            r["role_name"],
            r["department"] or "-",
            r["institution"] or "-",
            "正常" if r["is_active"] else "停用",
        )
    console.print(table)


@user_app.command("disable")
def disable(username: str) -> None:
    """停用账号（其登录会话立即失效）。"""
    with cli_session() as session:
        accounts.set_active(session, username, False, by=cli_operator())
    console.print(f"已停用 {username}")


@user_app.command("enable")
def enable(username: str) -> None:
    """启用账号。"""
    with cli_session() as session:
        accounts.set_active(session, username, True, by=cli_operator())
    console.print(f"已启用 {username}")


@user_app.command("password")
def set_password(
    username: str,
    password: Annotated[str | None, typer.Option(help="新密码")] = None,
) -> None:
    """重置密码（同时解除锁定）。"""
    secret = _password(password)
    with cli_session() as session:
        accounts.set_password(session, username, secret, by=cli_operator())
    console.print(f"已重置 {username} 的密码")
