"""Schema migrations through Alembic, without an alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from xinyong.db import get_engine


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "xinyong:migrations")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine | None = None) -> None:
    engine = engine or get_engine()
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


def revision(message: str) -> None:
    """Autogenerate a revision (developers only)."""
    with get_engine().begin() as conn:
        command.revision(alembic_config(conn), message=message, autogenerate=True)
