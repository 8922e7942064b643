"""Reading catalog files: YAML → validated entries, with the line of every problem."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from xinyong.catalog.schemas import SECTION_MODELS
from xinyong.errors import InvalidInput

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class ParsedEntry:
    section: str
    entry: Any  # one of SECTION_MODELS' types
    line: int


class CatalogFileProblems(InvalidInput):
    """A catalog file's entry problems, with the entries that were valid: the loader checks
    those against the catalog too, so every error of the file is reported in one pass."""

    def __init__(
        self,
        source: str,
        problems: list[str],
        entries: list[ParsedEntry],
        code: str,
        invalid_codes: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(f"{source} 有 {len(problems)} 处错误：\n" + "\n".join(problems), code=code)
        self.source = source
        self.problems = problems
        self.entries = entries
        self.invalid_codes = invalid_codes  # codes of the file's entries that failed


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that remembers the line where every mapping starts.

    Catalogs hold no dates: an unquoted date-like value stays text, so an impossible one
    (2027-13-01) is reported by validation with its line instead of failing in the loader."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        str(k): v for k, v in loader.construct_mapping(node, deep=True).items()
    }
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {
        str(key.value): key.start_mark.line + 1 for key, _ in node.value if hasattr(key, "value")
    }
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_LINE_KEYS = frozenset({"__line__", "__lines__"})


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in _LINE_KEYS}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


# Pydantic's error types in the words of a catalog editor.
_MESSAGES = {
    "missing": "缺少必填项",
    "extra_forbidden": "不是该类条目的字段",
    "string_type": "应为文本",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "string_pattern_mismatch": "格式不符（只可用字母、数字和 _ . -）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "dict_type": "应为键值结构",
    "model_type": "应为键值结构",
    "model_attributes_type": "应为键值结构",
}


def _chinese(error: Any) -> str:
    """One pydantic error as a Chinese sentence."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in ("literal_error", "enum"):
        choices = re.split(r", | or ", str(ctx.get("expected", "")))
        return "应为以下之一：" + "、".join(c.strip("'\"") for c in choices if c)
    if kind in ("greater_than_equal", "greater_than"):
        return f"应不小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"应不大于 {ctx.get('le', ctx.get('lt'))}"
    return _MESSAGES.get(kind, f"取值无效（{kind}）")


def _line_of(raw: dict[str, Any], loc: tuple[Any, ...]) -> int:
    """The YAML line of the value at ``loc`` inside an entry (its key's line if known)."""
    line = int(raw.get("__line__", 0))
    node: Any = raw
    for part in loc:
        if isinstance(node, dict):
            line = int((node.get("__lines__") or {}).get(str(part), line))
            node = node.get(str(part))
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
        if isinstance(node, dict):
            line = int(node.get("__line__", line))
    return line


def parse_catalog_text(text: str, source: str) -> list[ParsedEntry]:
    """Validate a catalog document; raise InvalidInput naming every problem with its line.

    All problems of the file are reported at once, one a line, so the editor fixes them in
    one pass."""
    try:
        doc = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise InvalidInput(f"{source} {where}：YAML 格式错误", code="catalog_yaml") from exc
    if not isinstance(doc, dict):
        raise InvalidInput(f"{source}：目录文件应为键值结构", code="catalog_shape")
    problems: list[str] = []
    codes: set[str] = set()
    unknown = set(doc) - set(SECTION_MODELS) - {"version", "description"} - _LINE_KEYS
    for name in sorted(unknown):
        line = doc["__lines__"].get(name, doc["__line__"])
        problems.append(f"第 {line} 行：未知的目录部分 {name}")
        codes.add("catalog_section")
    entries: list[ParsedEntry] = []
    invalid_codes: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for section, model in SECTION_MODELS.items():
        raw_list = doc.get(section) or []
        if not isinstance(raw_list, list):
            line = doc["__lines__"].get(section, 0)
            problems.append(f"第 {line} 行：{section} 应为列表")
            codes.add("catalog_shape")
            continue
        for raw in raw_list:
            if not isinstance(raw, dict):
                problems.append(f"{section} 中有非键值条目“{str(raw)[:40]}”")
                codes.add("catalog_shape")
                continue
            line = int(raw.get("__line__", 0))
            try:
                entry = model.model_validate(_strip_lines(raw))
            except ValidationError as exc:
                if raw.get("code") is not None:
                    invalid_codes.add(str(raw["code"]))
                label = f"{section} {raw.get('code', '')}".strip()
                for error in exc.errors():
                    loc = tuple(error["loc"])
                    where = ".".join(str(p) for p in loc)
                    problems.append(
                        f"第 {_line_of(raw, loc)} 行（{label}）："
                        + (f"{where} " if where else "")
                        + _chinese(error)
                    )
                codes.add("catalog_entry")
                continue
            key = (section, entry.code)
            if key in seen:
                problems.append(f"第 {line} 行：{section} 中代码 {entry.code} 重复")
                codes.add("catalog_duplicate")
                continue
            seen.add(key)
            entries.append(ParsedEntry(section, entry, line))
    if problems:
        raise CatalogFileProblems(
            source,
            problems,
            entries,
            codes.pop() if len(codes) == 1 else "catalog_entry",
            frozenset(invalid_codes),
        )
    return entries


def parse_catalog_file(path: Path) -> list[ParsedEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"无法读取目录文件 {path.name}", code="catalog_unreadable") from exc
    return parse_catalog_text(text, path.name)


def default_catalog_files() -> list[Path]:
    return sorted(DATA_DIR.glob("*.yaml"))
