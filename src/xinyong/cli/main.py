"""Entry point: ``xinyong COMMAND``."""

from __future__ import annotations

import typer

from xinyong.cli import (
    accounts,
    archive,
    audit,
    backup,
    calendar,
    catalog,
    checks,
    exchange,
    imports,
    partitions,
    reports,
    rules,
    setup,
    workflows,
)

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
backup.register(app)
checks.register(app)
workflows.register(app)
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(catalog.department_app, name="department")
app.add_typer(setup.apikey_app, name="apikey")
app.add_typer(accounts.user_app, name="user")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(exchange.exchange_app, name="exchange")
app.add_typer(reports.report_app, name="report")
app.add_typer(partitions.partitions_app, name="partitions")
app.add_typer(calendar.calendar_app, name="calendar")


if __name__ == "__main__":
    app()


def run() -> None:
    """The console entry point: never a traceback to the operator.

    An unexpected error is written, with its traceback, to the error log under
    ``XINYONG_HOME``; the operator sees a Chinese message and the reference to quote.
    """
    import datetime as dt
    import secrets
    import sys
    import traceback

    from xinyong.identity.scrub import scrub_text
    from xinyong.logs import configure_logging

    configure_logging(level="warning")
    try:
        app()
    except Exception:
        from xinyong.config import get_settings

        reference = secrets.token_hex(4)
        try:
            home = get_settings().home
            home.mkdir(parents=True, exist_ok=True)
            with (home / "xinyong-errors.log").open("a", encoding="utf-8") as log:
                log.write(f"--- {dt.datetime.now(dt.UTC).isoformat()} ref={reference}\n")
                log.write(scrub_text(traceback.format_exc()))
        except OSError:
            pass
        sys.stderr.write(f"错误：发生内部错误，操作未完成（参考编号 {reference}，详见错误日志）\n")
        sys.exit(1)
