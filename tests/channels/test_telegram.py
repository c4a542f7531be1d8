"""Telegram without Rasa: rendering, retries, commands, limits and the webhook's guard.

The real python-telegram-bot application runs against the fake Bot API server; the
gateway's ``ChatService`` is real too, with the bot unreachable or the Rasa stand-in (what
Rasa would answer is covered by ``tests/e2e/test_telegram.py``).
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import ValidationError

from channels.chat import BOT_DOWN_APOLOGY, ChatService
from channels.config import GatewaySettings
from channels.delivery.history import MemoryHistory
from channels.delivery.outlet import Outlet
from channels.messages import Button, Card, ChatMessage, Link
from channels.rasa_client import RasaClient
from channels.telegram.buttons import ButtonStore
from channels.telegram.channel import (
    EXPIRED_BUTTON,
    HELP_TEXT,
    TEXT_ONLY,
    UNKNOWN_COMMAND,
    conversation_id_for,
)
from channels.telegram.markdown import to_telegram_html
from channels.telegram.photos import STATIC_DIR, photo_source
from channels.telegram.render import (
    MAX_CAPTION,
    absolute_url,
    card_caption,
    format_price,
    split_text,
    telegram_length,
)
from channels.telegram.runtime import TelegramBot
from knowledge.faq_parser import read_faq_file
from knowledge.faq_text import join_paragraphs
from tests.channels.conftest import Gateway
from tests.channels.fake_bot_api import (
    TOKEN,
    FakeBotApi,
    LoopThread,
    Upload,
    button_update,
    check_call,
    sticker_update,
    text_update,
    webhook_gateway,
    webhook_recorded,
)
from tests.channels.fake_rasa import FakeRasa
from tests.channels.web_chat import recorded
from tests.conftest import DEMO_FAQ

SECRET = "s3cret-token_for-tests"
RATE_NOTICE = re.compile(r"You're sending messages too quickly\. Please wait \d+ s and try again\.")
chat_ids = itertools.count(700_001)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(api: FakeBotApi, **overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "telegram_token": TOKEN, "telegram_api_url": api.base_url,
        "telegram_file_url": api.file_url, "public_url": "https://shop.example",
        "rasa_url": f"http://127.0.0.1:{_closed_port()}", "telegram_retry_backoff_seconds": 0.05,
        "warm_search_on_start": False}
    return GatewaySettings(**(values | overrides))


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


@dataclass
class Polling:
    bot: TelegramBot
    chat: ChatService
    thread: LoopThread


@pytest.fixture(scope="module")
def polling(api: FakeBotApi) -> Iterator[Polling]:
    settings = make_settings(api)
    thread = LoopThread()

    async def start() -> Polling:
        chat = ChatService(rasa=RasaClient(settings.rasa_url, 5),
                           outlet=Outlet(history=MemoryHistory(50)),
                           max_message_chars=settings.max_message_chars)
        bot = TelegramBot(settings, chat, mode="polling")
        await bot.start(poll_timeout=1)
        return Polling(bot, chat, thread)

    running = thread.run(start())
    yield running
    thread.run(running.bot.stop())
    thread.run(running.chat.rasa.aclose())
    thread.close()


@pytest.fixture
def chat_id() -> int:
    return next(chat_ids)


def deliver(polling: Polling, chat_id: int, *messages: ChatMessage) -> bool:
    return polling.thread.run(polling.bot.channel.deliver(conversation_id_for(chat_id),
                                                          messages))


# --- rendering

def test_split_text_prefers_paragraphs_then_lines_then_words() -> None:
    paragraphs = "\n\n".join(["a" * 30, "b" * 30, "c" * 30])
    assert split_text(paragraphs, 70) == ["a" * 30 + "\n\n" + "b" * 30, "c" * 30]
    lines = "\n".join(["a" * 30, "b" * 30, "c" * 30])
    assert split_text(lines, 70) == ["a" * 30 + "\n" + "b" * 30, "c" * 30]
    words = " ".join(["word"] * 30)
    parts = split_text(words, 50)
    assert all(len(p) <= 50 and not p.startswith(" ") and not p.endswith(" ") for p in parts)
    assert " ".join(parts) == words
    assert split_text("x" * 120, 50) == ["x" * 50, "x" * 50, "x" * 20]
    assert split_text("  short  ") == ["short"]
    assert split_text("   ") == []


def test_split_text_counts_like_telegram() -> None:
    text = "🎁" * 3000  # each one is two UTF-16 code units for Telegram
    parts = split_text(text)
    assert [telegram_length(p) for p in parts] == [4096, 1904]
    assert "".join(parts) == text


def test_five_thousand_characters_split_at_4096_and_captions_at_1024() -> None:
    sentence = "Every piece is thrown, trimmed and glazed by hand in our studio. "
    text = "\n\n".join(sentence * 8 for _ in range(10))[:5000]
    parts = split_text(text)
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
    assert parts[0].endswith(".") or parts[0].endswith(sentence.strip()[-8:])
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())
    assert all(len(p) <= MAX_CAPTION for p in split_text(text, MAX_CAPTION))


def test_price_caption_and_urls() -> None:
    assert format_price("32", "EUR") == "€32.00"
    assert format_price("1250.5", "gbp") == "£1,250.50"
    assert format_price("40.00", "CHF") == "40.00 CHF"
    card = Card(id=1, sku="CER-MUG-001", name="Cobalt Mug", price="32.00", currency="EUR",
                image_url="/static/img/mug.svg", in_stock=False)
    assert card_caption(card) == "Cobalt Mug\n€32.00 · Out of stock right now"
    assert absolute_url("/static/img/mug.svg", "https://shop.example/") == (
        "https://shop.example/static/img/mug.svg")
    assert absolute_url("https://cdn.example/a.png", "https://shop.example") == (
        "https://cdn.example/a.png")


def test_button_store_gives_short_stable_ids_and_forgets_the_oldest() -> None:
    store = ButtonStore(size=2)
    long = Button(title="Tell me more", payload='/product_details{"product_id": "1"}' + "x" * 200)
    key = store.put(long)
    assert len(key.encode()) <= 64 and store.put(long) == key and store.get(key) == long
    second = store.put(Button(title="Two", payload="two"))
    store.get(key)  # recently used: kept
    store.put(Button(title="Three", payload="three"))
    assert store.get(key) == long and store.get(second) is None and len(store) == 2


# --- sending through the real Bot API client

def test_long_answer_arrives_in_parts_with_the_keyboard_on_the_last(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    text = "\n".join(f"Line {i}: a glaze note that goes on for a while." for i in range(110))
    assert len(text) > 5000
    ok = deliver(polling, chat_id, ChatMessage(role="bot", text=text, buttons=[
        Button(title="Ceramic mugs", payload="show me ceramic mugs")]))
    sent = api.calls_to("sendMessage", chat_id)
    assert ok and len(sent) == 2
    assert all(telegram_length(c.params["text"]) <= 4096 for c in sent)
    assert "\n".join(c.params["text"] for c in sent) == text
    assert sent[0].buttons == [] and [b["text"] for b in sent[1].buttons] == ["Ceramic mugs"]


def test_flood_control_is_waited_out_and_the_message_arrives(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    api.fail_next("sendMessage", 1)  # 429, retry after 1 s
    assert deliver(polling, chat_id, ChatMessage(role="bot", text="Your parcel is on its way."))
    attempts = api.calls_to("sendMessage", chat_id)
    assert [c.params["text"] for c in attempts] == ["Your parcel is on its way."] * 2
    assert attempts[1].at - attempts[0].at >= 0.95


def test_network_errors_are_retried_then_given_up_and_logged(
        polling: Polling, api: FakeBotApi, chat_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    bad_gateway = (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    api.fail_next("sendMessage", 2, bad_gateway)
    assert deliver(polling, chat_id, ChatMessage(role="bot", text="first"))
    assert len(api.calls_to("sendMessage", chat_id)) == 3

    api.fail_next("sendMessage", 4, bad_gateway)  # the first try and all three retries
    with caplog.at_level(logging.WARNING):
        assert not deliver(polling, chat_id, ChatMessage(role="bot", text="second"))
    assert len(api.calls_to("sendMessage", chat_id)) == 7
    assert "telegram message not delivered: Bad Gateway" in caplog.text


def test_cards_go_as_photos_and_as_text_when_telegram_refuses_the_photo(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    cards = [Card(id=i, sku=f"CER-MUG-00{i}", name=f"Mug {i}", price="29.5", currency="EUR",
                  image_url=f"/static/img/products/cer-mug-00{i}.png",
                  buttons=[Button(title="Tell me more", payload=f"/product_details{i}")])
             for i in (1, 2)]
    api.fail_next("sendPhoto", 1, (400, {"ok": False, "error_code": 400, "description":
                                         "Bad Request: failed to get HTTP URL content"}))
    assert deliver(polling, chat_id, ChatMessage(role="bot", text="Here is what I found:",
                                                 cards=cards))
    shown = api.sent(chat_id)
    assert [c.method for c in shown] == ["sendMessage", "sendPhoto", "sendMessage", "sendPhoto"]
    assert shown[1].params["photo"] == "https://shop.example/static/img/products/cer-mug-001.png"
    assert shown[2].params["text"] == "Mug 1\n€29.50 · In stock"  # the refused card, as text
    assert shown[3].params["caption"] == "Mug 2\n€29.50 · In stock"
    for call, card in zip(shown[2:], cards, strict=True):
        [button] = call.buttons
        assert button["text"] == "Tell me more"
        assert polling.bot.channel.buttons.get(button["callback_data"]) == card.buttons[0]


def test_recommended_cards_carry_their_reason_under_the_price(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    # given: two recommended cards, the first one's photo refused by Telegram
    cards = [Card(id=i, sku=f"CER-JUG-00{i}", name=f"Jug {i}", price="24", currency="EUR",
                  image_url=f"/static/img/products/cer-jug-00{i}.png", reason=reason,
                  buttons=[Button(title="Add to cart", payload=f"/add_to_cart{i}")])
             for i, reason in ((1, "bought together with the Cobalt Mug 14 times"),
                               (2, "like the Speckled Bowl you viewed"))]
    api.fail_next("sendPhoto", 1, (400, {"ok": False, "error_code": 400, "description":
                                         "Bad Request: failed to get HTTP URL content"}))
    # when
    assert deliver(polling, chat_id, ChatMessage(role="bot", text="Goes well with it:",
                                                 cards=cards))
    # then: each card is a normal product card with its reason as the last line
    shown = api.sent(chat_id)
    assert [c.method for c in shown] == ["sendMessage", "sendPhoto", "sendMessage", "sendPhoto"]
    intro, _, refused, photo = shown
    assert intro.params["text"] == "Goes well with it:"
    assert refused.params["text"] == (  # the card whose photo failed, as text
        "Jug 1\n€24.00 · In stock\nbought together with the Cobalt Mug 14 times")
    assert photo.params["caption"] == "Jug 2\n€24.00 · In stock\nlike the Speckled Bowl you viewed"
    assert [b["text"] for b in photo.buttons] == [b["text"] for b in refused.buttons] == [
        "Add to cart"]


def test_a_link_is_a_url_button_or_else_an_address_in_the_text(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    pay = ChatMessage(role="bot", text="Your order is reserved.",
                      link=Link(title="Pay now", url="/pay/tok_123"))
    assert deliver(polling, chat_id, pay)
    [sent] = api.calls_to("sendMessage", chat_id)
    assert sent.buttons == [{"text": "Pay now", "url": "https://shop.example/pay/tok_123"}]

    api.fail_next("sendMessage", 1, (400, {"ok": False, "error_code": 400, "description":
                                           "Bad Request: inline keyboard button URL is invalid"}))
    assert deliver(polling, chat_id, pay)
    fallback = api.calls_to("sendMessage", chat_id)[-1]
    assert fallback.params["text"] == (
        "Your order is reserved.\n\nPay now: https://shop.example/pay/tok_123")
    assert fallback.buttons == []


def test_a_bot_answer_goes_in_html_parse_mode_rendered_and_escaped(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    answer = ChatMessage(role="bot", text=(
        "Returns within **30 days**, see [terms](https://shop.example/terms).\n\n"
        "- unused <b>pieces</b> & boxes\n- tracked post\n\n| Zone | Price |\n|---|---|\n"
        "| EU | €9 |"))
    assert deliver(polling, chat_id, answer)
    [sent] = api.calls_to("sendMessage", chat_id)
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["text"] == (
        'Returns within <b>30 days</b>, see <a href="https://shop.example/terms">terms</a>.'
        "\n\n• unused &lt;b&gt;pieces&lt;/b&gt; &amp; boxes\n• tracked post\n\n"
        "<pre>Zone  Price\nEU    €9</pre>")
    # an agent's words are sent as they were typed, not parsed
    assert deliver(polling, chat_id, ChatMessage(role="agent", text="**not bold** <b>"))
    agent = api.calls_to("sendMessage", chat_id)[-1]
    assert "parse_mode" not in agent.params and agent.params["text"] == "**not bold** <b>"


# --- updates in (polling)

def test_help_unknown_commands_and_non_text(polling: Polling, api: FakeBotApi,
                                            chat_id: int) -> None:
    for update in (text_update(chat_id, "/help"), text_update(chat_id, "/discount"),
                   sticker_update(chat_id)):
        api.push(update)
    api.wait_for(lambda: len(api.sent(chat_id)) >= 3, what="three answers")
    assert [c.params["text"] for c in api.sent(chat_id)] == [HELP_TEXT, UNKNOWN_COMMAND,
                                                             TEXT_ONLY]
    history = polling.chat.outlet.history
    assert polling.thread.run(history.since(conversation_id_for(chat_id), 0)) == []


def test_oversized_message_gets_a_notice_and_is_not_forwarded(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    api.push(text_update(chat_id, "I would like " + "a very " * 300 + "big vase"))
    [notice] = api.wait_for(lambda: api.sent(chat_id), what="the notice")
    assert notice.params["text"].startswith("Messages can be at most 2000 characters long")
    time.sleep(0.2)
    history = polling.thread.run(polling.chat.outlet.history.since(conversation_id_for(chat_id), 0))
    assert history == [] and len(api.sent(chat_id)) == 1


def test_a_turn_with_the_bot_down_tells_the_shopper(polling: Polling, api: FakeBotApi,
                                                    chat_id: int) -> None:
    api.push(text_update(chat_id, "hello"))
    [apology] = api.wait_for(lambda: api.sent(chat_id), what="the apology")
    assert apology.params["text"] == BOT_DOWN_APOLOGY
    assert api.calls_to("sendChatAction", chat_id)[0].params["action"] == "typing"
    history = polling.thread.run(polling.chat.outlet.history.since(conversation_id_for(chat_id), 0))
    assert [(m.role, m.text) for m in history] == [("shopper", "hello"),
                                                   ("system", BOT_DOWN_APOLOGY)]


def test_an_unknown_button_is_answered_as_expired(polling: Polling, api: FakeBotApi,
                                                  chat_id: int) -> None:
    api.push(button_update(chat_id, "b:forgotten", query_id=f"cq-{chat_id}"))
    [answer] = api.wait_for(lambda: [c for c in api.calls_to("answerCallbackQuery")
                                     if c.params["callback_query_id"] == f"cq-{chat_id}"])
    assert answer.params["text"] == EXPIRED_BUTTON
    assert api.sent(chat_id) == []


# --- webhook mode

def test_webhook_refuses_a_wrong_or_missing_secret(api: FakeBotApi, chat_id: int) -> None:
    settings = make_settings(api, telegram_mode="webhook", telegram_webhook_secret=SECRET)
    with TestClient(webhook_gateway(settings)) as client:
        [registered] = api.wait_for(lambda: api.calls_to("setWebhook"), what="setWebhook")
        assert registered.params["url"] == "https://shop.example/telegram/webhook"
        assert registered.params["secret_token"] == SECRET
        assert registered.params["allowed_updates"] == ["message", "callback_query"]

        update = {"update_id": 1, **text_update(chat_id, "/human")}
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "nope"},
                        {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}):
            response = client.post("/telegram/webhook", json=update, headers=headers)
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "forbidden"
        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert client.post("/telegram/webhook", content=b"{nope", headers=good
                           ).status_code == 400
        for body in ({"message": {}}, {"update_id": 2, "message": {"text": "no chat"}}):
            assert client.post("/telegram/webhook", json=body, headers=good).status_code == 400
        too_big = {"update_id": 2, "padding": "x" * 300_000}
        assert client.post("/telegram/webhook", json=too_big, headers=good).status_code == 413

        # when: the same chat then sends /help with the right secret
        help_update = {"update_id": 3, **text_update(chat_id, "/help")}
        assert client.post("/telegram/webhook", json=help_update, headers=good).json() == {
            "ok": True}
        # then: only /help was processed (updates of one chat are handled in order)
        api.wait_for(lambda: api.sent(chat_id), what="the help text")
        time.sleep(0.2)
        assert [c.params["text"] for c in api.sent(chat_id)] == [HELP_TEXT]
        assert webhook_recorded(client, conversation_id_for(chat_id)) == []


def test_webhook_route_is_absent_without_webhook_mode(api: FakeBotApi) -> None:
    with TestClient(webhook_gateway(make_settings(api))) as client:  # polling mode
        response = client.post("/telegram/webhook", json={"update_id": 1},
                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert response.status_code == 404


def test_webhook_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="required in webhook mode"):
        GatewaySettings(telegram_token=TOKEN, telegram_mode="webhook")
    with pytest.raises(ValidationError, match="16-256 characters"):
        GatewaySettings(telegram_token=TOKEN, telegram_mode="webhook",
                        telegram_webhook_secret="short")
    with pytest.raises(ValidationError, match="16-256 characters"):
        GatewaySettings(telegram_webhook_secret="has spaces in it, sadly")
    assert GatewaySettings(telegram_mode="webhook").telegram_token is None  # Telegram off
    unset = GatewaySettings(telegram_token="", telegram_webhook_secret="")  # as compose passes
    assert unset.telegram_token is None and unset.telegram_webhook_secret is None


# --- rate limit (the widget's, per conversation)

@pytest.fixture
def own_api() -> Iterator[FakeBotApi]:
    """A Bot API server of this test's own: no other bot polls it or registers webhooks."""
    api = FakeBotApi().start()
    yield api
    api.stop()


