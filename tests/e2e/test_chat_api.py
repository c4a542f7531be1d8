"""The walking-skeleton conversation through ``POST /api/chat``, real model, real actions."""

import uuid

import httpx
import pytest

from tests.channels.web_chat import chat_body, owner
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def say(stack: Stack, conversation_id: str, text: str) -> list[dict]:
    response = httpx.post(f"{stack.app_url}/api/chat", timeout=60,
                          json=chat_body(conversation_id, text))
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_greeting_then_blue_ceramic_mugs_from_the_catalog(stack: Stack) -> None:
    conversation = f"e2e-{uuid.uuid4().hex[:8]}"

    greeting = say(stack, conversation, "hi")
    assert greeting[0]["role"] == "bot"
    assert "welcome" in greeting[0]["text"].lower()
    assert [b["title"] for b in greeting[0]["buttons"]][:1] == ["Ceramic mugs"]

    answer = say(stack, conversation, "show me blue ceramic mugs")
    assert len(answer) == 1
    cards = answer[0]["cards"]
    assert answer[0]["text"] and len(cards) >= 3
    for card in cards:
        assert {"id", "sku", "name", "price", "currency", "image_url"} <= card.keys()
        product = httpx.get(f"{stack.app_url}/api/products/{card['id']}",
                            headers={"Authorization": "Bearer change-me"}).json()
        assert product["name"] == card["name"]
        assert card["sku"] in {v["sku"] for v in product["variants"]}
        attributes = product["attributes"]
        assert (attributes["type"], attributes["colour"], attributes["material"]) == (
            "mug", "blue", "ceramic")
        assert card["price"] == product["price"] and card["currency"] == "EUR"

    details = httpx.post(f"{stack.app_url}/api/chat", timeout=60, json=chat_body(
        conversation, "Tell me more", payload=cards[0]["buttons"][0]["payload"])
    ).json()["messages"]
    assert details[0]["text"].startswith(f"{cards[0]['name']} — {cards[0]['price']} EUR.")


def test_history_replays_the_whole_conversation(stack: Stack) -> None:
    conversation = f"e2e-{uuid.uuid4().hex[:8]}"
    say(stack, conversation, "hello")
    say(stack, conversation, "goodbye")
    history = httpx.get(f"{stack.app_url}/api/chat/{conversation}/history",
                        headers=owner(conversation)).json()
    assert [m["role"] for m in history] == ["shopper", "bot", "shopper", "bot"]
    assert [m["seq"] for m in history] == sorted(m["seq"] for m in history)
