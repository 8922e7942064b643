"""The pure engines and rules import without SQLAlchemy, FastAPI or the database layer.

Run in a fresh interpreter with those packages blocked (``sys.modules[name] = None`` makes
any import of them fail), so a module that reaches them, however indirectly, fails here.
import-linter holds the same line statically (``[tool.importlinter]`` in pyproject.toml).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import xinyong

PURE_MODULES = [
    "xinyong.measures.engine",
    "xinyong.scoring.engine",
    "xinyong.reports.content",
    "xinyong.records.display",
    "xinyong.records.states",
    "xinyong.catalog.periods",
    "xinyong.lists.kinds",
    "xinyong.repair.workflow",
    "xinyong.authorizations.rules",
    "xinyong.workdays.schedule",
    "xinyong.workflows.machine",
    "xinyong.objections.workflow",
    "xinyong.commitments.workflow",
    "xinyong.tipoffs.workflow",
    "xinyong.audit.chain",
    "xinyong.audit.rules",
]

_PROBE = """
import importlib, sys
for blocked in ("sqlalchemy", "fastapi", "xinyong.db"):
    sys.modules[blocked] = None
importlib.import_module(sys.argv[1])
"""


@pytest.mark.parametrize("module", PURE_MODULES)
def test_imports_without_the_database_layer(module: str) -> None:
    src = str(Path(xinyong.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, module], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
