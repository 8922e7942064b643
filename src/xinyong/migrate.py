"""Schema migrations through Alembic, without an alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from xinyong.db import get_engine
from xinyong.errors import ConfigurationError


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "xinyong:migrations")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine | None = None, target: str = "head") -> None:
    engine = engine or get_engine()
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                command.upgrade(alembic_config(conn), target)
            return
        # Alembic alters a SQLite table by rebuilding it (copy, drop, rename); with foreign
        # keys enforced, dropping a table that others reference fails. Enforcement cannot
        # change inside a transaction: off before it, the keys checked at its end, on after.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                command.upgrade(alembic_config(conn), target)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise ConfigurationError(
                        f"迁移后有 {len(broken)} 行外键不一致（首个：表 {broken[0][0]}），已回滚",
                        code="migration_foreign_keys",
                    )
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def revision(message: str) -> None:
    """Autogenerate a revision (developers only)."""
    with get_engine().begin() as conn:
        command.revision(alembic_config(conn), message=message, autogenerate=True)
