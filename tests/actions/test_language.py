"""Messages in another language than English are said to be so, with a person offered."""

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallback, ActionOutOfScope
from actions.language import other_language
from actions.recommend import ActionGreet
from tests.actions.responses import said
from tests.actions.service_helpers import tracker, user

PERSON = {"title": "Talk to a person", "payload": "/request_human"}


@pytest.mark.parametrize(("text", "language"), [
    ("bonjour, vous avez des bougies ?", "French"), ("où est ma commande", "French"),
    ("hallo, habt ihr Kerzen?", "German"), ("wo ist meine Bestellung?", "German"),
    ("hola, tienen velas?", "Spanish"), ("ciao, avete candele?", "Italian"),
])
def test_a_message_in_another_language_is_recognised(text: str, language: str) -> None:
    assert other_language(text) == language


@pytest.mark.parametrize("text", [
    "hi do you have candles", "a present for my mum", "Pour Chloé", "merci", "Für Jürgen",
    "pour me a drink", "die hard fan gift", "can you engrave Je t'aime on it",
    "I need a gift for Anna, she is my sister", "/greet",
])
def test_english_with_a_foreign_word_or_name_is_english(text: str) -> None:
    assert other_language(text) is None


@pytest.mark.parametrize(("action", "text", "intent"), [
    (ActionGreet, "bonjour, vous avez des bougies ?", "greet"),
    (ActionOutOfScope, "hallo, habt ihr Kerzen?", "out_of_scope"),
    (ActionFallback, "hola, tienen velas?", "nlu_fallback"),
])
def test_the_shopper_is_told_the_bot_chats_in_english_and_offered_a_person(
        action: type, text: str, intent: str) -> None:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action().run(dispatcher, tracker(user(text, intent)), {}))
    [message] = said(dispatcher.messages)
    assert message["text"].startswith("Sorry, I can only chat in English for now, and that "
                                      f"message looks like {other_language(text)}.")
    assert message["buttons"] == [PERSON]
    assert events == []
