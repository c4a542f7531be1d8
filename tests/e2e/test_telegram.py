"""Telegram end to end: the real trained bot, the real action server and commerce API,
python-telegram-bot in both modes, and a fake Bot API server in place of Telegram's.

Polling runs the real worker process (``python -m channels.telegram``); webhook mode runs
the gateway's route and lifespan hooks in process.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from channels.config import GatewaySettings
from channels.telegram.channel import HELP_TEXT, conversation_id_for
from channels.telegram.render import format_price
from tests.channels.fake_bot_api import (
    TOKEN,
    Call,
    FakeBotApi,
    button_update,
    text_update,
    webhook_gateway,
    webhook_recorded,
)
from tests.channels.web_chat import chat_body
from tests.e2e import test_journey_service
from tests.e2e.stack import IDENTITY_SECRET, REPO, Stack
from tests.e2e.test_journey_reviews import deliver_everything_shipped
from tests.e2e.test_journey_shopping import GOOD_CARD

pytestmark = pytest.mark.e2e
PUBLIC_URL = "https://shop.example"
SECRET = "e2e-webhook-secret_0123456789"
chat_ids = itertools.count(900_001)
merchant = test_journey_service.merchant
"""A merchant API key made with the admin command (the fixture of the service journey)."""


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def worker(stack: Stack, api: FakeBotApi) -> Iterator[subprocess.Popen[bytes]]:
    env = stack.env() | {
        "ATELIER_TELEGRAM_TOKEN": TOKEN, "ATELIER_TELEGRAM_MODE": "polling",
        "ATELIER_TELEGRAM_API_URL": api.base_url, "ATELIER_TELEGRAM_FILE_URL": api.file_url,
        "ATELIER_PUBLIC_URL": PUBLIC_URL, "ATELIER_TELEGRAM_RETRY_BACKOFF_SECONDS": "0.1",
        "ATELIER_TELEGRAM_HEARTBEAT_FILE": str(stack.workdir / "telegram.alive")}
    log = (stack.workdir / "telegram.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "channels.telegram"], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        api.wait_for(lambda: api.calls_to("getUpdates") or process.poll() is not None,
                     what="the worker to poll")
        assert process.poll() is None, stack.log_tail("telegram")
        api.wait_for(lambda: (stack.workdir / "telegram.alive").exists(), timeout=5,
                     what="the worker's heartbeat")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, f"the worker did not stop cleanly:\n{stack.log_tail('telegram')}"


SERVICE = {"Authorization": "Bearer change-me"}


def mug_ordered(stack: Stack, chat_id: int, address: dict[str, str]) -> tuple[str, dict]:
    """A mug ordered through the shop's API for this chat's shopper: (their API path, the
    order, not paid yet)."""
    shopper = f"/api/shoppers/telegram/{conversation_id_for(chat_id)}"
    added = httpx.post(f"{stack.app_url}{shopper}/cart/lines", headers=SERVICE, timeout=30,
                       json={"sku": "CER-MUG-001", "quantity": 1, "options": {}})
    assert added.status_code == 201, added.text
    order = httpx.post(f"{stack.app_url}{shopper}/checkout", headers=SERVICE, timeout=30,
                       json={"email": f"{address['name'].split()[0].lower()}@example.com",
                             "address": address})
    assert order.status_code == 201, order.text
    return shopper, order.json()


def texts(calls: list[Call]) -> list[str]:
    return [c.params.get("text") or c.params.get("caption") or "" for c in calls]


def test_greeting_search_and_a_product_button_over_polling(
        stack: Stack, worker: subprocess.Popen[bytes], api: FakeBotApi) -> None:
    chat_id = next(chat_ids)

    api.push(text_update(chat_id, "hi"))
    [greeting] = api.wait_for(lambda: api.sent(chat_id), what="the greeting")
    assert "welcome" in greeting.params["text"].lower()
    assert [b["text"] for b in greeting.buttons][:1] == ["Ceramic mugs"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in greeting.buttons)

    # the widget's API, asked the same in another conversation, shows which cards to expect
    [web] = httpx.post(f"{stack.app_url}/api/chat", timeout=60, json=chat_body(
        f"web-{chat_id}", "show me blue ceramic mugs")).json()["messages"]
    assert len(web["cards"]) >= 3

    api.push(text_update(chat_id, "show me blue ceramic mugs"))
    api.wait_for(lambda: len(api.calls_to("sendPhoto", chat_id)) >= len(web["cards"]),
                 what="product photos")
    intro, *photos = api.sent(chat_id)[1:]
    assert (intro.method, intro.params["text"]) == ("sendMessage", web["text"])
    assert [p.params["caption"].split("\n") for p in photos] == [
        [card["name"], f"€{card['price']} · In stock"] for card in web["cards"]]
    for photo, card in zip(photos, web["cards"], strict=True):
        assert photo.method == "sendPhoto"
        assert photo.params["photo"] == PUBLIC_URL + card["image_url"]
        assert [b["text"] for b in photo.buttons] == [b["title"] for b in card["buttons"]]
        assert [b["text"] for b in photo.buttons] == ["Tell me more", "Personalise",
                                                      "Add to cart"]

    # when: the shopper taps "Tell me more" under the first mug
    shown = len(api.sent(chat_id))
    api.push(button_update(chat_id, photos[0].buttons[0]["callback_data"], f"cq-{chat_id}"))
    details = api.wait_for(lambda: api.sent(chat_id)[shown:], what="the product details")

    # then: the tap is acknowledged, then the product is described
    [answer] = [c for c in api.calls_to("answerCallbackQuery")
                if c.params["callback_query_id"] == f"cq-{chat_id}"]
    assert answer.at <= details[0].at
    first = web["cards"][0]
    assert details[0].params["text"].startswith(f"{first['name']} — {first['price']} EUR.")


def test_start_greets_and_help_explains(worker: subprocess.Popen[bytes],
                                        api: FakeBotApi) -> None:
    chat_id = next(chat_ids)
    api.push(text_update(chat_id, "/start"))
    api.wait_for(lambda: api.sent(chat_id), what="the greeting")
    api.push(text_update(chat_id, "/help"))
    api.wait_for(lambda: len(api.sent(chat_id)) >= 2, what="the help text")
    greeting, help_text = texts(api.sent(chat_id))
    assert "welcome" in greeting.lower() and help_text == HELP_TEXT


def test_a_returning_shopper_hears_picks_as_photo_cards_with_their_reasons(
        stack: Stack, worker: subprocess.Popen[bytes], api: FakeBotApi) -> None:
    # given: this chat's shopper bought and paid a mug before (through the shop's API)
    chat_id = next(chat_ids)
    shopper, order = mug_ordered(stack, chat_id, {
        "name": "Kai Berg", "line1": "Storgata 1", "city": "Oslo", "postal_code": "0155",
        "country": "NO"})
    link = httpx.post(f"{stack.app_url}/api/orders/{order['id']}/payment", timeout=30,
                      headers={**SERVICE, "Idempotency-Key": f"tg-{chat_id}"}).json()
    assert httpx.post(link["url"], data=GOOD_CARD, timeout=60).status_code == 200
    api.wait_for(lambda: httpx.get(f"{stack.app_url}{shopper}/orders/{order['number']}",
                                   headers=SERVICE, timeout=30).json()["status"] == "paid",
                 what="the order paid")
    expected = httpx.get(f"{stack.app_url}/api/recommendations", headers=SERVICE, timeout=30,
                         params={"shopper": f"telegram:{conversation_id_for(chat_id)}",
                                 "limit": 3}).json()["results"]
    # when the shopper starts the chat again
    api.push(text_update(chat_id, "/start"))
    api.wait_for(lambda: len(api.calls_to("sendPhoto", chat_id)) >= len(expected),
                 what="the picks")
    # then: the greeting, then each pick as a product photo with its reason under the price
    greeting, *photos = api.sent(chat_id)
    assert greeting.params["text"] == "Welcome back! Picked for you, from what you chose before:"
    assert [p.params["caption"] for p in photos] == [
        f"{r['name']}\n{format_price(r['price'], r['currency'])} · In stock\n{r['reason']}"
        for r in expected]
    assert all([b["text"] for b in p.buttons] == ["Tell me more", "Personalise", "Add to cart"]
               for p in photos)


def test_a_flood_answer_on_send_is_retried_and_the_reply_arrives(
        worker: subprocess.Popen[bytes], api: FakeBotApi) -> None:
    chat_id = next(chat_ids)
    api.fail_next("sendMessage", 1)  # 429, retry after 1 s
    api.push(text_update(chat_id, "hello"))
    attempts = api.wait_for(lambda: api.calls_to("sendMessage", chat_id)[1:] and
                            api.calls_to("sendMessage", chat_id), what="the retried greeting")
    assert len(attempts) == 2 and attempts[0].params["text"] == attempts[1].params["text"]
    assert "welcome" in attempts[1].params["text"].lower()
    assert attempts[1].at - attempts[0].at >= 0.95


def test_webhook_with_the_secret_is_answered_by_the_bot(stack: Stack) -> None:
    api = FakeBotApi().start()
    settings = GatewaySettings(
        rasa_url=f"http://127.0.0.1:{stack.rasa_port}", public_url=PUBLIC_URL,
        telegram_token=TOKEN, telegram_mode="webhook", telegram_webhook_secret=SECRET,
        telegram_api_url=api.base_url, telegram_file_url=api.file_url,
        identity_secret=IDENTITY_SECRET)
    accepted, refused = next(chat_ids), next(chat_ids)
    try:
        with TestClient(webhook_gateway(settings)) as client:
            api.wait_for(lambda: api.calls_to("setWebhook"), what="setWebhook")

            def post(chat_id: int, text: str, secret: str) -> int:
                update = {"update_id": chat_id, **text_update(chat_id, text)}
                return client.post("/telegram/webhook", json=update,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": secret}
                                   ).status_code

            assert post(refused, "hi", SECRET.upper()) == 403
            assert post(accepted, "hi", SECRET) == 200
            [greeting] = api.wait_for(lambda: api.sent(accepted), what="the greeting")
            assert "welcome" in greeting.params["text"].lower()
            history = webhook_recorded(client, conversation_id_for(accepted))
            assert [(m["role"], m["text"]) for m in history][:1] == [("shopper", "hi")]
            assert history[1]["text"] == greeting.params["text"]

            assert api.sent(refused) == [] and api.calls_to("sendChatAction", refused) == []
            assert webhook_recorded(client, conversation_id_for(refused)) == []
    finally:
        api.stop()


def test_a_shopper_reviews_a_delivered_mug_with_a_star_button_and_a_comment(
        stack: Stack, worker: subprocess.Popen[bytes], api: FakeBotApi,
        merchant: dict[str, str]) -> None:
    # given: this chat's shopper paid for a mug that was shipped, and has now arrived
    chat_id = next(chat_ids)
    shopper, order = mug_ordered(stack, chat_id, {
        "name": "Lea Roth", "line1": "Hauptstr. 5", "city": "Berlin", "postal_code": "10115",
        "country": "DE"})
    test_journey_service.pay(stack, order)
    test_journey_service.ship(stack, merchant, order)
    deliver_everything_shipped(stack)
    # when: the shopper asks to review it, taps four stars, then writes a few words
    api.push(text_update(chat_id, "i want to review my mug"))
    [ask] = api.wait_for(lambda: api.sent(chat_id), what="the question for stars")
    assert ask.params["text"].startswith("How many stars would you give the ")
    assert [b["text"] for b in ask.buttons] == ["★★★★★", "★★★★", "★★★", "★★", "★"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in ask.buttons)
    api.push(button_update(chat_id, ask.buttons[1]["callback_data"], f"cq-r-{chat_id}"))
    [question] = api.wait_for(lambda: api.sent(chat_id)[1:], what="the comment question")
    api.push(text_update(chat_id, "Lovely glaze, sits well in the hand"))
    [thanks] = api.wait_for(lambda: api.sent(chat_id)[2:], what="the thanks")
    # then
    assert question.params["text"].startswith("Thank you! Would you like to add a few words")
    assert thanks.params["text"].startswith("Thank you! Your ★★★★☆ review of the ")
    [line] = httpx.get(f"{stack.app_url}{shopper}/reviews", headers=SERVICE, timeout=30).json()
    assert (line["order_number"], line["review"]["rating"], line["review"]["comment"]) == (
        order["number"], 4, "Lovely glaze, sits well in the hand")
