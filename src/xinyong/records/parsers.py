"""Streaming readers for submitted files (归集文件): CSV, XLSX and JSON Lines.

Departments send what their systems export: CSV in UTF-8 or GBK (DOMAIN §16), Excel
workbooks, JSON Lines from newer systems. Every reader gives the same thing, a
:class:`RawTable` of headers and numbered rows of stripped text, so one pipeline validates
every format and a person is told the row number they see in their own spreadsheet.

Problems come in two sizes. One that spoils the whole file (encrypted workbook, unknown
encoding, no header, zip bomb) raises :class:`UnreadableFile` before any row is read. One
that spoils a single row (wrong number of cells, a formula, undecodable bytes) travels with
the row as a :class:`RowProblem`, so that row alone is rejected and the good rows still land
(DOMAIN §5: a batch is all-or-nothing per row).

CSV and JSON Lines are read in fixed-size blocks, so a multi-gigabyte file is read with flat
memory. Workbooks are bounded by their (checked) uncompressed size instead: calamine loads a
sheet whole.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final

from xinyong.errors import UnreadableFile

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

SAMPLE_BYTES: Final = 64 * 1024
"""How much of a file decides its format, encoding and delimiter."""

BLOCK_BYTES: Final = 1 << 20
"""Read size for CSV: large enough to amortise decoding, small enough to keep memory flat."""

MAX_LINE_BYTES: Final = 16 << 20
"""A physical line longer than this is not a table row; it is dropped unread."""

CSV_FIELD_LIMIT: Final = 16 << 20
"""``csv.field_size_limit``: megabyte cells must reach ``max_cell_chars`` and be rejected as
too long rather than crash the reader, yet a runaway quote must not swallow gigabytes."""

MAX_UNCOMPRESSED: Final = 2 << 30
"""Default ceiling on a workbook's total uncompressed size (zip bombs)."""

MAX_RATIO: Final = 200
"""Compression ratio above which a workbook member is treated as a zip bomb; real sheets
compress 5–30×."""

_RATIO_FLOOR = 1 << 20  # members smaller than this are harmless whatever their ratio
_UTF8_BOM = codecs.BOM_UTF8
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCODINGS = ("utf-8", "gb18030")  # in order of preference
_ENCODING_NAMES = {"utf-8": "UTF-8", "gb18030": "GB18030（GBK）"}
# Control bytes that never occur in a text table; tab, line feed, vertical tab, form feed,
# carriage return and the DOS end-of-file mark (0x1A) do.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r\x1a")
# Joins a row's cells so that one C-level call checks them all. It is printable (so
# str.isprintable still finds control characters and odd whitespace) and rare; where it does
# occur in text, the checks merely take the slow, exact path.
_CELL_SEPARATOR = "\ufffc"
_EXACT_FLOAT_INT = 2**53


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a row must be rejected, found while reading it.

    ``code`` is stable English for machines, ``message`` Chinese for people; the message never
    quotes a cell, which may hold an identity number.
    """

    code: str
    message: str
    column: str | None = None


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as a person counts it: ``number`` is the spreadsheet row (header is row 1) for
    CSV and XLSX, the line number for JSON Lines."""

    number: int
    values: dict[str, str]
    problem: RowProblem | None = None


# Frozen dataclasses pay for object.__setattr__ in __init__; the CSV reader builds millions
# of rows, so its hot loop fills the slots directly. The result is the same immutable RawRow.
_new_object = object.__new__
_set_number: Callable[[RawRow, int], None] = RawRow.__dict__["number"].__set__
_set_values: Callable[[RawRow, dict[str, str]], None] = RawRow.__dict__["values"].__set__
_set_problem: Callable[[RawRow, RowProblem | None], None] = RawRow.__dict__["problem"].__set__


