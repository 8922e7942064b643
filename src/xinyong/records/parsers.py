"""Streaming readers for submitted files: CSV (UTF-8 or GB18030/GBK), XLSX, JSON Lines.

Each gives the same thing: headers and numbered rows of text, so that one pipeline
validates every format. Whole-file problems raise :class:`UnreadableFile`; row problems
travel with the row and reject only that row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from xinyong.errors import UnreadableFile

SAMPLE_BYTES = 64 * 1024
MAX_UNCOMPRESSED = 2 * 1024**3
MAX_RATIO = 200
csv.field_size_limit(2**31 - 1)


@dataclass(frozen=True, slots=True)
class RowProblem:
    code: str
    message: str
    column: str | None = None


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int
    values: dict[str, str]
    problem: RowProblem | None = None


class RawTable:
    """Headers plus a one-pass iterator of rows; close it (or use ``with``)."""

    def __init__(
        self,
        kind: str,
        headers: list[str],
        rows: Iterator[RawRow],
        encoding: str | None = None,
        handle: IO[Any] | None = None,
    ) -> None:
        self.kind = kind
        self.headers = headers
        self.encoding = encoding
        self._rows = rows
        self._handle = handle

    def rows(self) -> Iterator[RawRow]:
        return self._rows

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def __enter__(self) -> RawTable:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_headers(headers: list[str]) -> list[str]:
    cleaned = [h.strip().lstrip("\ufeff").strip() for h in headers]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    if not cleaned or not any(cleaned):
        raise UnreadableFile("文件没有表头行", code="no_header")
    if "" in cleaned:
        position = cleaned.index("") + 1
        raise UnreadableFile(f"第 {position} 列的表头为空", code="no_header")
    seen: set[str] = set()
    for header in cleaned:
        if header in seen:
            raise UnreadableFile(f"表头“{header[:30]}”重复", code="duplicate_header")
        seen.add(header)
    return cleaned


def _cells_problem(
    headers: list[str], cells: list[str], max_cell_chars: int
) -> tuple[dict[str, str], RowProblem | None]:
    values: dict[str, str] = {}
    problem: RowProblem | None = None
    if len(cells) != len(headers) and any(c.strip() for c in cells[len(headers) :]):
        problem = RowProblem(
            "cell_count", f"该行有 {len(cells)} 个单元格，表头有 {len(headers)} 列"
        )
    elif len(cells) < len(headers):
        problem = RowProblem(
            "cell_count", f"该行只有 {len(cells)} 个单元格，表头有 {len(headers)} 列"
        )
    for header, cell in zip(headers, cells, strict=False):
        if len(cell) > max_cell_chars:
            problem = problem or RowProblem(
                "cell_too_long", f"单元格超过 {max_cell_chars} 字", header
            )
            continue
        text = cell.strip()
        if text.startswith("=") and problem is None:
            problem = RowProblem("formula", "单元格不能是公式", header)
        values[header] = text
    return values, problem


# -- detection --------------------------------------------------------------------------


def open_table(
    path: Path,
    *,
    max_cell_chars: int = 4000,
    max_bytes: int | None = None,
    max_uncompressed: int = MAX_UNCOMPRESSED,
) -> RawTable:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(SAMPLE_BYTES)
    except OSError as exc:
        raise UnreadableFile("无法读取文件", code="unreadable_file") from exc
    if max_bytes is not None and size > max_bytes:
        raise UnreadableFile(f"文件超过 {max_bytes // (1 << 20)} MB 上限", code="too_large")
    if not head.strip():
        raise UnreadableFile("文件为空", code="empty")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _open_xlsx(path, max_cell_chars, max_uncompressed)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(
            "文件是加密的 Excel 或旧版 .xls 格式，请另存为未加密的 .xlsx 或 CSV 后再提交",
            code="encrypted_or_xls",
        )
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(b"{"):
        return _open_jsonl(path, max_cell_chars)
    return _open_csv(path, head, max_cell_chars)


# -- CSV --------------------------------------------------------------------------------


def _detect_encoding(head: bytes) -> str:
    """UTF-8 or GB18030, judged line by line on a leading sample.

    A damaged line in the sample does not condemn the file (it is rejected on its own as
    ``bad_bytes``); only a sample whose non-ASCII lines fit neither encoding does.
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if b"\x00" in head:
        raise UnreadableFile("文件含有二进制内容，不是文本表格", code="binary")
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    if controls > len(head) // 100:
        raise UnreadableFile("文件含有二进制内容，不是文本表格", code="binary")
    lines = head.split(b"\n")
    if len(lines) > 1 and len(head) == SAMPLE_BYTES:
        lines = lines[:-1]  # the last line may be cut in the middle of a character
    wide = [line for line in lines if max(line, default=0) > 127]
    if not wide:
        return "utf-8"
    fits = {}
    for encoding in ("utf-8", "gb18030"):
        fits[encoding] = sum(1 for line in wide if _decodes(line, encoding))
    best = max(("utf-8", "gb18030"), key=lambda e: (fits[e], e == "utf-8"))
    if fits[best] == 0:
        raise UnreadableFile("无法识别文件编码（应为 UTF-8 或 GBK/GB18030）", code="encoding")
    return best


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


