"""Transcripts in SQL (SQLite and PostgreSQL): written beside the replay history, searched,
and a customer's personal data deleted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from channels.delivery.history import MemoryHistory, RedisHistory
from channels.delivery.transcripts import (
    TranscriptHistory,
    delete_customer_data,
    search,
    transcript,
)
from channels.messages import Button, Card, ChatMessage, Link
from channels.turns import TurnLog, add_turn
from commerce_core.db import READ_ONLY
from commerce_core.models import (
    BotTurn,
    ChannelIdentity,
    Conversation,
    ConversationMessage,
    Customer,
    Order,
    OutboxMessage,
)
from commerce_core.outbox.repository import OutboxRepository
from tests.commerce_core.helpers import Shopper, api

CARD = Card(id=1, sku="MUG-1", name="Blue mug", price="24.00", currency="EUR",
            image_url="/static/img/mug.svg", buttons=[Button(title="Tell me more",
                                                             payload="/product_details")])


def record(history: TranscriptHistory, conversation_id: str, *messages: ChatMessage) -> None:
    async def run() -> None:
        for message in messages:
            await history.append(conversation_id, message)
    asyncio.run(run())


def test_every_recorded_message_reaches_the_sql_transcript(
        session_factory: sessionmaker[Session]) -> None:
    # given the widget's history wrapped by the transcript
    history = TranscriptHistory(MemoryHistory(50), session_factory)
    # when a turn with text, buttons, cards and a link is recorded
    record(history, "c-1", ChatMessage(role="shopper", text="blue mugs"),
           ChatMessage(role="bot", text="Here you go", cards=[CARD],
                       buttons=[Button(title="More", payload="/more")]),
           ChatMessage(role="bot", text="Pay", link=Link(title="Pay 24.00 EUR", url="/pay/x")))
    # then the replay history and the SQL transcript agree
    replay = asyncio.run(history.since("c-1", 0))
    with session_factory() as session:
        rows = transcript(session=session, conversation_id="c-1")
        conversation = session.get(Conversation, "c-1")
    assert [r["seq"] for r in rows] == [m.seq for m in replay]
    assert [(r["role"], r["text"]) for r in rows] == [("shopper", "blue mugs"),
                                                      ("bot", "Here you go"), ("bot", "Pay")]
    assert "cards" not in rows[0] and "buttons" not in rows[0]
    assert rows[1]["cards"][0]["sku"] == "MUG-1"
    assert rows[1]["buttons"] == [{"title": "More", "payload": "/more"}]
    assert rows[2]["link"] == {"title": "Pay 24.00 EUR", "url": "/pay/x"}
    assert conversation is not None
    assert (conversation.channel, conversation.external_id, conversation.state.value) == (
        "web", "c-1", "bot")


def test_a_nul_never_loses_a_transcript_row(session_factory: sessionmaker[Session]) -> None:
    # given text that PostgreSQL cannot store as it is (a bot answer, an agent's reply)
    history = TranscriptHistory(MemoryHistory(50), session_factory)
    # when it is recorded
    record(history, "c-nul", ChatMessage(role="bot", text="odd\x00answer",
                                         buttons=[Button(title="A\x00", payload="/a")]))
    # then the row is there, the NUL shown as the replacement character
    with session_factory() as session:
        rows = transcript(session=session, conversation_id="c-nul")
    assert [(r["role"], r["text"]) for r in rows] == [("bot", "odd\ufffdanswer")]
    assert rows[0]["buttons"] == [{"title": "A\ufffd", "payload": "/a"}]


def test_search_finds_words_in_any_case_and_takes_wildcards_literally(
        session_factory: sessionmaker[Session]) -> None:
    history = TranscriptHistory(MemoryHistory(50), session_factory)
    record(history, "c-a", ChatMessage(role="shopper", text="Where is my PARCEL AT-7K2M9Q?"))
    record(history, "tg-9", ChatMessage(role="shopper", text="100% wool scarf please"),
           ChatMessage(role="bot", text="our parcel service ships daily"))
    record(history, "c-b", ChatMessage(role="shopper", text="100 wool scarves"))
    with session_factory() as session:
        found = search(session=session, query="parcel")
        assert [(r["conversation_id"], r["role"]) for r in found] == [("tg-9", "bot"),
                                                                     ("c-a", "shopper")]
        assert found[0]["channel"] == "telegram"
        assert [r["conversation_id"] for r in search(session=session, query="100%")] == ["tg-9"]
        assert search(session=session, query="at-7k2m9q")[0]["conversation_id"] == "c-a"
        assert search(session=session, query="no such words") == []
        for bad in ("", "   ", "x" * 201):
            try:
                search(session=session, query=bad)
            except ValueError as exc:
                assert "1-200" in str(exc)
            else:
                raise AssertionError(f"{bad!r} was searched")


def test_deleting_a_customer_removes_transcripts_and_contact_but_keeps_amounts(
        demo_catalog: sessionmaker[Session], tmp_path: Path) -> None:
    # given a customer who chatted on the web and on Telegram and placed an order
    history = TranscriptHistory(MemoryHistory(50), demo_catalog)
    with api(demo_catalog, tmp_path) as client:
        shopper = Shopper(client, "web-del")
        assert shopper.add("CER-MUG-001").status_code == 201
        order = shopper.checkout(email="jeanne@example.com").json()
    with demo_catalog() as session:
        customer = session.scalar(select(Customer).join(ChannelIdentity).where(
            ChannelIdentity.external_id == "web-del"))
        assert customer is not None
        customer.name, customer.email = "Jeanne Martin", "jeanne@example.com"
        session.add(ChannelIdentity(channel="telegram", external_id="tg-77",
                                    customer_id=customer.id))
        customer_id = customer.id
        # and order news about them, and about somebody else, in the outbox
        outbox = OutboxRepository(session)
        outbox.add(kind="order.shipped", stream=f"order:{order['id']}", data={
            "customer_id": customer_id, "number": order["number"],
            "identities": [{"channel": "telegram", "external_id": "tg-77"}]})
        outbox.add(kind="order.paid", stream="order:0", data={"customer_id": customer_id + 1})
        session.commit()
    record(history, "web-del", ChatMessage(role="shopper", text="my email is jeanne@example.com"))
    record(history, "tg-77", ChatMessage(role="shopper", text="I live at 12 rue des Potiers"))
    record(history, "someone-else", ChatMessage(role="shopper", text="hello"))
    # when an agent deletes the customer's data
    with demo_catalog() as session:
        deletion = delete_customer_data(session=session, channel="web", external_id="web-del")
        session.commit()
    asyncio.run(history.forget("web-del"))
    # then the transcripts are gone, the contact is cleared, the amounts stay
    assert sorted(deletion.conversations) == ["tg-77", "web-del"]
    assert (deletion.messages, deletion.customer_found, deletion.orders_redacted) == (2, True, 1)
    with demo_catalog() as session:
        left = session.scalars(select(ConversationMessage.conversation_id)).all()
        assert left == ["someone-else"]
        customer = session.get(Customer, customer_id)
        assert customer is not None and (customer.email, customer.name) == (None, None)
        stored = session.scalar(select(Order).where(Order.number == order["number"]))
        assert stored is not None
        assert (stored.email, stored.shipping_address) == ("", {})
        assert stored.total == Decimal(order["total"])
        kept = session.scalars(select(OutboxMessage.data)).all()
        assert kept == [{"customer_id": customer_id + 1}]
    assert asyncio.run(history.since("web-del", 0)) == []
    assert len(asyncio.run(history.since("someone-else", 0))) == 1


def test_deleting_an_unknown_shopper_only_removes_their_conversations(
        session_factory: sessionmaker[Session]) -> None:
    history = TranscriptHistory(MemoryHistory(50), session_factory)
    record(history, "anon-1", ChatMessage(role="shopper", text="just looking"))
    with session_factory() as session:
        deletion = delete_customer_data(session=session, channel="web", external_id="anon-1")
        session.commit()
        assert deletion.as_json() == {"conversations": ["anon-1"], "messages": 1,
                                      "customer_found": False, "orders_redacted": 0}
        assert session.get(Conversation, "anon-1") is None


def test_a_conversation_deleted_elsewhere_starts_again_on_its_next_message(
        session_factory: sessionmaker[Session]) -> None:
    # given a conversation this process wrote to (its row is no longer looked up)
    history = TranscriptHistory(MemoryHistory(50), session_factory)
    record(history, "anon-2", ChatMessage(role="shopper", text="hello"))
    # when its customer's data is deleted by another replica (this one is not told)
    with session_factory() as session:
        delete_customer_data(session=session, channel="web", external_id="anon-2")
        session.commit()
    record(history, "anon-2", ChatMessage(role="shopper", text="me again"))
    # then the next message creates the conversation again, as a first one does
    with session_factory() as session:
        conversation = session.get(Conversation, "anon-2")
        assert conversation is not None and conversation.channel == "web"
        rows = transcript(session=session, conversation_id="anon-2")
    assert [r["text"] for r in rows] == ["me again"]


def test_redis_history_forgets_the_log_but_keeps_numbering(
        session_factory: sessionmaker[Session], redis_url: str, redis_prefix: str) -> None:
    async def run() -> tuple[list[ChatMessage], ChatMessage]:
        history = TranscriptHistory(RedisHistory(redis_url, redis_prefix, 50), session_factory)
        first = await history.append("r-1", ChatMessage(role="shopper", text="secret"))
        await history.forget("r-1")
        gone = await history.since("r-1", 0)
        later = await history.append("r-1", ChatMessage(role="shopper", text="again"))
        await history.aclose()
        assert later.seq is not None and first.seq is not None and later.seq > first.seq
        return gone, later

    gone, later = asyncio.run(run())
    assert gone == []
    assert later.text == "again"


@pytest.fixture
def synchronous(engine: Engine) -> Iterator[list[int]]:
    """SQLite's ``PRAGMA synchronous`` of each transaction begun on ``engine`` that may
    write, as the transaction itself reads it (1: NORMAL, 2: FULL)."""
    found: list[int] = []

    def begun(conn: Connection) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            found.append(int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one()))

    event.listen(engine, "begin", begun)
    yield found
    event.remove(engine, "begin", begun)


@pytest.mark.parametrize("engine", ["sqlite_engine"], indirect=True)
def test_transcript_rows_commit_without_waiting_for_the_disk_on_sqlite(
        session_factory: sessionmaker[Session], synchronous: list[int]) -> None:
    history = TranscriptHistory(MemoryHistory(50), session_factory)

    async def run() -> None:
        # a message kept while the replay history is down, then numbered
        kept = await history.keep("c-sync", ChatMessage(role="shopper", text="hello"))
        await history.append("c-sync", kept)
        # a bot's answers written together with a turn's figures riding along
        history.ride("c-sync", partial(add_turn, conversation_id="c-sync", channel="web",
                                       text="hello", duration_ms=12, understood=True))
        async with history.together("c-sync"):
            await history.append("c-sync", ChatMessage(role="bot", text="Hi"))
            await history.append("c-sync", ChatMessage(role="bot", text="How can I help?"))
        # a turn's figures that no transcript row took, written on their own
        turns = TurnLog(session_factory, transcript=history)
        await turns.record("c-sync", "web", text="anyone?", seconds=0.5, understood=False)
        await turns.settle("c-sync")

    # when a conversation's transcript rows and turns are written
    asyncio.run(run())
    transcript_writes = list(synchronous)
    # and then a customer
    with session_factory() as session:
        session.add(Customer(name="a shopper"))
        session.commit()
    # then every conversation write committed with NORMAL, the customer's with FULL
    assert transcript_writes == [1, 1, 1, 1]
    assert synchronous[4:] == [2]
    with session_factory() as session:
        assert [r["text"] for r in transcript(session=session, conversation_id="c-sync")] == [
            "hello", "Hi", "How can I help?"]
        assert [t.text for t in session.scalars(select(BotTurn).order_by(BotTurn.id))] == [
            "hello", "anyone?"]
