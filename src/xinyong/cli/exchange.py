"""xinyong exchange …: 共享交换 with the upper platform."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select

from xinyong.cli.common import cli_session, console, fail, print_json
from xinyong.config import get_settings
from xinyong.db import session_factory
from xinyong.errors import XinyongError
from xinyong.exchange.models import ExchangeOutbox
from xinyong.exchange.pull import http_fetcher, pull, pull_watermark
from xinyong.exchange.push import http_sender, push, watermark
from xinyong.exchange.wire import PAGE_LIMIT
from xinyong.identity.protection import protector_for

exchange_app = typer.Typer(
    help="共享交换：向上级信用平台推送变更、拉取国家名单", no_args_is_help=True
)


class InjectedCrash(RuntimeError):
    """``--fail-after``: a crash in the middle of a page, for drills and tests."""


@exchange_app.command("push")
def push_command(
    url: Annotated[str | None, typer.Option(help="上级平台地址（默认读取配置）")] = None,
    key: Annotated[str | None, typer.Option(help="上级平台签发的 API 密钥（默认读取配置）")] = None,
    max_requests: Annotated[
        int | None, typer.Option(help="本次最多发送的请求数（限流；未发完的下次续传）")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """推送水位之后的全部变更；可随时中断，再次运行从水位续传，不会重复生效。"""
    settings = get_settings()
    url = url or settings.exchange_upper_url
    key = key or settings.exchange_upper_key
    if not url or not key:
        fail("未配置上级平台地址或密钥（XINYONG_EXCHANGE_UPPER_URL / XINYONG_EXCHANGE_UPPER_KEY）")
    source = settings.exchange_source or settings.city_region_code
    try:
        result = push(
            session_factory(),
            protector_for(settings),
            http_sender(url, key),
            source,
            max_requests=max_requests,
            counterpart=url,
        )
    except XinyongError as exc:
        fail(f"{exc.message}（已确认的部分已记录水位，可重新运行续传）")
    data = {
        "requests": result.requests,
        "changes": result.changes,
        "applied": result.applied,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
        "watermark": result.watermark,
        "finished": result.finished,
    }
    if as_json:
        print_json(data)
        return
    state = "全部推送完毕" if result.finished else "已暂停，下次从水位续传"
    console.print(
        f"{state}：发送 {result.requests} 次请求、{result.changes} 条变更（生效 {result.applied}，"
        f"重复 {result.duplicates}，被拒 {result.rejected}），水位 {result.watermark}"
    )


@exchange_app.command("pull")
def pull_command(
    url: Annotated[str | None, typer.Option(help="上级平台地址（默认读取配置）")] = None,
    key: Annotated[str | None, typer.Option(help="上级平台签发的 API 密钥（默认读取配置）")] = None,
    max_pages: Annotated[
        int | None, typer.Option(help="本次最多拉取的页数（未拉完的下次续传）")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=PAGE_LIMIT, help="每页条目数")] = PAGE_LIMIT,
    fail_after: Annotated[
        int | None, typer.Option(hidden=True, help="演练用：应用本页第 N 条后模拟崩溃")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """拉取上级平台下发的名单（失信被执行人等）；每页与水位在同一事务中生效，中断后再次运行从水位续传，不会重复生效。"""
    settings = get_settings()
    url = url or settings.exchange_upper_url
    key = key or settings.exchange_upper_key
    if not url or not key:
        fail("未配置上级平台地址或密钥（XINYONG_EXCHANGE_UPPER_URL / XINYONG_EXCHANGE_UPPER_KEY）")

    def crash(done: int) -> None:
        if fail_after is not None and done >= fail_after:
            raise InjectedCrash(f"模拟崩溃：本页已应用 {done} 条")

    try:
        result = pull(
            session_factory(),
            http_fetcher(url, key),
            limit=limit,
            max_pages=max_pages,
            after_each=crash if fail_after is not None else None,
        )
    except XinyongError as exc:
        fail(f"{exc.message}（已应用的页已记录水位，可重新运行续传）")
    except InjectedCrash as exc:
        fail(f"{exc}（本页已回滚，水位未动）")
    data = {
        "pages": result.pages,
        "entries": result.entries,
        "listed": result.listed,
        "ended": result.ended,
        "skipped": result.skipped,
        "rejected": result.rejected,
        "watermark": result.watermark,
        "finished": result.finished,
    }
    if as_json:
        print_json(data)
        return
    state = "名单已拉取完毕" if result.finished else "已暂停，下次从水位续传"
    console.print(
        f"{state}：{result.pages} 页、{result.entries} 条（列入 {result.listed}，移出 "
        f"{result.ended}，本平台无此条目 {result.skipped}，校验未通过 {result.rejected}），"
        f"水位 {result.watermark}"
    )


@exchange_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """推送水位与待推送的变更数；名单拉取水位。"""
    with cli_session() as session:
        mark = watermark(session)
        pending = session.scalar(
            select(func.count()).select_from(ExchangeOutbox).where(ExchangeOutbox.id > mark)
        )
        pulled = pull_watermark(session)
    data = {"watermark": mark, "pending": pending or 0, "pull_watermark": pulled}
    if as_json:
        print_json(data)
    else:
        console.print(f"推送水位 {mark}，待推送 {data['pending']} 条；名单拉取水位 {pulled}")
