"""Catalog services: load files into the database, read the catalog in force, departments."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xinyong.catalog.catalog import Catalog
from xinyong.catalog.loader import (
    CatalogFileProblems,
    ParsedEntry,
    default_catalog_files,
    parse_catalog_file,
)
from xinyong.catalog.models import CatalogEntry, Department
from xinyong.catalog.periods import period_problems
from xinyong.catalog.schemas import SECTION_KINDS, SECTION_MODELS
from xinyong.config import get_settings
from xinyong.errors import Conflict, InvalidInput, NotFound
from xinyong.identity.numbers import IdNumberError, parse_credit_code

KIND_SECTIONS = {kind: section for section, kind in SECTION_KINDS.items()}


@dataclass
class LoadResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def reference_problems(session: Session, entries: list[ParsedEntry]) -> list[str]:
    """What is wrong with ``entries`` against the catalog they would produce (dangling
    references, display periods outside the national bounds), each with its line."""
    current = current_catalog(session).copy()
    for parsed in entries:
        current.section(parsed.section)[parsed.entry.code] = parsed.entry
    problems = current.check_references()
    # 国家发展改革委令第36号's bounds, unless the city profile widens them.
    problems += period_problems(current.grades, current.items.values(), get_settings().profile)
    lines = {(p.section, p.entry.code): p.line for p in entries}
    messages = []
    for section, code, message in problems:
        line = lines.get((section, code))
        messages.append(f"第 {line} 行：{message}" if line else message)
    return messages


def load_entries(session: Session, entries: list[ParsedEntry], source: str) -> LoadResult:
    """Store entries as new versions where they differ; keep old versions.

    The whole file is checked against the catalog it would produce before anything is
    written, so a file with a dangling reference changes nothing.
    """
    messages = reference_problems(session, entries)
    if messages:
        raise InvalidInput(
            f"{source} 有 {len(messages)} 处错误：\n" + "\n".join(messages),
            code="catalog_reference",
        )

    result = LoadResult()
    rows = {
        (row.kind, row.code): row
        for row in session.scalars(select(CatalogEntry).where(CatalogEntry.is_current))
    }
    for parsed in entries:
        kind = SECTION_KINDS[parsed.section]
        data = parsed.entry.model_dump(mode="json")
        existing = rows.get((kind, parsed.entry.code))
        if existing is not None and existing.data == data:
            result.unchanged += 1
            continue
        version = 1
        if existing is not None:
            existing.is_current = False
            version = existing.version + 1
            result.updated += 1
        else:
            last = session.scalar(
                select(CatalogEntry.version)
                .where(CatalogEntry.kind == kind, CatalogEntry.code == parsed.entry.code)
                .order_by(CatalogEntry.version.desc())
                .limit(1)
            )
            version = (last or 0) + 1
            result.added += 1
        session.add(
            CatalogEntry(
                kind=kind,
                code=parsed.entry.code,
                version=version,
                is_current=True,
                name=parsed.entry.name,
                data=data,
                source=source[:200],
            )
        )
        if parsed.section == "departments":
            _sync_department(session, data)
    session.flush()
    _invalidate()
    return result


def load_file(session: Session, path: Path) -> LoadResult:
    try:
        entries = parse_catalog_file(path)
    except CatalogFileProblems as exc:
        # The valid entries are checked too, so the editor sees every error in one pass.
        # A reference to an entry of the file that is itself invalid is not reported: it
        # is fixed with that entry.
        extra = [
            m
            for m in reference_problems(session, exc.entries)
            if not any(
                re.search(rf"(?<![\w.-]){re.escape(code)}(?![\w.-])", m)
                for code in exc.invalid_codes
            )
        ]
        if not extra:
            raise
        messages = exc.problems + extra
        raise InvalidInput(
            f"{exc.source} 有 {len(messages)} 处错误：\n" + "\n".join(messages), code=exc.code
        ) from None
    return load_entries(session, entries, path.name)


def load_defaults(session: Session) -> LoadResult:
    total = LoadResult()
    entries: list[ParsedEntry] = []
    for path in default_catalog_files():
        entries.extend(parse_catalog_file(path))
    part = load_entries(session, entries, "default")
    total.added += part.added
    total.updated += part.updated
    total.unchanged += part.unchanged
    return total


_cache: dict[int, tuple[Any, Catalog, float]] = {}
# How long a process trusts its cached catalog before asking the database whether another
# process loaded a new version (the check API asks on every request otherwise).
STAMP_TTL_SECONDS = 2.0


def _invalidate() -> None:
    _cache.clear()


def cached_catalog(bind: object) -> Catalog | None:
    """The catalog in force if ``current_catalog`` checked it within the last seconds
    (for callers that must not block on the database), else None."""
    cached = _cache.get(id(bind))
    if cached is not None and time.monotonic() - cached[2] < STAMP_TTL_SECONDS:
        return cached[1]
    return None


def current_catalog(session: Session) -> Catalog:
    """The catalog in force. Cached per engine until a load changes it."""
    bind = session.get_bind()
    cached = _cache.get(id(bind))
    now = time.monotonic()
    if cached is not None and now - cached[2] < STAMP_TTL_SECONDS:
        return cached[1]
    stamp = session.scalar(select(CatalogEntry.id).order_by(CatalogEntry.id.desc()).limit(1))
    if cached is not None and cached[0] == stamp:
        _cache[id(bind)] = (stamp, cached[1], now)
        return cached[1]
    catalog = Catalog()
    for row in session.scalars(select(CatalogEntry).where(CatalogEntry.is_current)):
        section = KIND_SECTIONS[row.kind]
        catalog.section(section)[row.code] = SECTION_MODELS[section].model_validate(row.data)
        catalog.versions[(row.kind, row.code)] = row.version
        if row.kind == "item":
            catalog.item_versions[row.code] = row.version
    _cache[id(bind)] = (stamp, catalog, now)
    return catalog


def entry_history(session: Session, kind: str, code: str) -> list[CatalogEntry]:
    return list(
        session.scalars(
            select(CatalogEntry)
            .where(CatalogEntry.kind == kind, CatalogEntry.code == code)
            .order_by(CatalogEntry.version)
        )
    )


def _sync_department(session: Session, data: dict[str, Any]) -> None:
    dept = session.scalar(select(Department).where(Department.code == data["code"]))
    if dept is None:
        session.add(
            Department(
                code=data["code"],
                name=data["name"],
                credit_code=data.get("credit_code"),
                kind=data.get("kind", "government"),
            )
        )
    else:
        dept.name = data["name"]
        dept.credit_code = data.get("credit_code")
        dept.kind = data.get("kind", "government")


def add_department(
    session: Session, code: str, name: str, credit_code: str | None, kind: str = "government"
) -> Department:
    if credit_code:
        try:
            credit_code = parse_credit_code(credit_code)
        except IdNumberError as exc:
            raise InvalidInput(exc.message, code=exc.code) from exc
    if session.scalar(select(Department).where(Department.code == code)) is not None:
        raise Conflict(f"部门代码 {code} 已存在", code="department_exists")
    if credit_code and session.scalar(
        select(Department).where(Department.credit_code == credit_code)
    ):
        raise Conflict(f"统一社会信用代码 {credit_code} 已被其他部门使用", code="department_exists")
    dept = Department(code=code, name=name, credit_code=credit_code, kind=kind)
    session.add(dept)
    session.flush()
    return dept


def get_department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(f"部门 {code} 不存在", code="unknown_department")
    return dept


def department_by_credit_code(session: Session, credit_code: str) -> Department | None:
    return session.scalar(
        select(Department).where(Department.credit_code == credit_code.strip().upper())
    )


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code)))


def retire_entry(session: Session, kind: str, code: str) -> None:
    session.execute(
        update(CatalogEntry)
        .where(CatalogEntry.kind == kind, CatalogEntry.code == code)
        .values(is_current=False)
    )
    _invalidate()