def test_a_chat_over_its_limit_hears_it_once_and_the_bot_is_not_asked(
        own_api: FakeBotApi, fake_rasa: FakeRasa, chat_id: int) -> None:
    # given: a polling bot whose chats may send two messages (no refill during the test)
    settings = make_settings(own_api, rasa_url=fake_rasa.url, rate_conversation_burst=2,
                             rate_conversation_per_minute=1)
    thread = LoopThread()

    async def start() -> TelegramBot:
        chat = ChatService(rasa=RasaClient(settings.rasa_url, 5),
                           outlet=Outlet(history=MemoryHistory(50)),
                           max_message_chars=settings.max_message_chars)
        bot = TelegramBot(settings, chat, mode="polling")
        await bot.start(poll_timeout=1)
        return bot

    bot = thread.run(start())
    conversation_id = conversation_id_for(chat_id)
    try:
        # when: five messages, /help and a button press arrive at once
        for i in range(1, 6):
            own_api.push(text_update(chat_id, f"message {i}"))
        own_api.push(text_update(chat_id, "/help"))
        own_api.push(button_update(chat_id, "b:anything", query_id="cq-limited"))
        [pressed] = own_api.wait_for(lambda: [
            c for c in own_api.calls_to("answerCallbackQuery")
            if c.params["callback_query_id"] == "cq-limited"], what="the button's answer")
        # then: two turns reached the bot, the third message got the notice, the rest
        # nothing; the button's spinner was stopped without a second notice
        texts = [c.params["text"] for c in own_api.sent(chat_id)]
        assert texts[:2] == ["You said: message 1", "You said: message 2"]
        assert len(texts) == 3 and RATE_NOTICE.fullmatch(texts[2]), texts
        assert pressed.params.get("text") is None
        assert fake_rasa.messages(conversation_id) == ["message 1", "message 2"]
        history = thread.run(bot.channel.chat.outlet.history.since(conversation_id, 0))
        assert [m.text for m in history if m.role == "shopper"] == ["message 1", "message 2"]
        # another chat has a limit of its own
        other = next(chat_ids)
        own_api.push(text_update(other, "hello"))
        [answer] = own_api.wait_for(lambda: own_api.sent(other), what="the other chat")
        assert answer.params["text"] == "You said: hello"
    finally:
        thread.run(bot.stop())
        thread.run(bot.channel.chat.rasa.aclose())
        thread.close()


