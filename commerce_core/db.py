"""Engine and session factory. The request (or the unit of work) commits."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.config import get_settings

READ_ONLY = "atelier_read_only"
"""Execution option of a connection whose transaction only reads (:func:`begin_read`)."""
QUERY_ONLY = "atelier_query_only"
"""Whether a SQLite connection refuses writes now (``PRAGMA query_only``), in its info."""
CONVERSATION = "atelier_conversation"
"""Execution option of a connection whose transaction writes conversation records only
(:func:`begin_conversation_write`)."""
SYNCHRONOUS = "atelier_synchronous"
"""How a SQLite connection's commits wait for the disk now (``PRAGMA synchronous``), in
its info."""
WAL = "atelier_wal"
"""Whether a SQLite connection's database is in WAL mode, in its info."""
FULL, NORMAL = "FULL", "NORMAL"
BUSY_SECONDS = 30.0
"""How long a SQLite write waits for the database's write lock before it fails."""


class _WriterConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions take their turn in the process first.

    SQLite lets one transaction write at a time; one that finds the write lock taken
    polls for it, sleeping 1, 2, 5, 10... up to 100 ms between tries, however soon the
    lock is free again. The app's writes last well under a millisecond, so under load a
    turn lost most of its time in those sleeps, and the slowest turns far more. The
    writers of this process (its worker threads) now queue on a lock of their own,
    :attr:`turns` (one per database file), and the next one goes as soon as a commit or
    rollback ends the transaction; SQLite's polling is left to writers of other processes
    (a Telegram worker, a second app process)."""

    turns: threading.Lock
    _holding = False

    def take_turn(self) -> None:
        if self._holding:  # its transaction goes on
            return
        if not self.turns.acquire(timeout=BUSY_SECONDS):
            raise sqlite3.OperationalError("database is locked")
        self._holding = True

    def end_turn(self) -> None:
        if self._holding:
            self._holding = False
            self.turns.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()


_TURNS: dict[str, threading.Lock] = {}
_TURNS_GUARD = threading.Lock()


def _writer_connection(path: str) -> type[_WriterConnection]:
    """The connection class of the database at ``path``: all its engines in this process
    share the turns of its writers."""
    if not path or path == ":memory:":  # a database of this engine's own
        turns = threading.Lock()
    else:
        with _TURNS_GUARD:
            turns = _TURNS.setdefault(str(Path(path).resolve()), threading.Lock())
    return type("WriterConnection", (_WriterConnection,), {"turns": turns})


def make_engine(url: str, **pool: int) -> Engine:
    """An engine for ``url``; ``pool`` sets pool_size / max_overflow."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": BUSY_SECONDS,
                                                  "factory": _writer_connection(path)},
                               **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, record):  # type: ignore[no-untyped-def]
            # Transactions are begun by SQLAlchemy below, not by the driver.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            record.info[WAL] = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
            cur.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
            cur.execute(f"PRAGMA synchronous={FULL}")  # SQLite's default, whatever the build
            record.info[SYNCHRONOUS] = FULL
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # A transaction that may write begins IMMEDIATE: it takes the write lock up
            # front, so two checkouts never both read stock and then fail to upgrade
            # (SQLite would refuse one instead of waiting). One that only reads (see
            # begin_read) begins DEFERRED: it takes no write lock, so no writer waits for
            # it; its connection refuses writes meanwhile, so a read that would write
            # fails at once, not only when another writer happens to be about.
            # A write of conversation records only (begin_conversation_write) commits
            # without waiting for the disk, any other waits (see _synchronous).
            options = conn.get_execution_options()
            read = bool(options.get(READ_ONLY))
            if conn.info.get(QUERY_ONLY, False) != read:  # before BEGIN IMMEDIATE, which
                conn.exec_driver_sql(f"PRAGMA query_only = {int(read)}")  # it would refuse
                conn.info[QUERY_ONLY] = read
            if not read:
                synchronous = _synchronous(conversation=bool(options.get(CONVERSATION)),
                                           wal=conn.info.get(WAL, False))
                if conn.info.get(SYNCHRONOUS) != synchronous:
                    conn.exec_driver_sql(f"PRAGMA synchronous = {synchronous}")
                    conn.info[SYNCHRONOUS] = synchronous
            if read:
                conn.exec_driver_sql("BEGIN")
                return
            writer = conn.connection.dbapi_connection
            assert isinstance(writer, _WriterConnection)  # connect_args["factory"] above
            writer.take_turn()  # the process's writers one after the other (see
            try:                # _WriterConnection); commit or rollback ends the turn
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writer.end_turn()
                raise

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **pool)


def _synchronous(*, conversation: bool, wal: bool) -> str:
    """How a SQLite transaction that may write commits (``PRAGMA synchronous``).

    In WAL mode a write of conversation records only (transcript rows, a turn's figures)
    commits with ``NORMAL``: the commit is in the log, not yet synced to the disk, so it
    takes microseconds instead of an fsync (milliseconds, with the write lock held
    meanwhile, which every shopper's turn waits for). A crash of the app or of its process
    loses none of it; a crash of the operating system or a power cut may lose the last
    such commits, never corrupts the database. Every other write (orders, payments, stock,
    carts, customers...) commits with ``FULL``, SQLite's default: it is on the disk when
    the commit returns, and so is every commit before it in the log. Outside WAL mode
    (``NORMAL`` could corrupt a rollback journal on a power cut) every write is ``FULL``.
    """
    return NORMAL if conversation and wal else FULL


def _begin_as(session: Session, option: str) -> None:
    if not session.in_transaction():
        session.connection(execution_options={option: True})


def begin_read(session: Session) -> None:
    """Begin ``session``'s next transaction as one that only reads: on SQLite it takes no
    write lock (writers do not wait for it) and any write in it fails; on PostgreSQL
    nothing changes. Does nothing while a transaction is open: it goes on as it began."""
    _begin_as(session, READ_ONLY)


def begin_conversation_write(session: Session) -> None:
    """Begin ``session``'s next transaction as one that writes conversation records only
    (transcript rows, a turn's figures; never an order, a payment, stock or a cart): on
    SQLite in WAL mode its commit does not wait for the disk, so it holds the write lock
    for microseconds, not an fsync (see :func:`_synchronous` for what a crash may lose);
    on PostgreSQL nothing changes. Does nothing while a transaction is open: it goes on as
    it began."""
    _begin_as(session, CONVERSATION)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


def _drop(session: Session) -> None:
    session.rollback()  # whatever the route did not commit explicitly is dropped
    session.close()


@asynccontextmanager
async def request_session(factory: sessionmaker[Session]) -> AsyncIterator[Session]:
    """A request's session from ``factory``, closed when the request ends.

    Made and closed on the event loop, not in the thread pool as a plain generator
    dependency would be (two hand-overs to a worker thread per request, for nothing when
    the route did not use the session or committed): only ending a transaction still
    open talks to the database, and that is done in a worker thread."""
    session = factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_drop, session)
        else:
            session.close()


async def get_session() -> AsyncIterator[Session]:
    async with request_session(get_sessionmaker()) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
