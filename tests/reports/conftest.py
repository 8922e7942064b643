"""Shared set-up for report tests: a person with an archive of every section's kind."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests import factories
from xinyong.identity.protection import IdentityProtector, protector_for
from xinyong.subjects.models import Subject
from xinyong.subjects.services import find_subject


@pytest.fixture()
def protector() -> IdentityProtector:
    return protector_for()


@pytest.fixture()
def person(session: Session, protector: IdentityProtector) -> tuple[str, Subject]:
    number = factories.person_archive(session, records=28, name="李小明")
    subject = find_subject(session, protector, number)
    assert subject is not None
    return number, subject


def poppler(tool: str, *args: str | Path) -> bytes:
    """Run a poppler-utils (or zbar-tools) program, installed by scripts/system-packages."""
    path = shutil.which(tool)
    assert path, f"{tool} is missing: run scripts/system-packages"
    return subprocess.run([path, *map(str, args)], check=True, capture_output=True).stdout


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return poppler("pdftotext", "-enc", "UTF-8", path, "-").decode("utf-8")
