"""Two real Rasa processes behind the gateway, sharing the SQLite tracker store as ``make run``
starts them (``ATELIER_RASA_PROCESSES=2``): the gateway spreads the conversations over
both, each conversation always to the same one, and every turn is answered once, in order,
also across a restart of one of them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from channels.chat import BOT_DOWN_APOLOGY
from tests.channels.web_chat import chat_body
from tests.e2e.stack import RASA_TOKEN, Stack, free_port, trained_rasa
from tests.e2e.test_bot_turns import history, say, wait_until

pytestmark = pytest.mark.e2e
Messages = list[dict[str, Any]]
TURNS: list[tuple[str, Callable[[Messages], bool]]] = [
    ("hi", lambda said: "welcome" in (said[0]["text"] or "").lower()),
    ("show me blue ceramic mugs", lambda said: any(m["cards"] for m in said)),
    ("cheaper", lambda said: any(m["role"] == "bot" and m["text"] for m in said))]
"""A shopper's messages, each with what its answer has."""
CONVERSATIONS = 12


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    rasa_bin, model = trained_rasa()
    stack = Stack(workdir=tmp_path_factory.mktemp("two-rasa"), rasa_bin=rasa_bin, model=model,
                  more_rasa_ports=[free_port()])
    try:
        stack.start(timeout=480)
        yield stack
    finally:
        stack.stop()


def chat(stack: Stack, conversation: str, text: str) -> Messages:
    response = httpx.post(f"{stack.app_url}/api/chat", timeout=90,
                          json=chat_body(conversation, text))
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def user_messages(stack: Stack, name: str, conversation: str) -> list[str]:
    """The shopper's messages in the conversation's tracker, as Rasa process ``name`` reads
    them from the shared store."""
    tracker = httpx.get(f"http://127.0.0.1:{stack.rasa_ports[name]}/conversations/"
                        f"{conversation}/tracker", params={"token": RASA_TOKEN},
                        timeout=30).json()
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def answered_once_in_order(stack: Stack, conversation: str, turns: list[str]) -> bool:
    """The transcript is each message followed by its bot answers, nothing twice."""
    said = history(stack, conversation)
    shopper = [text for role, text in said if role == "shopper"]
    if shopper != turns:
        return False
    roles = [role for role, _ in said if role in ("shopper", "bot")]
    return all(roles[i] == "shopper" and roles[i + 1] == "bot"
               for i in [k for k, r in enumerate(roles) if r == "shopper"]
               if i + 1 < len(roles)) and roles[-1] == "bot"


def test_conversations_are_split_over_both_processes_and_keep_their_order(
        stack: Stack) -> None:
    conversations = [f"split-{uuid.uuid4().hex[:8]}" for _ in range(CONVERSATIONS)]

    def walk(conversation: str) -> list[Messages]:
        return [chat(stack, conversation, text) for text, _ in TURNS]

    # given shoppers talking at once, each conversation one message after the other
    with ThreadPoolExecutor(CONVERSATIONS) as pool:
        answers = dict(zip(conversations, pool.map(walk, conversations), strict=True))
    for conversation, turns in answers.items():
        for (text, answers), said in zip(TURNS, turns, strict=True):
            assert said[0]["role"] == "bot" and answers(said), (conversation, text, said)
    # then each tracker holds the messages once, in order, whichever process reads it
    for conversation in conversations:
        expected = [text for text, _ in TURNS]
        assert user_messages(stack, "rasa", conversation) == expected
        assert user_messages(stack, "rasa-2", conversation) == expected
        assert answered_once_in_order(stack, conversation, expected)

    # when the second process is killed
    stack.kill_rasa(name="rasa-2")
    try:
        late = {c: say(stack, c, "show my cart") for c in conversations}
    finally:
        stack.start_rasa(timeout=480, name="rasa-2")
    # then the conversations of the first are answered as before, those of the second wait
    # (kept, with the apology): the gateway split them over both, each to its own process
    on_first = [c for c, said in late.items() if said != [("system", BOT_DOWN_APOLOGY)]]
    on_second = [c for c, said in late.items() if said == [("system", BOT_DOWN_APOLOGY)]]
    assert on_first and on_second, late
    for conversation in on_first:
        assert any(role == "bot" for role, _ in late[conversation])

    # and once it is back every kept message is answered once, in order, and the split holds
    expected = [text for text, _ in TURNS] + ["show my cart"]
    for conversation in conversations:
        wait_until(lambda c=conversation: answered_once_in_order(stack, c, expected),
                   f"the answer of {conversation}'s kept message", timeout=120)
        assert user_messages(stack, "rasa", conversation) == expected
    again = {c: say(stack, c, "hi") for c in conversations}
    assert all(any(role == "bot" for role, _ in said) for said in again.values()), again