class RawTable:
    """Headers plus a one-pass stream of rows. Close it, or use it as a context manager."""

    def __init__(
        self,
        kind: str,
        headers: list[str],
        rows: Iterator[RawRow],
        *,
        encoding: Callable[[], str | None] = lambda: None,
        on_close: Iterable[Callable[[], object]] = (),
    ) -> None:
        self.kind = kind
        self.headers = headers
        self._rows = rows
        self._encoding = encoding
        self._on_close = list(on_close)

    @property
    def encoding(self) -> str | None:
        """``utf-8`` or ``gb18030`` for CSV, ``utf-8`` for JSON Lines, ``None`` for XLSX.

        A CSV whose leading sample is plain ASCII fits both encodings; the choice is made at
        the first non-ASCII block and is final once the rows have been read.
        """
        return self._encoding()

    def rows(self) -> Iterator[RawRow]:
        """The rows, streamed once; blank rows are skipped but still counted."""
        return self._rows

    def close(self) -> None:
        close_rows = getattr(self._rows, "close", None)
        if close_rows is not None:
            close_rows()
        for close in self._on_close:
            close()
        self._on_close = []

    def __enter__(self) -> RawTable:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_table(
    path: Path,
    *,
    max_cell_chars: int = 4000,
    max_bytes: int | None = None,
    max_uncompressed: int = MAX_UNCOMPRESSED,
) -> RawTable:
    """Open a submitted file, recognising its format from its content, not its name.

    Departments rename files freely (a CSV called ``.xls``, an Excel file without an
    extension), so the first bytes decide: a zip is a workbook, an OLE2 compound file is an
    encrypted workbook or an old ``.xls``, ``{`` starts JSON Lines, anything else is CSV.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
    except OSError as exc:
        raise UnreadableFile("无法打开文件，请确认文件存在且可读") from exc
    if max_bytes is not None and size > max_bytes:
        raise UnreadableFile(
            f"文件大小 {_size_text(size)}，超过上限 {_size_text(max_bytes)}", code="too_large"
        )
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _open_xlsx(path, max_cell_chars, max_uncompressed)
    if head.startswith(_OLE2):
        raise UnreadableFile(
            "文件是加密的 Excel 工作簿或旧版 Excel（.xls）格式，无法读取。"
            "请取消密码保护，另存为 .xlsx 或 CSV 后重新提交",
            code="encrypted_or_xls",
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile(
            "文件是 UTF-16 编码（Excel 的“Unicode 文本”），请另存为“CSV UTF-8”或 .xlsx 后重新提交",
            code="encoding",
        )
    text_start = head.removeprefix(_UTF8_BOM).lstrip()
    if not text_start:
        if size <= len(head):
            raise UnreadableFile("文件为空", code="empty")
    elif text_start[:1] == b"{":
        return _open_jsonl(path, max_cell_chars)
    elif text_start[:1] == b"[":
        raise UnreadableFile(
            "文件是 JSON 数组，请改为 JSON Lines 格式（每行一个 JSON 对象）", code="bad_json"
        )
    elif text_start[:1] == b"<":
        raise UnreadableFile(
            "文件是网页（HTML）或 XML 格式，不是表格文件。请在 Excel 中另存为 .xlsx 或 CSV 后重新提交",
            code="unsupported_format",
        )
    return _open_csv(path, head, size, max_cell_chars)


def _size_text(size: int) -> str:
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GB"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MB"
    return f"{size / 1024:.1f} KB"


def _check_headers(cells: list[str]) -> list[str]:
    """Headers name the columns, so they must be present, non-blank and unique.

    Trailing blank headers are dropped: spreadsheets often carry formatted but empty columns.
    """
    headers = [cell.strip().strip("\ufeff").strip() for cell in cells]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise UnreadableFile("文件没有表头行（第一行应为列名）", code="no_header")
    if "" in headers:
        position = headers.index("") + 1
        raise UnreadableFile(f"表头第 {position} 列的列名为空", code="blank_header")
    seen: set[str] = set()
    for header in headers:
        if header in seen:
            raise UnreadableFile(f"表头中的列名“{header[:50]}”重复", code="duplicate_header")
        seen.add(header)
    return headers


def _cells_to_values(
    headers: list[str], cells: list[str], max_cell_chars: int
) -> tuple[dict[str, str], RowProblem | None]:
    """Pair stripped cells (a list the caller gives away) with headers; find a problem.

    Called for every row, so the common case is a handful of C-level string operations on
    the joined row; only a row that might be wrong is looked at cell by cell.
    """
    width = len(headers)
    joined = _CELL_SEPARATOR.join(cells)
    if (
        len(cells) == width
        and len(joined) <= max_cell_chars
        and "=" not in joined
        and "\x00" not in joined
    ):
        return dict(zip(headers, cells, strict=True)), None
    problem: RowProblem | None = None
    count = len(cells)
    if count < width:
        problem = RowProblem(
            "cell_count",
            f"该行只有 {count} 个单元格，而表头有 {width} 列（行可能被截断，或分隔符不一致）",
        )
    elif count > width:
        if any(cells[width:]):
            problem = RowProblem(
                "cell_count",
                f"该行有 {count} 个单元格，多于表头的 {width} 列（可能有未加引号的逗号）",
            )
        cells = cells[:width]
    if len(joined) > max_cell_chars:
        for index, cell in enumerate(cells):
            if len(cell) > max_cell_chars:
                if problem is None:
                    problem = RowProblem(
                        "cell_too_long",
                        f"“{headers[index]}”列有 {len(cell)} 个字符，超过上限 {max_cell_chars}",
                        headers[index],
                    )
                cells[index] = ""  # drop the long text now, not when the row is done
    if problem is None and "=" in joined:
        for header, cell in zip(headers, cells, strict=False):
            if cell[:1] == "=":
                problem = RowProblem(
                    "formula",
                    f"“{header}”列以“=”开头，可能是公式；不接受公式或以等号开头的内容",
                    header,
                )
                break
    if problem is None and "\x00" in joined:
        for header, cell in zip(headers, cells, strict=False):
            if "\x00" in cell:
                problem = RowProblem(
                    "bad_bytes", f"“{header}”列含有空字符（NUL），文件可能已损坏", header
                )
                break
    return dict(zip(headers, cells, strict=False)), problem


# -- CSV --------------------------------------------------------------------------------


def _open_csv(path: Path, head: bytes, size: int, max_cell_chars: int) -> RawTable:
    has_bom = head.startswith(_UTF8_BOM)
    body = head[len(_UTF8_BOM) :] if has_bom else head
    if b"\x00" in body or len(body) - len(body.translate(None, _CONTROL_BYTES)) > len(body) // 100:
        raise UnreadableFile("文件含有二进制内容，不是文本表格（CSV）或 Excel 文件", code="binary")
    encoding = "utf-8" if has_bom else _sniff_encoding(body, whole=size <= len(head))
    newline = b"\n" if b"\n" in body or b"\r" not in body else b"\r"
    first_line = body.split(newline, 1)[0]
    delimiter = "\t" if b"\t" in first_line and b"," not in first_line else ","
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)

    raw = path.open("rb")
    try:
        if has_bom:
            raw.seek(len(_UTF8_BOM))
        lines = _CsvLines(raw, encoding, newline)
        # strict: a quote left open or followed by stray text rejects its row, instead of
        # silently swallowing the rest of the file into one cell.
        reader = csv.reader(lines.stream(), delimiter=delimiter, strict=True)
        headers = _check_headers(_read_header(reader, lines))
    except BaseException:
        raw.close()
        raise
    rows = _csv_rows(reader, lines, headers, max_cell_chars)
    return RawTable("csv", headers, rows, encoding=lines.encoding_name, on_close=[raw.close])


def _sniff_encoding(sample: bytes, *, whole: bool) -> str | None:
    """The encoding of a file, from its leading sample: UTF-8 or GB18030 (a superset of GBK).

    ``None`` while the sample is plain ASCII, which both encodings share: the decision then
    waits for the first non-ASCII block (a GBK file may start with pages of ASCII).
    """
    if sample.isascii():
        return None
    encoding = _choose_encoding(sample, whole=whole)
    if encoding is None:
        raise UnreadableFile(
            "无法识别文件的字符编码：文件应为 UTF-8 或 GBK/GB18030 编码的文本", code="encoding"
        )
    return encoding


def _choose_encoding(data: bytes, *, whole: bool) -> str | None:
    """UTF-8 if it decodes ``data``, or most of its non-ASCII lines; else GB18030 on the same
    terms; else ``None``.

    Trying UTF-8 and then GB18030 on the whole sample would be wrong: GB18030 decodes most
    UTF-8 Chinese without error (as nonsense), so one stray GBK line in a UTF-8 file would
    turn every other line into mojibake. Counting lines keeps the file's real encoding and
    lets the few odd lines be rejected as rows.
    """
    lines = data.split(b"\n")
    if not whole:
        lines.pop()  # may end mid-character
    foreign = [line for line in lines if not line.isascii()]
    for encoding in _ENCODINGS:
        if _complete_decode(data, encoding, whole=whole):
            return encoding
        decoded = sum(_strict_decode(line, encoding) is not None for line in foreign)
        if decoded * 2 > len(foreign):
            return encoding
    return None


def _complete_decode(data: bytes, encoding: str, *, whole: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(data, final=whole)  # not final: a sample may end mid-character
    except UnicodeDecodeError:
        return False
    return True


def _read_header(reader: CsvReader, lines: _CsvLines) -> list[str]:
    """The first row is the header: a blank one means the columns have no names."""
    try:
        cells = next(reader)
    except StopIteration:
        raise UnreadableFile("文件为空", code="empty") from None
    except csv.Error as exc:
        raise UnreadableFile("表头（第 1 行）的引号不符合 CSV 格式", code="bad_csv") from exc
    damaged = _pop_marks(lines.marks, reader.line_num) if lines.marks else None
    if damaged is not None:
        raise UnreadableFile(
            f"表头（第 1 行）无法读取：{damaged.message}",
            code="too_large" if damaged.code == "line_too_long" else "encoding",
        )
    if not any(cell.strip() for cell in cells):
        raise UnreadableFile("第 1 行是空的：第一行应为表头（列名）", code="no_header")
    return cells


class _CsvLines:
    """Turns the byte stream into text lines for ``csv.reader``, block by block.

    Whole blocks are decoded strictly in one C call; only a block that fails (or holds a NUL)
    is decoded line by line, and the damaged physical lines are remembered in ``marks`` so
    that the row made from them is rejected instead of the file.
    """

    def __init__(self, raw: IO[bytes], encoding: str | None, newline: bytes) -> None:
        self.raw = raw
        self.encoding = encoding
        self.newline = newline
        self.newline_text = newline.decode("ascii")
        self.lines_done = 0  # physical lines handed out before the current block
        self.marks: deque[tuple[int, RowProblem]] = deque()

    def encoding_name(self) -> str:
        return self.encoding or "utf-8"

    def stream(self) -> Iterator[str]:
        return itertools.chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[io.StringIO]:
        """Blocks that end at a line break, so no line (and no character) is cut in two."""
        newline = self.newline
        read = self.raw.read
        pending: list[bytes] = []
        pending_size = 0
        skipping = False  # inside a line longer than MAX_LINE_BYTES
        while chunk := read(BLOCK_BYTES):
            cut = chunk.rfind(newline)
            if cut < 0:
                if not skipping:
                    pending.append(chunk)
                    pending_size += len(chunk)
                    if pending_size > MAX_LINE_BYTES:
                        pending, pending_size, skipping = [], 0, True
                continue
            if skipping:
                skipping = False
                yield self._too_long_line()
                start = chunk.find(newline) + 1
                block = chunk[start : cut + 1]
            elif pending:
                pending.append(chunk[: cut + 1])
                block = b"".join(pending)
            else:
                block = chunk[: cut + 1] if cut + 1 < len(chunk) else chunk
            rest = chunk[cut + 1 :]
            pending, pending_size = ([rest], len(rest)) if rest else ([], 0)
            if block:
                yield self._decode(block)
        if skipping:
            yield self._too_long_line()
        elif pending:
            yield self._decode(b"".join(pending))

    def _too_long_line(self) -> io.StringIO:
        self.lines_done += 1
        self.marks.append(
            (
                self.lines_done,
                RowProblem(
                    "line_too_long",
                    f"该行超过 {MAX_LINE_BYTES >> 20} MB，不是有效的表格行，已跳过",
                ),
            )
        )
        return io.StringIO(self.newline_text, newline=self.newline_text)

    def _decode(self, block: bytes) -> io.StringIO:
        if self.encoding is None and not block.isascii():
            # The sample was ASCII; this first non-ASCII block decides. Neither fitting means
            # a damaged file: UTF-8 then, and the undecodable rows are rejected one by one.
            self.encoding = _choose_encoding(block, whole=True) or "utf-8"
        encoding = self.encoding or "utf-8"
        text = None if b"\x00" in block else _strict_decode(block, encoding)
        if text is None:
            text = self._decode_lines(block, encoding)
        self.lines_done += block.count(self.newline)
        return io.StringIO(text, newline=self.newline_text)

    def _decode_lines(self, block: bytes, encoding: str) -> str:
        decoded = []
        for index, line in enumerate(block.split(self.newline), start=self.lines_done + 1):
            problem = None
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError:
                text = line.decode(encoding, "replace")
                problem = RowProblem(
                    "bad_bytes",
                    f"该行含有不符合 {_ENCODING_NAMES[encoding]} 编码的字节，"
                    "可能混用了不同编码或文件已损坏",
                )
            if "\x00" in text:
                text = text.replace("\x00", "")
                problem = problem or RowProblem(
                    "bad_bytes", "该行含有空字符（NUL），文件可能已损坏"
                )
            if problem is not None:
                self.marks.append((index, problem))
            decoded.append(text)
        return self.newline_text.join(decoded)


def _strict_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _csv_rows(
    reader: CsvReader,
    lines: _CsvLines,
    headers: list[str],
    max_cell_chars: int,
) -> Iterator[RawRow]:
    """The hot loop: everything here runs once per row of files with millions of rows.

    A row with no whitespace or control character anywhere, no "=" and no long text needs
    neither stripping nor a cell-by-cell look; one join and a few C-level scans prove it.
    """
    number = 1  # the header
    marks = lines.marks
    width = len(headers)
    separator = _CELL_SEPARATOR
    space_before, space_after = " " + separator, separator + " "
    new, set_number, set_values, set_problem = (
        _new_object,
        _set_number,
        _set_values,
        _set_problem,
    )
    while True:
        try:
            for cells in reader:
                number += 1
                joined = separator.join(cells)
                size = len(joined)
                if (
                    not marks
                    and len(cells) == width
                    and width <= size <= max_cell_chars  # not blank, nothing too long
                    and "=" not in joined
                    and joined.isprintable()
                    and (
                        " " not in joined
                        or not (
                            joined[0] == " "
                            or joined[-1] == " "
                            or space_before in joined
                            or space_after in joined
                        )
                    )
                ):
                    row = new(RawRow)
                    set_number(row, number)
                    # Lengths were compared just above; zip's strict= costs ~200 ns a row.
                    set_values(row, dict(zip(headers, cells)))  # noqa: B905
                    set_problem(row, None)
                    yield row
                    continue
                problem = _pop_marks(marks, reader.line_num) if marks else None
                cells = [cell.strip() for cell in cells]
                if not any(cells):
                    if problem is not None:
                        yield RawRow(number, {}, problem)
                    continue  # a blank row: spreadsheets leave them, people ignore them
                values, found = _cells_to_values(headers, cells, max_cell_chars)
                yield RawRow(number, values, problem or found)
            return
        except csv.Error as exc:
            number += 1
            problem = _pop_marks(marks, reader.line_num) if marks else None
            yield RawRow(number, {}, problem or _csv_problem(exc))


def _csv_problem(exc: csv.Error) -> RowProblem:
    """Say in Chinese what the csv module said in English."""
    reason = str(exc)
    if "field larger" in reason:
        return RowProblem("cell_too_long", "该行有单元格过长（可能是引号没有配对）")
    if "end of data" in reason:
        return RowProblem("bad_csv", "该行有引号没有配对：从这里到文件末尾都被当成了一个单元格")
    return RowProblem("bad_csv", "该行的引号使用不正确：用引号括起的内容后面应紧跟分隔符或换行")


def _pop_marks(marks: deque[tuple[int, RowProblem]], line_num: int) -> RowProblem | None:
    """The first problem among the physical lines the current row was made of."""
    problem = None
    while marks and marks[0][0] <= line_num:
        found = marks.popleft()[1]
        problem = problem or found
    return problem


# -- JSON Lines -------------------------------------------------------------------------


def _json_float(text: str) -> str:
    """Keep a number as written, minus a meaningless ``.0`` (``45296.0`` → ``45296``)."""
    if "e" in text or "E" in text:
        try:
            number = Decimal(text)
            if -30 <= number.adjusted() <= 30:
                return format(number.normalize(), "f")
        except ArithmeticError:  # an exponent beyond what decimal can hold
            pass
        return text
    whole, _, fraction = text.partition(".")
    return whole if not fraction.strip("0") else text


def _json_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _json_loads(line: bytes) -> Any:
    return json.loads(line, parse_float=_json_float, parse_int=str, parse_constant=_json_constant)


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if value is True:
        return "是"
    if value is False:
        return "否"
    raise TypeError("nested value")


def _open_jsonl(path: Path, max_cell_chars: int) -> RawTable:
    raw = path.open("rb")
    try:
        headers = _jsonl_headers(raw)
        raw.seek(0)
    except BaseException:
        raw.close()
        raise
    rows = _jsonl_rows(raw, max_cell_chars)
    return RawTable("jsonl", headers, rows, encoding=lambda: "utf-8", on_close=[raw.close])


def _jsonl_lines(raw: IO[bytes]) -> Iterator[bytes | None]:
    """Physical lines; ``None`` stands for a line too long to be a record."""
    readline = raw.readline
    while line := readline(MAX_LINE_BYTES):
        if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def _jsonl_headers(raw: IO[bytes]) -> list[str]:
    for number, line in enumerate(_jsonl_lines(raw), start=1):
        if line is not None and not line.strip():
            continue
        try:
            first = _json_loads(line) if line is not None else None
        except (ValueError, RecursionError):
            first = None
        if not isinstance(first, dict) or not first:
            raise UnreadableFile(
                f"第 {number} 行不是完整的 JSON 对象。JSON Lines 文件应每行一个对象，"
                "对象内不要换行排版",
                code="bad_json",
            )
        return _check_headers(_jsonl_keys(first, raw))
    raise UnreadableFile("文件为空", code="empty")


def _jsonl_keys(first: dict[str, Any], raw: IO[bytes]) -> list[str]:
    """Every key of the file, in the order first seen: objects need not repeat the first
    one's keys, and a key first met on line 2 (a 失信等级, say) is a column like the others
    (read, or listed among the ignored columns), never silently dropped."""
    keys = [str(key) for key in first]
    seen = {key.strip() for key in keys}
    for line in _jsonl_lines(raw):
        if line is None or not line.strip():
            continue
        try:
            obj = _json_loads(line)
        except (ValueError, RecursionError):
            continue  # the row reader says what is wrong with it
        if isinstance(obj, dict):
            for key in obj:
                name = str(key).strip()
                if name and name not in seen:
                    seen.add(name)
                    keys.append(name)
    return keys


def _jsonl_rows(raw: IO[bytes], max_cell_chars: int) -> Iterator[RawRow]:
    for number, line in enumerate(_jsonl_lines(raw), start=1):
        if line is None:
            problem = RowProblem(
                "line_too_long", f"该行超过 {MAX_LINE_BYTES >> 20} MB，不是有效的记录"
            )
            yield RawRow(number, {}, problem)
            continue
        if not line.strip():
            continue
        try:
            obj = _json_loads(line)
        except UnicodeDecodeError:
            yield RawRow(number, {}, RowProblem("bad_bytes", "该行含有不符合 UTF-8 编码的字节"))
            continue
        except (ValueError, RecursionError):
            yield RawRow(number, {}, RowProblem("bad_json", "该行不是有效的 JSON"))
            continue
        if not isinstance(obj, dict):
            yield RawRow(
                number, {}, RowProblem("bad_json", '该行不是 JSON 对象（应为 {"列名": 值, …}）')
            )
            continue
        yield _jsonl_row(number, obj, max_cell_chars)


def _jsonl_row(number: int, obj: dict[str, Any], max_cell_chars: int) -> RawRow:
    values: dict[str, str] = {}
    problem: RowProblem | None = None
    for raw_key, raw_value in obj.items():
        key = raw_key.strip()
        if not key:
            continue  # names no column; the first object's keys were checked already
        try:
            text = _json_text(raw_value)
        except TypeError:
            problem = problem or RowProblem(
                "bad_json", f"“{key}”的值是对象或数组，只接受文字、数字、布尔值或 null", key
            )
            continue
        if len(text) > max_cell_chars:
            problem = problem or RowProblem(
                "cell_too_long", f"“{key}”有 {len(text)} 个字符，超过上限 {max_cell_chars}", key
            )
            continue
        if text[:1] == "=":
            problem = problem or RowProblem(
                "formula", f"“{key}”以“=”开头，可能是公式；不接受公式或以等号开头的内容", key
            )
        elif "\x00" in text:
            problem = problem or RowProblem("bad_bytes", f"“{key}”含有空字符（NUL）", key)
        values[key] = text
    return RawRow(number, values, problem)


# -- XLSX -------------------------------------------------------------------------------


def _open_xlsx(path: Path, max_cell_chars: int, max_uncompressed: int) -> RawTable:
    _check_zip(path, max_uncompressed)
    from python_calamine import CalamineWorkbook, PasswordError

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except PasswordError as exc:
        raise _encrypted_workbook() from exc
    except BaseException as exc:
        _reraise_interrupts(exc)
        raise _corrupt_workbook() from exc
    try:
        sheet = workbook.get_sheet_by_index(0)
        # iter_rows starts at the sheet's row 1 even when the data starts lower, so counting
        # from 1 gives the row numbers the person sees in Excel. The empty rows above the
        # data are outside the sheet's used range, not a blank header: they are skipped.
        cells_by_row = enumerate(sheet.iter_rows(), start=1)
        for _number, raw_cells in cells_by_row:
            header_cells = [_xlsx_text(value) for value in raw_cells]
            if any(header_cells):
                headers = _check_headers(header_cells)
                break
        else:
            raise UnreadableFile("工作簿的第一个工作表是空的", code="empty")
    except UnreadableFile:
        workbook.close()
        raise
    except BaseException as exc:
        workbook.close()
        _reraise_interrupts(exc)
        raise _corrupt_workbook() from exc
    rows = _xlsx_rows(cells_by_row, headers, max_cell_chars)
    return RawTable("xlsx", headers, rows, on_close=[workbook.close])


def _reraise_interrupts(exc: BaseException) -> None:
    """Calamine reports damage with many exception types, and a Rust panic arrives as
    pyo3's PanicException, a BaseException; all of them mean "damaged file", except the
    ones that mean "stop"."""
    if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
        raise exc


def _encrypted_workbook() -> UnreadableFile:
    return UnreadableFile(
        "Excel 工作簿设置了密码（已加密），无法读取。请取消密码保护后另存为 .xlsx 或 CSV 重新提交",
        code="encrypted_or_xls",
    )


def _corrupt_workbook() -> UnreadableFile:
    return UnreadableFile(
        "Excel 文件已损坏或不完整（可能上传中断），请重新导出后提交", code="corrupt_xlsx"
    )


def _check_zip(path: Path, max_uncompressed: int) -> None:
    """Refuse zip bombs before calamine inflates anything.

    The central directory gives the declared sizes; every member is then inflated once,
    discarding the output, because a crafted archive can declare small sizes and expand far
    beyond them (zipfile stops at the declared size and the CRC check then fails).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(member.file_size for member in members)
            if total > max_uncompressed:
                raise UnreadableFile(
                    f"Excel 文件解压后达 {_size_text(total)}，超过上限 {_size_text(max_uncompressed)}",
                    code="too_large",
                )
            for member in members:
                if member.file_size > _RATIO_FLOOR and member.file_size > MAX_RATIO * max(
                    member.compress_size, 1
                ):
                    raise UnreadableFile(
                        "Excel 文件的压缩比异常（可能是“压缩炸弹”），拒绝处理", code="too_large"
                    )
            if "xl/workbook.xml" not in {member.filename for member in members}:
                raise UnreadableFile(
                    "压缩文件不是 Excel 工作簿（.xlsx）。请上传 .xlsx、CSV 或 JSON Lines 文件",
                    code="corrupt_xlsx",
                )
            if any(member.flag_bits & 0x1 for member in members):
                raise _encrypted_workbook()
            for member in members:
                with archive.open(member) as stream:
                    while stream.read(BLOCK_BYTES):
                        pass
    except UnreadableFile:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise _corrupt_workbook() from exc
    except RuntimeError as exc:  # zipfile's "password required"
        raise _encrypted_workbook() from exc


