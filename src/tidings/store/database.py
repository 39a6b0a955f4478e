"""The database handle: engines for reads and the single group-committing writer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from tidings.store.committer import Committer
from tidings.store.dialect import Dialect, create_engines, dialect_of, migration_lock, sqlite_file

T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"
__all__ = ["MIGRATIONS", "Database", "sqlite_file"]  # sqlite_file: store/dialect.py


class Database:
    """Owns the engines. Reads use a pool; every write goes through the committer."""

    def __init__(self, *, url: str, pool_size: int = 8) -> None:
        self.url = url
        self.dialect: Dialect = dialect_of(url)
        self.engine, self.write_engine, lock_path = create_engines(url, pool_size=pool_size)
        self.committer = Committer(engine=self.write_engine, lock_path=lock_path)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call from several processes)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.write_engine.begin() as conn:
            migration_lock(conn, 7263541)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def start(self) -> None:
        self.committer.start()

    def close(self) -> None:
        self.committer.stop()
        self.engine.dispose()
        self.write_engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in the writer's next transaction and wait until it is committed."""
        return self.committer.submit(fn).result()

    def submit(self, fn: Callable[[Connection], T]) -> Future[T]:
        """Queue `fn` for the writer's next transaction; the future settles once it is
        committed (or failed). Callers that prepare the next write meanwhile pipeline."""
        return self.committer.submit(fn)

    async def write_async(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.wrap_future(self.committer.submit(fn))
