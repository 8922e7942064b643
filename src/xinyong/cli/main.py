"""Entry point: ``xinyong COMMAND``."""

from __future__ import annotations

import typer

from xinyong.cli import archive, catalog, checks, imports, rules, setup

app = typer.Typer(
    help="xinyong 个人公共信用信息平台 — 命令行工具",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
setup.register(app)
imports.register(app)
archive.register(app)
archive.register_queries(app)
rules.register(app)
checks.register(app)
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(catalog.department_app, name="department")
app.add_typer(setup.apikey_app, name="apikey")


if __name__ == "__main__":
    app()
