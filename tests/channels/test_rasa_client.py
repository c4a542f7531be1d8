"""The gateway's client of several Rasa servers: each conversation always goes to the same
one, the conversations are spread over all of them, and Rasa counts as up when each is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from channels.rasa_client import RasaClient, rasa_servers, server_for
from tests.channels.fake_rasa import FakeRasa


@pytest.fixture
def two_rasas() -> Iterator[tuple[FakeRasa, FakeRasa]]:
    first, second = FakeRasa().start(), FakeRasa().start()
    yield first, second
    first.stop()
    second.stop()


def test_each_conversation_goes_to_one_server_and_both_get_some(
        two_rasas: tuple[FakeRasa, FakeRasa]) -> None:
    first, second = two_rasas
    conversations = [f"web-{n:04d}" for n in range(40)]

    async def talk() -> None:
        rasa = RasaClient(f"{first.url},{second.url}", 5)
        try:
            for turn in range(3):
                await asyncio.gather(*(rasa.send(c, f"{c} turn {turn}", metadata={
                    "shopper": {"channel": "web", "external_id": c}}) for c in conversations))
            await rasa.replace_events(conversations[0], [])
        finally:
            await rasa.aclose()

    asyncio.run(talk())
    on_first = {r["sender"] for r in first.received}
    on_second = {r["sender"] for r in second.received}
    # every conversation went to exactly one server, in the order of its turns
    assert on_first | on_second == set(conversations) and not on_first & on_second
    assert len(on_first) >= 10 and len(on_second) >= 10  # rendezvous hashing spreads them
    for conversation in conversations:
        server = first if conversation in on_first else second
        assert server.messages(conversation) == [f"{conversation} turn {t}" for t in range(3)]
    # the choice is the same in any process (not Python's salted hash()) ...
    servers = rasa_servers(f"{first.url},{second.url}")
    assert on_first == {c for c in conversations if server_for(c, servers) == 0}
    # ... and the conversation's tracker is replaced on its own server
    owner = first if conversations[0] in on_first else second
    assert [c for c, _ in owner.replaced] == [conversations[0]]


def test_a_server_taken_off_the_list_moves_only_its_own_conversations() -> None:
    three = ["http://rasa-1:5005", "http://rasa-2:5005", "http://rasa-3:5005"]
    conversations = [f"web-{n:04d}" for n in range(300)]
    before = {c: three[server_for(c, three)] for c in conversations}
    after = {c: three[::2][server_for(c, three[::2])] for c in conversations}
    moved = {c for c in conversations if before[c] != after[c]}
    assert moved == {c for c in conversations if before[c] == "http://rasa-2:5005"}


def test_rasa_is_up_only_when_every_server_answers(
        two_rasas: tuple[FakeRasa, FakeRasa]) -> None:
    first, second = two_rasas

    async def healthy() -> bool:
        rasa = RasaClient([first.url, second.url], 5)
        try:
            return await rasa.healthy()
        finally:
            await rasa.aclose()

    assert asyncio.run(healthy())
    second.up = False
    assert not asyncio.run(healthy())