def _xlsx_text(value: object) -> str:
    """A cell as the person sees it in Excel, not as the file stores it."""
    if type(value) is str:
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds")
    if value is None:
        return ""
    return str(value).strip()


def _float_text(value: float) -> str:
    """``45296.0`` → ``45296``; ``0.30000000000000004`` → ``0.3``.

    Excel keeps 15 significant digits, so that is what the person typed and saw; an 18-digit
    identity number typed as a number has already lost its last digits, and printing the
    float's binary expansion would only hide that.
    """
    if value.is_integer() and -_EXACT_FLOAT_INT < value < _EXACT_FLOAT_INT:
        return str(int(value))
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    text = format(value, ".15g")
    if "e" in text:
        text = format(Decimal(text), "f")
    return text


def _xlsx_rows(
    cells_by_row: Iterator[tuple[int, list[Any]]], headers: list[str], max_cell_chars: int
) -> Iterator[RawRow]:
    for number, raw_cells in cells_by_row:
        cells = [_xlsx_text(value) for value in raw_cells]
        if not any(cells):
            continue
        values, problem = _cells_to_values(headers, cells, max_cell_chars)
        if problem is None:
            problem = _lost_digits(headers, raw_cells)
        yield RawRow(number, values, problem)


def _lost_digits(headers: list[str], raw_cells: list[Any]) -> RowProblem | None:
    """A 16–18 digit whole number in a numeric cell: an identity number (or code) that Excel
    stored as a number, keeping 15 significant digits. Its last digits are zeros now, and one
    time in eleven the zeros even make a valid check character: someone else's number."""
    for index, value in enumerate(raw_cells[: len(headers)]):
        if type(value) is float and 1e15 <= abs(value) < 1e18 and value.is_integer():
            header = headers[index]
            return RowProblem("excel_number", excel_number_message(header), header)
    return None


def excel_number_message(header: str) -> str:
    return f"{header}被 Excel 存为数字，已丢失位数，请将该列设为文本"


__all__ = ["MAX_UNCOMPRESSED", "RawRow", "RawTable", "RowProblem", "open_table"]
