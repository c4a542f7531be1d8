"""What one shopper turn costs the database (SQLite and PostgreSQL): the write transactions
of a turn through the real gateway (Rasa stood in for over HTTP), counted on the engine.
On SQLite every transaction takes the write lock (``BEGIN IMMEDIATE``), so each one that a
turn does not need makes every other shopper wait, and the turn's writes commit without
waiting for the disk (``PRAGMA synchronous=NORMAL``: conversation records only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies import utils as fastapi_dependencies
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.db import READ_ONLY
from commerce_core.models import BotTurn, ConversationMessage
from tests.channels.conftest import Gateway
from tests.channels.fake_rasa import FakeRasa
from tests.channels.web_chat import chat_body, recorded
from tests.commerce_core.helpers import SERVICE

CHAT_TABLES = ("conversation", "conversation_message", "bot_turn")
SYNCHRONOUS_NORMAL = 1
"""SQLite's ``PRAGMA synchronous`` NORMAL, as it reads it."""


class Transactions:
    """The transactions that touched a conversation's tables, each as its statements."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.done: list[list[str]] = []
        self.reads: list[list[str]] = []
        """The transactions of :attr:`done` begun as reads (no write lock on SQLite)."""
        self.unsynced: list[list[str]] = []
        """The transactions of :attr:`done` that may write and whose commit did not wait for
        the disk (SQLite's ``PRAGMA synchronous`` NORMAL, as the transaction itself read
        it)."""
        self._open: dict[int, list[str]] = {}
        self._reading: set[int] = set()
        self._unsyncing: set[int] = set()

    def _begin(self, conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            self._reading.add(id(conn))  # (commits nothing: its synchronous does not matter)
        elif conn.dialect.name == "sqlite" and conn.exec_driver_sql(
                "PRAGMA synchronous").scalar() == SYNCHRONOUS_NORMAL:
            self._unsyncing.add(id(conn))
        self._open[id(conn)] = []

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if id(conn) in self._open and not statement.startswith(("BEGIN", "SAVEPOINT",
                                                                "RELEASE")):
            self._open[id(conn)].append(statement)

    def _end(self, conn: Any) -> None:
        statements = self._open.pop(id(conn), [])
        read, unsynced = id(conn) in self._reading, id(conn) in self._unsyncing
        self._reading.discard(id(conn))
        self._unsyncing.discard(id(conn))
        if any(f" {table}" in s for s in statements for table in CHAT_TABLES):
            self.done.append(statements)
            if read:
                self.reads.append(statements)
            if unsynced:
                self.unsynced.append(statements)

    def __enter__(self) -> Transactions:
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._end)
        event.listen(self.engine, "rollback", self._end)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)

    def writing(self) -> list[list[str]]:
        return [t for t in self.done
                if any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in t)]


@pytest.fixture
def counted(demo_catalog: sessionmaker[Session]) -> Iterator[Transactions]:
    with Transactions(demo_catalog.kw["bind"]) as transactions:
        yield transactions


def say(client: Any, conversation_id: str, text: str) -> list[dict[str, Any]]:
    response = client.post("/api/chat", json=chat_body(conversation_id, text))
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def test_a_turn_writes_once(gateway: Gateway, fake_rasa: FakeRasa, counted: Transactions,
                            demo_catalog: sessionmaker[Session]) -> None:
    # given a conversation that exists, and a bot answering twice
    fake_rasa.answers["two please"] = [{"text": "One"}, {"text": "Two"}]
    with gateway() as client:
        say(client, "cost-1", "hello")
        counted.done.clear()
        counted.reads.clear()
        counted.unsynced.clear()
        # when the shopper says something more
        answers = say(client, "cost-1", "two please")
        turn = list(counted.done)
        numbered = [(m["text"], m["seq"]) for m in recorded(client, "cost-1")]
    # then the owner's check and the help desk's look at the conversation are reads (no
    # write lock on SQLite), and the shopper's message, the answers and the turn's
    # figures are written in one transaction
    assert [a["text"] for a in answers] == ["One", "Two"]
    assert len(turn) == 3, turn
    assert len(counted.reads) == 2, turn
    [written] = counted.writing()
    assert written not in counted.reads
    # and, on SQLite, their commit did not wait for the disk (conversation records only)
    sqlite = demo_catalog.kw["bind"].dialect.name == "sqlite"
    assert counted.unsynced == ([written] if sqlite else [])
    assert [s.split(" (")[0] for s in written if s.startswith("INSERT")] == [
        "INSERT INTO conversation_message"] * 3 + ["INSERT INTO bot_turn"]
    looked_up = [s for t in turn for s in t if s.startswith("SELECT conversation.id")]
    assert not looked_up, "neither the help desk nor the figures load the conversation"
    with demo_catalog() as session:
        assert [(t.text, t.channel) for t in session.scalars(
            select(BotTurn).order_by(BotTurn.id))] == [("hello", "web"), ("two please", "web")]
        assert list(session.execute(select(ConversationMessage.text, ConversationMessage.seq)
                                    .order_by(ConversationMessage.id))) == numbered
    assert [text for text, _ in numbered] == [
        "hello", "You said: hello", "two please", "One", "Two"]


REFUSED = "Refused"
REFUSE = {
    # a pooled SQLite connection parses DDL against the schema it read last: the read
    # makes it see that the trigger of an earlier test is gone
    "sqlite": ["SELECT count(*) FROM sqlite_master",
               "CREATE TRIGGER refuse_row BEFORE INSERT ON conversation_message "
               f"WHEN NEW.text = '{REFUSED}' BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    "postgresql": [
        "CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.text = '{REFUSED}' THEN RAISE EXCEPTION 'refused'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse_row BEFORE INSERT ON conversation_message "
        "FOR EACH ROW EXECUTE FUNCTION refuse_row()"]}
ALLOW = {"sqlite": ["DROP TRIGGER refuse_row"],
         "postgresql": ["DROP TRIGGER refuse_row ON conversation_message",
                        "DROP FUNCTION refuse_row()"]}


@pytest.fixture
def refusing(demo_catalog: sessionmaker[Session]) -> Iterator[None]:
    """The database refuses the transcript row of a message saying ``Refused``."""
    engine: Engine = demo_catalog.kw["bind"]
    with engine.begin() as conn:
        for statement in REFUSE[engine.dialect.name]:
            conn.exec_driver_sql(statement)
    yield
    with engine.begin() as conn:
        for statement in ALLOW[engine.dialect.name]:
            conn.exec_driver_sql(statement)


def test_the_turns_figures_are_kept_when_the_answer_is_not_written(
        gateway: Gateway, fake_rasa: FakeRasa, refusing: None, counted: Transactions,
        demo_catalog: sessionmaker[Session]) -> None:
    # given the database refuses the transcript rows of the shopper's message and of the
    # bot's answer
    fake_rasa.answers[REFUSED] = [{"text": REFUSED}]
    with gateway() as client:
        say(client, "cost-2", "hello")
        counted.done.clear()
        # when the shopper says it and the bot answers it
        answers = say(client, "cost-2", REFUSED)
    # then the shopper still gets the answer, and the turn is kept on its own
    assert [a["text"] for a in answers] == [REFUSED]
    figures = [t for t in counted.done if any(s.startswith("INSERT INTO bot_turn") for s in t)]
    assert len(figures) == 1
    assert not any(s.startswith("INSERT INTO conversation_message") for s in figures[0])
    # and, on SQLite, the figures' commit did not wait for the disk either
    if demo_catalog.kw["bind"].dialect.name == "sqlite":
        assert figures[0] in counted.unsynced
    with demo_catalog() as session:
        assert [(t.text, t.channel) for t in session.scalars(
            select(BotTurn).order_by(BotTurn.id))] == [("hello", "web"), (REFUSED, "web")]
        assert REFUSED not in session.scalars(select(ConversationMessage.text)).all()


def test_an_answer_the_database_refuses_loses_no_other_answer(
        gateway: Gateway, fake_rasa: FakeRasa, refusing: None,
        demo_catalog: sessionmaker[Session]) -> None:
    # given the database refuses the transcript row of the second of three answers
    fake_rasa.answers["three please"] = [{"text": "Before"}, {"text": REFUSED},
                                         {"text": "After"}]
    with gateway() as client:
        # when the shopper's turn is answered with them
        answers = say(client, "cost-3", "three please")
    # then the shopper gets all three, and the transcript keeps the other two and the turn
    assert [a["text"] for a in answers] == ["Before", REFUSED, "After"]
    with demo_catalog() as session:
        assert list(session.scalars(select(ConversationMessage.text).order_by(
            ConversationMessage.id))) == ["three please", "Before", "After"]
        assert [t.text for t in session.scalars(select(BotTurn))] == ["three please"]


def test_a_turns_dependencies_are_solved_on_the_event_loop(
        gateway: Gateway, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch) -> None:
    # given the dependencies FastAPI hands to a worker thread (plain functions) counted
    handed: list[str] = []
    hand_over = fastapi_dependencies.run_in_threadpool

    async def counted(call: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(call, "__qualname__", repr(call)))
        return await hand_over(call, *args, **kwargs)

    monkeypatch.setattr(fastapi_dependencies, "run_in_threadpool", counted)
    with gateway() as client:
        # when a shopper's turn is taken, and the action server calls the API
        say(client, "cost-4", "hello")
        response = client.get("/api/shoppers/web/cost-4/cart", headers=SERVICE)
        assert response.status_code == 200, response.text
    # then the gateway's parts, the service token and the session needed no worker thread
    # (the shopper's customer row is read and written in one)
    assert handed == ["shopper"]
