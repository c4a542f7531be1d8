"""The bot is down: the shopper gets an apology, the message waits, and it is answered — in
order and once — when the bot is back (a local HTTP server stands in for Rasa)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session, sessionmaker

from channels.chat import BOT_DOWN_APOLOGY
from channels.handoff.repository import ConversationRepository
from commerce_core.models import ConversationState as State
from tests.channels.conftest import Gateway
from tests.channels.fake_rasa import FakeRasa, wait_for
from tests.channels.web_chat import chat_body, owner


def say(client, conversation_id: str, text: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    response = client.post("/api/chat", json=chat_body(conversation_id, text))
    assert response.status_code == 200, response.text
    return [(m["role"], m["text"]) for m in response.json()["messages"]]


def history(client, conversation_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(m["role"], m["text"]) for m in
            client.get(f"/api/chat/{conversation_id}/history",
                       headers=owner(conversation_id)).json()]


def test_messages_sent_while_the_bot_is_down_are_answered_when_it_is_back(
        gateway: Gateway, fake_rasa: FakeRasa) -> None:
    with gateway(bot_retry_seconds=0.1) as client:
        # given the bot is down
        fake_rasa.up = False
        assert say(client, "c-down", "hello") == [("system", BOT_DOWN_APOLOGY)]
        assert say(client, "c-down", "blue mugs") == [("system", BOT_DOWN_APOLOGY)]
        # when it comes back
        fake_rasa.up = True
        # then both messages are answered, oldest first, each once
        wait_for(lambda: len(history(client, "c-down")) == 6, what="the late answers")
        assert history(client, "c-down") == [
            ("shopper", "hello"), ("system", BOT_DOWN_APOLOGY),
            ("shopper", "blue mugs"), ("system", BOT_DOWN_APOLOGY),
            ("bot", "You said: hello"), ("bot", "You said: blue mugs")]
        assert fake_rasa.messages("c-down") == ["hello", "blue mugs"]


def test_a_new_message_waits_behind_the_older_ones(gateway: Gateway,
                                                   fake_rasa: FakeRasa) -> None:
    with gateway(bot_retry_seconds=3600) as client:  # no background retry in this test
        fake_rasa.up = False
        say(client, "c-order", "first")
        fake_rasa.up = True
        # the next turn asks the bot the waiting message before its own
        assert say(client, "c-order", "second") == [("bot", "You said: second")]
        assert fake_rasa.messages("c-order") == ["first", "second"]
        assert history(client, "c-order")[-3:] == [
            ("shopper", "second"), ("bot", "You said: first"), ("bot", "You said: second")]


def test_a_waiting_message_is_left_to_the_agent_who_took_the_conversation(
        gateway: Gateway, fake_rasa: FakeRasa, demo_catalog: sessionmaker[Session]) -> None:
    with gateway(bot_retry_seconds=0.1) as client:
        # given a message that waits for the bot
        fake_rasa.up = False
        assert say(client, "c-taken", "I need help") == [("system", BOT_DOWN_APOLOGY)]
        # and the conversation then queued for a person
        with demo_catalog() as session:
            ConversationRepository(session).transition(
                conversation_id="c-taken", expected=State.BOT, target=State.WAITING,
                reason="shopper_request")
            session.commit()
        # when the bot comes back and the retry loop runs
        fake_rasa.up = True
        wait_for(lambda: fake_rasa.status_checks > 0, what="a health check of the bot")
        time.sleep(0.5)
        # then the bot was not asked behind the agent's back
        assert fake_rasa.messages("c-taken") == []
        assert history(client, "c-taken") == [("shopper", "I need help"),
                                              ("system", BOT_DOWN_APOLOGY)]


def test_a_turn_rasa_kept_nothing_of_waits_for_the_action_server_and_is_signed_afresh(
        gateway: Gateway, fake_rasa: FakeRasa) -> None:
    with gateway(bot_retry_seconds=0.1, action_server_url=fake_rasa.url) as client:
        # given the action server is down: Rasa's channel keeps nothing of a turn and says so
        fake_rasa.actions_up = False
        assert say(client, "c-actions", "yes, place the order") == [("system",
                                                                     BOT_DOWN_APOLOGY)]
        # then the message is not sent again while the action server is down
        time.sleep(1.2)
        assert fake_rasa.attempts == 1
        # when it is back
        back_at = time.time()
        fake_rasa.actions_up = True
        # then the message is answered once, signed at the time it was sent again
        wait_for(lambda: len(history(client, "c-actions")) == 3, what="the late answer")
        assert history(client, "c-actions") == [
            ("shopper", "yes, place the order"), ("system", BOT_DOWN_APOLOGY),
            ("bot", "You said: yes, place the order")]
        assert fake_rasa.attempts == 2
        [sent] = fake_rasa.raw
        assert sent["metadata"]["shopper"]["issued_at"] >= int(back_at)
        assert fake_rasa.received[0]["metadata"]["shopper"] == {
            "channel": "web", "external_id": "c-actions"}
        # and it is the same turn: the id the actions place its order with is unchanged
        first_try, sent_again = fake_rasa.tried
        assert sent_again["metadata"]["turn_id"] == first_try["metadata"]["turn_id"]
        assert len(sent_again["metadata"]["turn_id"]) == 32


def test_every_turn_has_an_id_of_its_own(gateway: Gateway, fake_rasa: FakeRasa) -> None:
    with gateway(bot_retry_seconds=3600) as client:
        say(client, "c-turns", "hello")
        say(client, "c-turns", "hello")
        say(client, "c-other", "hello")
    ids = [r["turn_id"] for r in fake_rasa.received]
    assert len(ids) == len(set(ids)) == 3


def test_a_gateway_with_another_secret_is_refused_and_its_message_waits(
        gateway: Gateway, fake_rasa: FakeRasa) -> None:
    with gateway(bot_retry_seconds=3600, identity_secret="not-the-bots-secret") as client:
        assert say(client, "c-secret", "hello") == [("system", BOT_DOWN_APOLOGY)]
    assert fake_rasa.attempts == 1 and fake_rasa.received == []
