"""Reading catalog files: YAML → validated entries, with the line of every problem."""

from __future__ import annotations

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


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that remembers the line where every mapping starts."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        str(k): v for k, v in loader.construct_mapping(node, deep=True).items()
    }
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def parse_catalog_text(text: str, source: str) -> list[ParsedEntry]:
    """Validate a catalog document; raise InvalidInput naming the file and line."""
    try:
        doc = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise InvalidInput(f"{source} {where}：YAML 格式错误", code="catalog_yaml") from exc
    if not isinstance(doc, dict):
        raise InvalidInput(f"{source}：目录文件应为键值结构", code="catalog_shape")
    unknown = set(doc) - set(SECTION_MODELS) - {"version", "__line__", "description"}
    if unknown:
        raise InvalidInput(
            f"{source} 第 {doc['__line__']} 行：未知的目录部分 {sorted(unknown)}",
            code="catalog_section",
        )
    entries: list[ParsedEntry] = []
    seen: set[tuple[str, str]] = set()
    for section, model in SECTION_MODELS.items():
        raw_list = doc.get(section) or []
        if not isinstance(raw_list, list):
            raise InvalidInput(f"{source}：{section} 应为列表", code="catalog_shape")
        for raw in raw_list:
            line = raw.get("__line__", 0) if isinstance(raw, dict) else 0
            if not isinstance(raw, dict):
                raise InvalidInput(f"{source}：{section} 中有非键值条目", code="catalog_shape")
            try:
                entry = model.model_validate(_strip_lines(raw))
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first["loc"])
                raise InvalidInput(
                    f"{source} 第 {line} 行（{section} {raw.get('code', '')}）："
                    f"{loc} {first['msg']}",
                    code="catalog_entry",
                ) from exc
            key = (section, entry.code)
            if key in seen:
                raise InvalidInput(
                    f"{source} 第 {line} 行：{section} 中代码 {entry.code} 重复",
                    code="catalog_duplicate",
                )
            seen.add(key)
            entries.append(ParsedEntry(section, entry, line))
    return entries


def parse_catalog_file(path: Path) -> list[ParsedEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"无法读取目录文件 {path.name}", code="catalog_unreadable") from exc
    return parse_catalog_text(text, path.name)


def default_catalog_files() -> list[Path]:
    return sorted(DATA_DIR.glob("*.yaml"))
