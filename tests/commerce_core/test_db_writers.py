"""SQLite writers of one process take turns on a lock of the process (``make_engine``):
the next writer goes when a commit or rollback ends the transaction, instead of polling
SQLite's write lock with sleeps. Each test turns SQLite's own waiting off (busy timeout
0), so a writer that met the write lock taken would fail at once."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from commerce_core import db
from commerce_core.db import make_engine

GUARD = 10.0  # seconds before a blocked step fails the test


@pytest.fixture()
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr(db, "BUSY_SECONDS", 2.0)  # a lost turn fails in 2 s, not 30
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")

    @event.listens_for(engine, "connect")
    def _no_polling(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA busy_timeout = 0")

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE note (body TEXT)"))
    yield engine
    engine.dispose()


def _in_thread(work: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _written_by_another_thread(engine: Engine, body: str) -> list[BaseException]:
    """Write a note from another thread; returns what the write raised."""
    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO note VALUES (:body)"), {"body": body})

    thread, errors = _in_thread(write)
    thread.join(GUARD)
    return errors


def _notes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT body FROM note ORDER BY rowid"))]


def test_a_writer_waits_for_the_writer_before_it_instead_of_failing(engine: Engine) -> None:
    began, asked = threading.Event(), threading.Event()

    @event.listens_for(engine, "checkout")  # the second takes a connection to begin
    def _asking(_dbapi_conn, _record, _proxy):  # type: ignore[no-untyped-def]
        if began.is_set():
            asked.set()

    def first() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO note VALUES ('first')"))
            began.set()
            assert asked.wait(GUARD)
            time.sleep(0.2)  # the second meanwhile begins: it must wait, not fail

    def second() -> None:
        assert began.wait(GUARD)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO note VALUES ('second')"))

    threads = [_in_thread(first), _in_thread(second)]
    for thread, _ in threads:
        thread.join(GUARD)
    assert [error for _, errors in threads for error in errors] == []
    assert _notes(engine) == ["first", "second"]


@pytest.mark.parametrize("end", ["rollback", "invalidate"])
def test_a_transaction_that_ends_without_commit_gives_the_turn_back(engine: Engine,
                                                                    end: str) -> None:
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO note VALUES ('dropped')"))
    if end == "rollback":
        conn.rollback()
    else:
        conn.invalidate()  # the connection is closed, as after a lost database
    conn.close()
    assert _written_by_another_thread(engine, "kept") == []
    assert _notes(engine) == ["kept"]


def test_a_write_that_could_not_begin_gives_the_turn_back(engine: Engine,
                                                         tmp_path: Path) -> None:
    outsider = sqlite3.connect(tmp_path / "shop.db", isolation_level=None)
    outsider.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
    with pytest.raises(Exception, match="database is locked"), engine.begin() as conn:
        conn.execute(text("INSERT INTO note VALUES ('refused')"))
    outsider.rollback()
    outsider.close()
    assert _written_by_another_thread(engine, "after") == []
    assert _notes(engine) == ["after"]