def _post_update(client: TestClient, update: dict[str, object]) -> None:
    """Post like Telegram does: a 503 while the bot is starting is retried."""
    deadline = time.monotonic() + 20
    while True:
        response = client.post("/telegram/webhook", json=update,
                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert response.json() == {"ok": True}, response.text


def test_two_webhook_replicas_share_the_limit_and_tell_the_shopper_once(
        gateway: Gateway, own_api: FakeBotApi, fake_rasa: FakeRasa, redis_url: str,
        redis_prefix: str, chat_id: int) -> None:
    # given: two gateway replicas in webhook mode on one Redis; a chat may send two messages
    settings = {"telegram_token": TOKEN, "telegram_api_url": own_api.base_url,
                "telegram_file_url": own_api.file_url, "telegram_mode": "webhook",
                "telegram_webhook_secret": SECRET, "redis_url": redis_url,
                "redis_prefix": redis_prefix, "rate_conversation_burst": 2,
                "rate_conversation_per_minute": 1}
    conversation_id = conversation_id_for(chat_id)
    updates = itertools.count(1)

    def send(client: TestClient, update: dict[str, object]) -> None:
        _post_update(client, {"update_id": next(updates), **update})

    def answered(query_id: str) -> object:
        return own_api.wait_for(lambda: [c for c in own_api.calls_to("answerCallbackQuery")
                                         if c.params["callback_query_id"] == query_id],
                                what=f"the answer to {query_id}")

    with gateway(**settings) as a, gateway(**settings) as b:
        # when: the chat's updates are spread over both replicas
        send(a, text_update(chat_id, "message 1"))
        send(a, text_update(chat_id, "message 2"))
        own_api.wait_for(lambda: len(own_api.sent(chat_id)) == 2, what="two answers")
        send(b, text_update(chat_id, "message 3"))
        own_api.wait_for(lambda: len(own_api.sent(chat_id)) == 3, what="the notice")
        send(a, text_update(chat_id, "message 4"))
        send(b, text_update(chat_id, "message 5"))
        # a replica handles one chat's updates in order: its button answered, all done
        send(a, button_update(chat_id, "b:x", query_id="cq-a"))
        send(b, button_update(chat_id, "b:x", query_id="cq-b"))
        answered("cq-a")
        answered("cq-b")
        # then: one limit for both replicas, and one notice
        texts = [c.params["text"] for c in own_api.sent(chat_id)]
        assert texts[:2] == ["You said: message 1", "You said: message 2"]
        assert len(texts) == 3 and RATE_NOTICE.fullmatch(texts[2]), texts
        assert fake_rasa.messages(conversation_id) == ["message 1", "message 2"]
        history = recorded(b, conversation_id)
        assert [m["text"] for m in history if m["role"] == "shopper"] == ["message 1",
                                                                         "message 2"]


# --- what Telegram accepts: the stand-in is as strict as the Bot API

def test_a_card_whose_picture_telegram_cannot_show_goes_as_text_without_a_refusal(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    card = Card(id=9, sku="CER-MUG-009", name="Mug 9", price="29", currency="EUR",
                image_url="/static/img/placeholder/ceramics.svg")
    assert deliver(polling, chat_id, ChatMessage(role="bot", text="One:", cards=[card]))
    assert [c.method for c in api.sent(chat_id)] == ["sendMessage", "sendMessage"]
    assert api.calls_to("sendPhoto", chat_id) == []


def test_a_shop_telegram_cannot_reach_uploads_its_own_pictures(
        polling: Polling, api: FakeBotApi, chat_id: int) -> None:
    channel = polling.bot.channel
    card = Card(id=1, sku="CER-MUG-001", name="Cobalt Mug", price="32", currency="EUR",
                image_url="/static/img/products/cer-mug-001.png")
    channel.public_url = "http://localhost:8000"  # make run on a laptop
    try:
        assert deliver(polling, chat_id, ChatMessage(role="bot", text="One:", cards=[card]))
    finally:
        channel.public_url = "https://shop.example"
    [photo] = api.calls_to("sendPhoto", chat_id)
    assert photo.refused is None
    assert isinstance(photo.params["photo"], Upload)
    assert photo.params["photo"].content == (STATIC_DIR / "img/products/cer-mug-001.png"
                                             ).read_bytes()


@pytest.mark.parametrize(("photo", "where"), [
    ("http://localhost:8000/static/img/products/cer-mug-001.png", "public_url"),
    ("http://192.168.1.20/static/a.png", "public_url"),
    ("https://shop.example/static/img/placeholder/ceramics.svg", "photo"),
])
def test_photos_telegram_could_not_fetch_are_never_sent_by_url(photo: str, where: str) -> None:
    refusal = check_call("sendPhoto", {"chat_id": 1, "photo": photo})
    assert refusal is not None and refusal.startswith("Bad Request")
    image_url = "/static/img/products/cer-mug-001.png" if where == "public_url" else photo
    public_url = photo.split("/static/")[0] if where == "public_url" else "https://shop.example"
    source = photo_source(image_url, public_url=public_url)
    assert source is None or isinstance(source, bytes)  # uploaded, or the card goes as text


def test_uploads_must_be_real_pictures_of_sane_dimensions() -> None:
    png = (STATIC_DIR / "img/products/cer-mug-001.png").read_bytes()
    svg = (STATIC_DIR / "img/placeholder/ceramics.svg").read_bytes()
    assert check_call("sendPhoto", {"chat_id": 1, "photo": Upload("a.png", png)}) is None
    assert check_call("sendPhoto", {"chat_id": 1, "photo": Upload("a.svg", svg)}) == \
        "Bad Request: IMAGE_PROCESS_FAILED"
    strip = io.BytesIO()
    Image.new("RGB", (2100, 100)).save(strip, format="PNG")
    assert check_call("sendPhoto", {"chat_id": 1, "photo": Upload("s.png", strip.getvalue())}) \
        == "Bad Request: PHOTO_INVALID_DIMENSIONS"


@pytest.mark.parametrize(("text", "refusal"), [
    ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>x</b></i>", "end tag"),
    ("<h1>Title</h1>", 'Unsupported start tag "h1"'),
    ("Tom &amp; Jerry &nbsp;", 'Unsupported HTML entity "&nbsp;"'),
    ('<a>no address</a>', 'Expected "href" attribute'),
])
def test_html_that_telegram_cannot_parse_is_refused(text: str, refusal: str) -> None:
    answer = check_call("sendMessage", {"chat_id": 1, "text": text, "parse_mode": "HTML"})
    assert answer is not None and "can't parse entities" in answer and refusal in answer


def test_lengths_buttons_and_callback_data_are_checked_as_telegram_does() -> None:
    assert check_call("sendMessage", {"chat_id": 1, "text": "😀" * 2048}) is None
    assert check_call("sendMessage", {"chat_id": 1, "text": "😀" * 2049}) == \
        "Bad Request: message is too long"  # 4098 UTF-16 code units
    assert check_call("sendMessage", {"chat_id": 1, "text": "<b></b>",
                                      "parse_mode": "HTML"}) == "Bad Request: message text is empty"
    caption = "<b>" + "x" * 1024 + "</b>"
    assert check_call("sendPhoto", {"chat_id": 1, "photo": "https://shop.example/a.png",
                                    "caption": caption, "parse_mode": "HTML"}) is None
    assert check_call("sendPhoto", {"chat_id": 1, "photo": "https://shop.example/a.png",
                                    "caption": "x" * 1025}) == \
        "Bad Request: message caption is too long"
    def keyboard_of(button: dict[str, str]) -> dict[str, object]:
        return {"chat_id": 1, "text": "Choose", "reply_markup": {"inline_keyboard": [[button]]}}
    assert check_call("sendMessage", keyboard_of({"text": "Go", "callback_data": "x" * 64})) \
        is None
    assert check_call("sendMessage", keyboard_of({"text": "Go", "callback_data": "x" * 65})) \
        == "Bad Request: BUTTON_DATA_INVALID"
    assert "Wrong HTTP URL" in check_call("sendMessage", keyboard_of(
        {"text": "Pay", "url": "http://localhost:8000/pay/t"}))


def test_every_demo_faq_answer_is_html_telegram_accepts(demo_faq_answers: list[str]) -> None:
    assert len(demo_faq_answers) >= 20
    for answer in demo_faq_answers:
        for part in to_telegram_html(answer):
            assert check_call("sendMessage", {"chat_id": 1, "text": part,
                                              "parse_mode": "HTML"}) is None, part


@pytest.fixture(scope="module")
def demo_faq_answers() -> list[str]:
    """Every demo FAQ answer as the bot sends it (line wraps joined)."""
    return [join_paragraphs(entry.answer) for path in sorted(DEMO_FAQ.glob("*.md"))
            for entry in read_faq_file(path).entries]