class _Lines:
    """Decodes lines strictly, remembering whether the current one was damaged.

    A file that looked like ASCII in the sample and turns out to be GBK further down
    (common for exports sorted with the Chinese rows last) switches to GB18030 at the
    first line UTF-8 cannot read, as long as no UTF-8 text has been seen before.
    """

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        self.raw = raw
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.bad = False
        self.first = encoding == "utf-8-sig"
        self.saw_wide_utf8 = encoding == "utf-8-sig"

    def __iter__(self) -> Iterator[str]:
        for line in self.raw:
            if self.first:
                line = line.removeprefix(b"\xef\xbb\xbf")
                self.first = False
            if b"\x00" in line:
                self.bad = True
                line = line.replace(b"\x00", b"")
            try:
                text = line.decode(self.encoding)
            except UnicodeDecodeError:
                if (
                    self.encoding == "utf-8"
                    and not self.saw_wide_utf8
                    and _decodes(line, "gb18030")
                ):
                    self.encoding = "gb18030"
                    yield line.decode("gb18030")
                    continue
                self.bad = True
                yield line.decode(self.encoding, errors="replace")
                continue
            if self.encoding == "utf-8" and not self.saw_wide_utf8 and not text.isascii():
                self.saw_wide_utf8 = True
            yield text


def _open_csv(path: Path, head: bytes, max_cell_chars: int) -> RawTable:
    encoding = _detect_encoding(head)
    raw = path.open("rb")
    lines = _Lines(raw, encoding)
    first_line = head.split(b"\n", 1)[0]
    delimiter = "\t" if b"\t" in first_line and b"," not in first_line else ","
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header_cells = next(reader)
    except (StopIteration, csv.Error) as exc:
        raw.close()
        raise UnreadableFile("文件没有表头行", code="no_header") from exc
    if lines.bad:
        raw.close()
        raise UnreadableFile("表头含有无法识别的字符", code="encoding")
    try:
        headers = _check_headers(header_cells)
    except UnreadableFile:
        raw.close()
        raise

    def rows() -> Iterator[RawRow]:
        number = 1
        while True:
            lines.bad = False
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                number = reader.line_num
                yield RawRow(number, {}, RowProblem("bad_row", "该行不是有效的 CSV 格式"))
                continue
            number += 1
            if not any(c.strip() for c in cells):
                continue
            values, problem = _cells_problem(headers, cells, max_cell_chars)
            if lines.bad:
                problem = RowProblem("bad_bytes", f"该行含有不是 {encoding} 编码的字节")
            yield RawRow(number, values, problem)

    return RawTable("csv", headers, rows(), encoding.replace("-sig", ""), raw)


# -- JSON Lines -------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        raise ValueError("nested")
    return str(value)


def _open_jsonl(path: Path, max_cell_chars: int) -> RawTable:
    raw = path.open("rb")
    first: dict[str, Any] | None = None
    for line in raw:
        if line.strip():
            try:
                obj = json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                raw.close()
                raise UnreadableFile("第一行不是有效的 JSON 对象", code="bad_json") from exc
            if not isinstance(obj, dict) or not obj:
                raw.close()
                raise UnreadableFile("第一行不是有效的 JSON 对象", code="bad_json")
            first = obj
            break
    if first is None:
        raw.close()
        raise UnreadableFile("文件为空", code="empty")
    headers = _check_headers([str(k) for k in first])
    raw.seek(0)

    def rows() -> Iterator[RawRow]:
        for number, line in enumerate(raw, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
                values = {str(k).strip(): _scalar(v).strip() for k, v in obj.items()}
            except (ValueError, UnicodeDecodeError, RecursionError):
                yield RawRow(number, {}, RowProblem("bad_json", "该行不是有效的 JSON 对象"))
                continue
            problem = None
            for key, text in values.items():
                if len(text) > max_cell_chars:
                    problem = RowProblem("cell_too_long", f"单元格超过 {max_cell_chars} 字", key)
                    values[key] = ""
                elif text.startswith("=") and problem is None:
                    problem = RowProblem("formula", "单元格不能是公式", key)
            yield RawRow(number, values, problem)

    return RawTable("jsonl", headers, rows(), "utf-8", raw)


# -- XLSX -------------------------------------------------------------------------------


def _check_zip(path: Path, max_uncompressed: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            names = set()
            for info in archive.infolist():
                names.add(info.filename)
                total += info.file_size
                if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                    raise UnreadableFile("压缩文件的压缩比异常，拒绝处理", code="too_large")
            if total > max_uncompressed:
                raise UnreadableFile("文件解压后过大，拒绝处理", code="too_large")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UnreadableFile("Excel 文件已损坏或不完整", code="corrupt_xlsx") from exc
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise UnreadableFile("压缩文件不是 Excel（.xlsx）工作簿", code="corrupt_xlsx")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return str(value)


def _open_xlsx(path: Path, max_cell_chars: int, max_uncompressed: int) -> RawTable:
    _check_zip(path, max_uncompressed)
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        iterator = iter(sheet.iter_rows())
        header_cells = [_cell_text(v) for v in next(iterator)]
    except StopIteration as exc:
        raise UnreadableFile("工作表为空", code="empty") from exc
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise UnreadableFile("Excel 文件已损坏或无法读取", code="corrupt_xlsx") from exc
    headers = _check_headers(header_cells)

    def rows() -> Iterator[RawRow]:
        number = 1
        while True:
            try:
                cells_raw = next(iterator)
            except StopIteration:
                return
            except Exception:
                yield RawRow(number + 1, {}, RowProblem("corrupt_xlsx", "该行无法读取"))
                return
            number += 1
            cells = [_cell_text(v) for v in cells_raw]
            while cells and not cells[-1] and len(cells) > len(headers):
                cells.pop()
            if not any(c.strip() for c in cells):
                continue
            if len(cells) < len(headers):
                cells += [""] * (len(headers) - len(cells))
            values, problem = _cells_problem(headers, cells, max_cell_chars)
            yield RawRow(number, values, problem)

    return RawTable("xlsx", headers, rows(), None, None)


__all__ = ["RawRow", "RawTable", "RowProblem", "io", "open_table"]
