"""Database plumbing shared by every domain package: Base, engine, sessions, column types."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, cast

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine, Result, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from xinyong.config import Settings, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite so autoincrement works.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonDoc = JSON().with_variant(postgresql.JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes, stored as UTC; SQLite gets them back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


pk = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
code = Annotated[str, mapped_column(String(64))]
name = Annotated[str, mapped_column(String(200))]
created_at = Annotated[dt.datetime, mapped_column(UtcDateTime, default=utcnow)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


BUSY_DEFAULT, BUSY_NOW = "xinyong.busy_default_ms", "xinyong.busy_ms"


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any, busy_ms: int = 30000) -> None:
    # Let SQLAlchemy, not pysqlite, decide where transactions begin, so that SAVEPOINT
    # and statements outside the ORM (staging tables) share one real transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # The WAL file is cut back to this size after a checkpoint: a long import (while
    # readers keep the checkpoint from resetting it) would otherwise leave it at its peak.
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A writer waits this long for the write lock (another request's commit, a job's
    # chunk); past it the request is answered 503 系统繁忙 (web.app), never 500.
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    connection_record.info[BUSY_DEFAULT] = connection_record.info[BUSY_NOW] = int(busy_ms)
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: imports stay under 300 MB
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A transaction that will write takes the write lock when it begins (IMMEDIATE),
    # waiting up to the busy timeout: a deferred one that read first cannot wait for it
    # once another writer has committed since its read (SQLITE_BUSY_SNAPSHOT, at once).
    options = conn.get_execution_options()
    info = conn.connection.info
    busy = int(options.get("sqlite_busy_ms") or info.get(BUSY_DEFAULT, 0))
    if busy and info.get(BUSY_NOW) != busy:  # a job's connection waits longer (jobs)
        conn.exec_driver_sql(f"PRAGMA busy_timeout={busy}")
        info[BUSY_NOW] = busy
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate") else "BEGIN")


def make_engine(settings: Settings | None = None, url: str | None = None) -> Engine:
    settings = settings or get_settings()
    url = url or settings.effective_database_url
    if url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        busy_ms = int(settings.db_busy_seconds * 1000)
        event.listen(engine, "connect", lambda c, r: _sqlite_pragmas(c, r, busy_ms=busy_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it costs a round trip on every checkout of the hot check path; stale
    # connections are recycled instead.
    return create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=10)


_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = make_engine()
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Point the process at another engine (tests, the CLI's --database)."""
    global _engine, _factory
    _engine = engine
    _factory = None


def session_factory() -> sessionmaker[Session]:
    global _factory
    if _factory is None:
        _factory = sessionmaker(get_engine(), expire_on_commit=False)
    return _factory


def request_session(*, writes: bool) -> Session:
    """A session for one request; ``writes``: on SQLite its transaction begins IMMEDIATE
    (lazily, at its first statement), so that it waits for a job's chunk to commit
    instead of failing after having read."""
    factory = session_factory()
    bind = factory.kw.get("bind")
    if writes and isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        return factory(bind=bind.execution_options(sqlite_immediate=True))
    return factory()


def writing_factory(
    factory: sessionmaker[Session], *, busy_seconds: float | None = None
) -> sessionmaker[Session]:
    """``factory`` whose transactions begin IMMEDIATE on SQLite (a job's, which writes in
    every transaction), waiting ``busy_seconds`` for the lock if given (a job has no client
    waiting for it: it must not give up while requests take the lock in turn, which a
    request's 10 s would let happen); unchanged elsewhere (PostgreSQL, a factory bound to a
    connection)."""
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        options: dict[str, Any] = {"sqlite_immediate": True}
        if busy_seconds is not None:
            options["sqlite_busy_ms"] = int(busy_seconds * 1000)
        return sessionmaker(bind.execution_options(**options), expire_on_commit=False)
    return factory


def end_reads(session: Session) -> None:
    """End the transaction of what the session read so far (authentication), so that no
    snapshot or lock is held while a request's long body arrives; the next statement
    begins the next transaction."""
    if session.in_transaction():
        session.commit()


def begin_writing(session: Session) -> None:
    """End what the session did so far (reads: authentication) and begin its next
    transaction IMMEDIATE on SQLite. For requests that stream a large body (uploads):
    their session is not taken IMMEDIATE, which would hold the write lock while the file
    arrives."""
    end_reads(session)
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_immediate": True})


@contextmanager
def transaction(*, writes: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error; ``writes`` as
    ``request_session``'s (on SQLite it waits for the write lock when it begins)."""
    session = request_session(writes=writes)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def affected(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE touched."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def is_busy_error(exc: BaseException) -> bool:
    """The database could not take a lock in time: SQLite's write lock past the busy
    timeout, PostgreSQL's ``lock_timeout``. The request should be retried, not reported."""
    seen: set[int] = set()
    current: BaseException | None = exc
    # A busy error can reach the caller wrapped: SQLAlchemy's PendingRollbackError after a
    # flush that met the lock carries it only as its context.
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = getattr(current, "orig", current)
        if isinstance(orig, sqlite3.OperationalError):
            message = str(orig)
            if "database is locked" in message or "database table is locked" in message:
                return True
        elif getattr(orig, "sqlstate", None) == "55P03":  # lock_not_available
            return True
        current = current.__cause__ or current.__context__
    return False


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def fill_id_table(session: Session, table: str, ids: Iterable[int]) -> int:
    """(Re)fill the temporary table ``table (subject_id bigint PRIMARY KEY)`` with ``ids``.

    Set-based statements join it instead of taking ``IN (…)`` lists of bound parameters
    (one placeholder each; thousands of them cost more to build and parse than to run).
    COPY on PostgreSQL. ``table`` is a name chosen by the caller, never user input.
    """
    session.execute(
        text(f"CREATE TEMP TABLE IF NOT EXISTS {table} (subject_id bigint PRIMARY KEY)")
    )
    session.execute(text(f"DELETE FROM {table}"))
    unique = sorted(set(ids))
    if not unique:
        return 0
    if is_postgres(session):
        driver: Any = session.connection().connection.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY {table} (subject_id) FROM STDIN") as copy:
            for sid in unique:
                copy.write_row((sid,))
        if len(unique) > 1000:
            # A temporary table has no statistics until analysed: without them the planner
            # takes a million ids for a few thousand and probes an index once per id.
            session.execute(text(f"ANALYZE {table}"))
    else:
        session.execute(
            text(f"INSERT INTO {table} (subject_id) VALUES (:sid)"), [{"sid": i} for i in unique]
        )
    return len(unique)


__all__ = [
    "Base",
    "BigId",
    "JsonDoc",
    "String",
    "UtcDateTime",
    "postgresql",
    "sqlite",
]
