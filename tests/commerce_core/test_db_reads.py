"""Transactions that only read (``begin_read``), the merchant key's check and a request's
session, on SQLite and PostgreSQL: on SQLite a read takes no write lock, so a writer does
not wait for it, and a write in it fails at once; on PostgreSQL nothing changes."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from commerce_core import db
from commerce_core.auth import create_api_key, require_merchant, require_service
from commerce_core.db import begin_read, request_session
from commerce_core.models import Customer, MerchantApiKey


def _customers(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Customer)) or 0)


def _write_meanwhile(factory: sessionmaker[Session]) -> bool:
    """Whether another connection writes and commits within a second."""
    done = threading.Event()

    def write() -> None:
        with factory() as other:
            other.add(Customer(name="written meanwhile"))
            other.commit()
        done.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    wrote = done.wait(1.0)
    thread.join(60)
    return wrote


def test_a_writer_does_not_wait_for_a_read(session_factory: sessionmaker[Session]) -> None:
    # given a transaction that read, still open
    with session_factory() as reader:
        begin_read(reader)
        before = _customers(reader)
        # when another connection writes meanwhile
        wrote = _write_meanwhile(session_factory)
        # then it did not wait for the read to end
        assert wrote
        reader.rollback()
        assert _customers(reader) == before + 1


def test_a_write_in_a_read_fails_at_once_on_sqlite(
        session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        begin_read(session)
        _customers(session)
        session.add(Customer(name="not in a read"))
        if session.get_bind().dialect.name == "sqlite":
            with pytest.raises(OperationalError, match="readonly"):
                session.flush()
            session.rollback()
        else:  # PostgreSQL: a transaction as any other
            session.flush()
            session.rollback()
    # and the connection writes again in the next transaction that may write
    with session_factory() as session:
        session.add(Customer(name="written"))
        session.commit()
        assert _customers(session) == 1


def test_a_read_begins_only_a_transaction_not_yet_open(
        session_factory: sessionmaker[Session]) -> None:
    # given a session that is writing
    with session_factory() as session:
        session.add(Customer(name="pending"))
        session.flush()
        # when a read is asked for meanwhile, it goes on as it began: it may still write
        begin_read(session)
        session.add(Customer(name="also pending"))
        session.commit()
        assert _customers(session) == 2


def test_a_merchant_keys_check_ends_its_transaction(
        session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        row, key = create_api_key(session=session, name="a merchant's script")
        session.commit()
        prefix = row.prefix
    with session_factory() as session:
        # when a merchant's key is checked in the request's session
        checked = require_merchant(session, f"Bearer {key}")
        # then the check holds no transaction (SQLite: no lock) while the request works,
        # and the key is what was read of it, without another look
        assert not session.in_transaction()
        assert isinstance(checked, MerchantApiKey)
        assert (checked.name, checked.prefix) == ("a merchant's script", prefix)
        assert not session.in_transaction()
        assert _write_meanwhile(session_factory)
        # and the request's own work goes on in the session
        session.add(Customer(name="the route's work"))
        session.commit()
        assert anyio.run(require_service, session, f"Bearer {key}") == "merchant"
        assert not session.in_transaction()


def test_a_merchant_keys_check_leaves_an_open_transaction_as_it_was(
        session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        _, key = create_api_key(session=session, name="a merchant's script")
        session.commit()
    with session_factory() as session:
        # given a request whose session holds work not committed yet (another dependency)
        session.add(Customer(name="made by another dependency"))
        session.flush()
        # when the key is checked, then that work is neither dropped nor committed
        require_merchant(session, f"Bearer {key}")
        assert session.in_transaction()
        session.commit()
        assert _customers(session) == 1


def test_a_wrong_merchant_key_is_refused(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        with pytest.raises(Exception, match="merchant API key"):
            require_merchant(session, "Bearer atk_not-a-key")
        assert not session.in_transaction()
        assert session.execute(text("SELECT 1")).scalar() == 1


@pytest.fixture
def drops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The threads in which request sessions were rolled back and closed."""
    threads: list[int] = []
    drop = db._drop

    def recorded(session: Session) -> None:
        threads.append(threading.get_ident())
        drop(session)

    monkeypatch.setattr(db, "_drop", recorded)
    return threads


def _request(factory: sessionmaker[Session], work: Any) -> None:
    async def run() -> None:
        async with request_session(factory) as session:
            await anyio.to_thread.run_sync(work, session)
    anyio.run(run)


def test_a_requests_uncommitted_work_is_dropped_off_the_event_loop(
        session_factory: sessionmaker[Session], drops: list[int]) -> None:
    def work(session: Session) -> None:
        session.add(Customer(name="not committed"))
        session.flush()

    _request(session_factory, work)
    assert len(drops) == 1 and drops[0] != threading.get_ident()
    engine = session_factory.kw["bind"]
    assert engine.pool.checkedout() == 0
    with session_factory() as session:
        assert _customers(session) == 0


def test_a_request_that_committed_or_did_not_use_its_session_ends_on_the_event_loop(
        session_factory: sessionmaker[Session], drops: list[int]) -> None:
    def work(session: Session) -> None:
        session.add(Customer(name="committed"))
        session.commit()

    _request(session_factory, work)
    _request(session_factory, lambda session: None)
    assert drops == []
    assert session_factory.kw["bind"].pool.checkedout() == 0
    with session_factory() as session:
        assert _customers(session) == 1
