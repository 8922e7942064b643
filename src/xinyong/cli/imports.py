"""xinyong import FILE."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from xinyong.actors import cli_operator
from xinyong.cli.common import console, err_console, print_json
from xinyong.db import session_factory
from xinyong.errors import UnreadableFile, XinyongError
from xinyong.records.formats import FORMAT_NAMES
from xinyong.submissions.ingest import ImportResult, ingest_file, record_unreadable


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_(
        file: Annotated[Path, typer.Argument(help="CSV（UTF-8/GBK）、XLSX 或 JSON Lines 文件")],
        department: Annotated[
            str | None, typer.Option(help="报送部门代码；省略时按数据来源单位统一社会信用代码识别")
        ] = None,
        item: Annotated[str | None, typer.Option(help="目录项代码；双公示格式可省略")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="输出 JSON 摘要")] = False,
    ) -> None:
        """归集：校验并导入信用记录。全部接收退出码 0，部分拒收 2，文件无法读取 1。"""
        actor = cli_operator()
        session = session_factory()()
        show_progress = not as_json and console.is_terminal
        try:
            if not file.is_file():
                raise UnreadableFile(f"文件不存在：{file.name}", code="not_found")
            with Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                TimeElapsedColumn(),
                console=err_console,
                disable=not show_progress,
                transient=True,
            ) as bar:
                task = bar.add_task("正在导入…", total=None)
                result = ingest_file(
                    session,
                    actor,
                    file,
                    department_code=department,
                    item_code=item,
                    on_chunk=session.commit,
                    progress=lambda n: bar.update(task, description=f"已处理 {n:,} 行"),
                )
            session.commit()
        except UnreadableFile as exc:
            session.rollback()
            record_unreadable(session, actor, file.name, exc, "cli")
            session.commit()
            _fail_file(exc, as_json)
        except XinyongError as exc:
            session.rollback()
            _fail_file(exc, as_json)
        finally:
            session.close()
        _report(result, as_json)
        raise typer.Exit(result.exit_code)

    @app.command("jobs")
    def jobs_(
        limit: Annotated[int | None, typer.Option(help="最多运行的作业数")] = None,
    ) -> None:
        """运行排队中的上传文件（网页、接口上传的导入作业）。服务进程已运行作业线程时无需执行；
        关闭作业线程（XINYONG_JOB_WORKER=0）时由定时任务调用。"""
        from xinyong.submissions.jobs import run_pending_jobs

        ran = run_pending_jobs(session_factory(), limit=limit)
        console.print(f"已运行导入作业 {ran} 个")


def _fail_file(exc: XinyongError, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "accepted": 0,
                "rejected": 0,
                "errors": [{"row": None, "column": None, "code": exc.code, "message": exc.message}],
            }
        )
    else:
        err_console.print(f"[red]文件无法导入：[/red]{exc.message}（{exc.code}）")
    raise typer.Exit(1)


def _report(result: ImportResult, as_json: bool) -> None:
    if as_json:
        print_json(result.as_dict())
        return
    console.print(
        f"批次 {result.batch_id}（{FORMAT_NAMES.get(result.record_format, result.record_format)}）："
        f"共 {result.total} 行，"
        f"接收 {result.accepted}（新增 {result.created}，更新 {result.updated}，"
        f"未变 {result.unchanged}），"
        f"拒收 {result.rejected}"
    )
    if result.ignored_columns:
        console.print("忽略的未知列：" + "、".join(result.ignored_columns))
    sources = result.as_dict()["grade_sources"]
    if sources:
        console.print("定级依据：" + "；".join(f"{s['label']} {s['rows']} 行" for s in sources))
    for summary in result.summary_notes():
        console.print(f"[yellow]提示：[/yellow]{summary}")
    for err in result.errors[:50]:
        value = f"，值 {err.value}" if err.value else ""
        console.print(f"  第 {err.row} 行 [{err.column or '-'}] {err.message}（{err.code}{value}）")
    if result.error_count > 50:
        console.print(f"  …… 另有 {result.error_count - 50} 条拒收原因，使用 --json 查看全部")
    for note in result.notes[:50]:
        console.print(f"  提示：第 {note.row} 行 [{note.column or '-'}] {note.message}")
    if result.note_count > 50:
        console.print(f"  …… 另有 {result.note_count - 50} 条提示，使用 --json 查看全部")
