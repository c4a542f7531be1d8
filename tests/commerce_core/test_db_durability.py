"""How a transaction's commit waits for the disk (SQLite files and PostgreSQL): on SQLite
in WAL mode a write of conversation records only (``begin_conversation_write``) commits
with ``synchronous=NORMAL``, any other write with ``FULL``; on PostgreSQL nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from channels.handoff.repository import ConversationRepository
from commerce_core.db import begin_conversation_write, begin_read, make_engine
from commerce_core.models import Conversation, Customer

NORMAL, FULL = 1, 2
"""``PRAGMA synchronous`` as SQLite reads it."""


def _durability(session: Session) -> int | str:
    """How the session's open transaction commits: SQLite's ``PRAGMA synchronous``,
    PostgreSQL's ``synchronous_commit``."""
    if session.get_bind().dialect.name == "sqlite":
        return int(session.execute(text("PRAGMA synchronous")).scalar_one())
    return str(session.execute(text("SHOW synchronous_commit")).scalar_one())


def _expected(session: Session, sqlite: int) -> int | str:
    return sqlite if session.get_bind().dialect.name == "sqlite" else "on"


def _conversation_write(factory: sessionmaker[Session], conversation_id: str) -> int | str:
    with factory() as session:
        begin_conversation_write(session)
        ConversationRepository(session).ensure(conversation_id=conversation_id)
        durability = _durability(session)
        session.commit()
    return durability


def _commerce_write(factory: sessionmaker[Session], name: str) -> int | str:
    with factory() as session:
        session.add(Customer(name=name))
        session.flush()
        durability = _durability(session)
        session.commit()
    return durability


def test_a_conversation_write_does_not_wait_for_the_disk_and_any_other_write_does(
        session_factory: sessionmaker[Session]) -> None:
    with session_factory() as probe:
        normal, full = _expected(probe, NORMAL), _expected(probe, FULL)
    # when a conversation's row is written as a conversation record, and a customer's
    # as an ordinary write, then the first commits with NORMAL, the second with FULL
    # (PostgreSQL: both as before)
    assert _conversation_write(session_factory, "web:durability-1") == normal
    assert _commerce_write(session_factory, "a shopper") == full
    # and both are written
    with session_factory() as session:
        assert session.get(Conversation, "web:durability-1") is not None
        assert session.scalar(select(func.count()).select_from(Customer)) == 1


@pytest.mark.parametrize("engine", ["sqlite_engine"], indirect=True)
def test_a_pooled_connection_goes_back_to_full_after_a_conversation_write(
        engine: Engine) -> None:
    # given an engine on the SQLite file with a single connection, which every
    # transaction below reuses
    one = make_engine(engine.url.render_as_string(hide_password=False),
                      pool_size=1, max_overflow=0)
    factory = sessionmaker(one, expire_on_commit=False)
    try:
        # when conversation writes, other writes and reads take turns on it
        found = [_conversation_write(factory, "web:durability-2"),
                 _commerce_write(factory, "first"),
                 _conversation_write(factory, "web:durability-3"),
                 _conversation_write(factory, "web:durability-4"),
                 _commerce_write(factory, "second")]
        with factory() as session:
            begin_read(session)
            session.scalar(select(func.count()).select_from(Customer))
            read = _durability(session)
        found.append(_commerce_write(factory, "third"))
        # then each write commits as its kind wants, whatever the one before it was
        assert found == [NORMAL, FULL, NORMAL, NORMAL, FULL, FULL]
        assert read == FULL
        assert one.pool.checkedin() == 1
    finally:
        one.dispose()


def test_a_conversation_write_asked_for_in_an_open_transaction_goes_on_as_it_began(
        session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        # given a transaction writing a customer
        session.add(Customer(name="pending"))
        session.flush()
        # when a conversation write is asked for meanwhile, then it still commits as an
        # ordinary write
        begin_conversation_write(session)
        ConversationRepository(session).ensure(conversation_id="web:durability-5")
        assert _durability(session) == _expected(session, FULL)
        session.commit()


def test_outside_wal_mode_a_conversation_write_waits_for_the_disk() -> None:
    # given a SQLite database that cannot be in WAL mode (in memory), where NORMAL would
    # risk the database itself on a power cut
    memory = make_engine("sqlite://")
    try:
        with memory.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
        factory = sessionmaker(memory)
        # when a conversation write begins, then it commits with FULL
        with factory() as session:
            begin_conversation_write(session)
            assert _durability(session) == FULL
    finally:
        memory.dispose()
