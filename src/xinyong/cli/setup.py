"""init, demo, serve, apikey."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from xinyong.accounts.models import KeyRole
from xinyong.accounts.services import ensure_institution, issue_api_key
from xinyong.catalog.services import get_department, load_defaults
from xinyong.cli.common import cli_session, console, fail
from xinyong.config import create_key_file, get_settings, load_keys, refuse_default_secrets
from xinyong.errors import ConfigurationError

apikey_app = typer.Typer(help="API 密钥管理", no_args_is_help=True)


def initialize() -> None:
    """Keys (embedded default only), schema, default catalog. Idempotent."""
    settings = get_settings()
    if settings.is_sqlite and create_key_file(settings):
        console.print(f"已创建或补全本地密钥文件 {settings.key_file}")
    try:
        load_keys(settings)
    except ConfigurationError as exc:
        fail(exc.message)
    from xinyong.migrate import upgrade

    upgrade()
    with cli_session() as session:
        result = load_defaults(session)
    # Upgrading to the keyed audit chain: the last event must be linked with the key.
    from xinyong.actors import SYSTEM
    from xinyong.audit.services import seal_legacy_chain

    try:
        with cli_session() as session:
            if seal_legacy_chain(session, SYSTEM):
                console.print("审计链已接续为带密钥的链接（此前的事件保持原样，仍可校验）")
    except ConfigurationError as exc:
        fail(exc.message)
    console.print(
        f"数据库已就绪；默认目录：新增 {result.added}，更新 {result.updated}，"
        f"未变 {result.unchanged}"
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def init() -> None:
        """初始化：创建密钥文件（仅嵌入式数据库）、建表、载入默认目录。"""
        initialize()

    @app.command()
    def demo(
        persons: Annotated[int, typer.Option(help="示范城市的人数")] = 10_000,
        seed: Annotated[int, typer.Option(help="随机种子")] = 2026,
        serve: Annotated[bool, typer.Option("--serve", help="建好后启动服务")] = False,
        port: Annotated[int, typer.Option()] = 8000,
    ) -> None:
        """生成示范城市（合成人口、部门和信用记录）。"""
        initialize()
        from xinyong.demo import build_demo_city

        build_demo_city(persons=persons, seed=seed)
        if serve:
            # The demo serves plain HTTP on loopback: a Secure cookie would not be kept
            # by every browser there. Production keeps the default (Secure).
            os.environ.setdefault("XINYONG_COOKIE_SECURE", "false")
            os.environ["XINYONG_DEMO"] = "1"
            get_settings.cache_clear()
            _serve("127.0.0.1", port, 2)

    @app.command()
    def serve(
        host: Annotated[str, typer.Option()] = "127.0.0.1",
        port: Annotated[int, typer.Option()] = 8000,
        workers: Annotated[int, typer.Option(help="工作进程数")] = 2,
    ) -> None:
        """启动生产服务器（多进程，无自动重载）。"""
        try:
            refuse_default_secrets(get_settings())
        except ConfigurationError as exc:
            fail(exc.message)
        _serve(host, port, workers)

    @apikey_app.command("create")
    def apikey_create(
        admin: Annotated[bool, typer.Option("--admin", help="信用办管理密钥")] = False,
        department: Annotated[str | None, typer.Option(help="部门代码")] = None,
        institution: Annotated[str | None, typer.Option(help="授权查询机构名称")] = None,
        platform: Annotated[str | None, typer.Option(help="下级信用平台代码（共享交换）")] = None,
        label: Annotated[str, typer.Option(help="用途说明")] = "",
    ) -> None:
        """签发 API 密钥（只显示一次）。"""
        if sum([admin, department is not None, institution is not None, platform is not None]) != 1:
            fail("请指定 --admin、--department、--institution 或 --platform 之一")
        with cli_session() as session:
            if admin:
                secret = issue_api_key(session, KeyRole.ADMIN, label or "信用办")
            elif platform is not None:
                secret = issue_api_key(session, KeyRole.PLATFORM, platform)
            elif institution is not None:
                inst = ensure_institution(session, institution)
                secret = issue_api_key(
                    session, KeyRole.INSTITUTION, label or inst.name, institution=inst
                )
            else:
                assert department is not None
                dept = get_department(session, department)
                secret = issue_api_key(session, KeyRole.DEPARTMENT, label or dept.name, dept)
        console.print(secret, soft_wrap=True, highlight=False)


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    from xinyong.logs import uvicorn_log_config

    console.print(f"xinyong 服务：http://{host}:{port}/")
    uvicorn.run(
        "xinyong.web.app:create_app",
        log_config=uvicorn_log_config(),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        # X-Forwarded-For is read by the application, from XINYONG_TRUSTED_PROXIES only;
        # uvicorn's own handling trusts any caller on loopback.
        proxy_headers=False,
        log_level=get_settings().log_level,
    )
