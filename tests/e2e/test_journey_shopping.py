"""Shopping journeys through ``POST /api/chat`` with the real model, action server and app:
from "hi" to an order paid on the sandbox's hosted payment page."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.channels.web_chat import chat_body
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e
SERVICE = {"Authorization": "Bearer change-me"}
GOOD_CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "12/39",
             "cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "number": "4000 0000 0000 0002"}


class Chat:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.id = f"journey-{uuid.uuid4().hex[:10]}"

    def say(self, text: str, payload: str | None = None) -> list[dict[str, Any]]:
        body = chat_body(self.id, text)
        if payload is not None:
            body["payload"] = payload
        response = httpx.post(f"{self.stack.app_url}/api/chat", json=body, timeout=90)
        assert response.status_code == 200, response.text
        messages = response.json()["messages"]
        assert messages and all(m["role"] == "bot" for m in messages), messages
        return messages

    def press(self, button: dict[str, str]) -> list[dict[str, Any]]:
        return self.say(button["title"], payload=button["payload"])

    def api(self, path: str) -> Any:
        response = httpx.get(f"{self.stack.app_url}/api{path}", headers=SERVICE, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def cart(self) -> dict[str, Any]:
        return self.api(f"/shoppers/web/{self.id}/cart")

    def order(self, number: str) -> dict[str, Any]:
        return self.api(f"/shoppers/web/{self.id}/orders/{number}")


def text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] or "" for m in messages)


def cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [c for m in messages for c in m["cards"]]
    assert found, text(messages)
    return found


def button(messages: list[dict[str, Any]], title: str) -> dict[str, str]:
    for message in messages:
        for b in message["buttons"] + [b for c in message["cards"] for b in c["buttons"]]:
            if b["title"] == title:
                return b
    raise AssertionError(f"no button {title!r} in {messages}")


def check_out(chat: Chat, *, email: str, name: str, address: str) -> tuple[str, str]:
    """Give the details, confirm, and return (order number, payment link)."""
    assert "What email address" in text(chat.say("checkout"))
    assert "Whose name" in text(chat.say(email))
    assert "Where should we send it?" in text(chat.say(name))
    confirm = chat.say(address)
    assert "Shall I place the order?" in text(confirm), text(confirm)
    placed = chat.say("yes")
    link = next(m["link"] for m in placed if m["link"])
    number = text(placed).split("Order ", 1)[1].split(" ", 1)[0]
    assert link["url"].startswith(f"{chat.stack.app_url}/pay/")
    return number, link["url"]


def pay(chat: Chat, url: str, number: str, card: dict[str, str] = GOOD_CARD) -> int:
    """Pay on the hosted page over HTTP; returns the page's status."""
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200
    total = chat.order(number)["total"]
    assert total in page.text
    return httpx.post(url, data=card, timeout=60).status_code


def wait_paid(chat: Chat, number: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        order = chat.order(number)
        if order["status"] == "paid" or time.monotonic() > deadline:
            return order
        time.sleep(0.3)


def test_a_gift_found_through_the_preferences_form_is_bought_and_paid(stack: Stack) -> None:
    chat = Chat(stack)
    assert "welcome" in text(chat.say("hi")).lower()
    # only the missing preference is asked
    asked = chat.say("a gift for my sister, she likes blue, under 60 euros")
    assert text(asked) == "What kind of piece are you thinking of?"
    found = chat.say("jewellery")
    for card in cards(found):
        assert Decimal(card["price"]) <= 60
        assert chat.api(f"/products/{card['id']}")["category"] == "jewellery"
    # refinements reuse the search
    cheaper = chat.say("show me cheaper ones")
    assert text(cheaper).startswith(("Here are cheaper ones, up to ", "I found nothing"))
    similar = chat.say("more like the second one")
    assert text(similar) == "Here are more like that one:"
    chosen = cards(similar)[0]
    added = chat.press(button(similar, "Add to cart"))
    assert text(added).startswith(f"Added 1 × {chosen['name']} to your cart.")
    number, url = check_out(chat, email="ada@example.com", name="Ada Lovelace",
                            address="12 rue des Lilas, 75011 Paris, France")
    order = chat.order(number)
    assert order["status"] == "pending_payment"
    assert [line["name"] for line in order["lines"]] == [chosen["name"]]
    assert pay(chat, url, number) == 200
    paid = wait_paid(chat, number)
    assert (paid["status"], paid["payment_status"]) == ("paid", "paid")


def test_a_personalised_mug_is_quoted_refused_in_the_rules_words_and_paid(
        stack: Stack) -> None:
    chat = Chat(stack)
    chat.say("hello")
    found = chat.say("show me blue ceramic mugs")
    first = cards(found)[0]
    started = chat.say("i want to personalise the first one")
    assert text(started).startswith(f"Let's personalise {first['name']}.")
    assert "Glaze colour" in text(started)
    assert "Hand-painted inscription" in text(chat.say("sage green"))
    refused = chat.say("Happy birthday to the best mum in the world")
    assert text(refused).startswith(
        "Sorry, that won't work: Hand-painted inscription can be at most 20 characters long.")
    assert "gold lustre rim" in text(chat.say("'Best Mum'"))
    assert "gift box with tissue and card" in text(chat.say("no"))
    quote = chat.say("yes")
    assert "hand-painted inscription: Best Mum (+6.00 EUR)" in text(quote)
    assert "ready by " in text(quote) and text(quote).endswith("Shall I add it to your cart?")
    assert text(chat.say("yes please")).startswith(f"Added 1 × {first['name']}")
    viewed = text(chat.say("what's in my cart"))
    assert "glaze: sage green; inscription: Best Mum; gift box: yes" in viewed
    # the address is given, confirmed, then changed before ordering
    chat.say("checkout")
    chat.say("ada@example.com")
    chat.say("Ada Lovelace")
    assert "Shipping to: Ada Lovelace, 12 rue des Lilas, 75011 Paris, FR" in text(
        chat.say("12 rue des Lilas, 75011 Paris, France"))
    chat.press({"title": "Change the address", "payload": "/change_shipping_address"})
    chat.say("Ada Lovelace")
    confirm = chat.say("Kastanienallee 10, 10435 Berlin, Germany")
    assert "Shipping to: Ada Lovelace, Kastanienallee 10, 10435 Berlin, DE" in text(confirm)
    placed = chat.say("yes")
    number = text(placed).split("Order ", 1)[1].split(" ", 1)[0]
    url = next(m["link"] for m in placed if m["link"])["url"]
    order = chat.order(number)
    assert order["shipping_address"]["country"] == "DE"
    assert order["lines"][0]["options"] == {"glaze": "sage green", "inscription": "Best Mum",
                                            "gift_box": True}
    assert pay(chat, url, number) == 200
    assert wait_paid(chat, number)["status"] == "paid"


def test_interruptions_in_forms_then_a_declined_card_and_a_paid_order(stack: Stack) -> None:
    chat = Chat(stack)
    assert text(chat.say("something handmade for my mum")) == (
        "What kind of piece are you thinking of?")
    # a question in the middle of the form is answered, then the form asks again
    answered = chat.say("how long does shipping take?")
    assert "working days" in text(answered)
    assert answered[-1]["text"] == "What kind of piece are you thinking of?"
    assert text(chat.say("a candle")) == "What budget do you have in mind?"
    # order status and back
    status = chat.say("where is my order?")
    assert status[-1]["text"] == "What budget do you have in mind?"
    assert "Any colour or style" in text(chat.say("under 40 euros"))
    found = chat.say("no preference")
    assert all(Decimal(c["price"]) <= 40 for c in cards(found))
    green = chat.say("in green")
    in_stock = [c for c in cards(green) if c["in_stock"]]
    chat.press(button([{**green[0], "cards": in_stock[:1]}], "Add to cart"))
    assert text(chat.say("make it 2")).startswith(f"Done: 2 × {in_stock[0]['name']}")
    assert [line["quantity"] for line in chat.cart()["lines"]] == [2]
    # stop leaves the checkout; the cart is kept
    chat.say("checkout")
    assert text(chat.say("stop")).startswith("OK, I've stopped the checkout.")
    assert chat.cart()["item_count"] == 2
    number, url = check_out(chat, email="lea@example.fr", name="Lea Dupont",
                            address="8 avenue Jean Jaures, 69007 Lyon, France")
    assert pay(chat, url, number, DECLINED_CARD) == 402
    assert chat.order(number)["status"] == "pending_payment"
    assert pay(chat, url, number) == 200
    assert wait_paid(chat, number)["status"] == "paid"


def test_cart_changes_and_shopper_facing_refusals(stack: Stack) -> None:
    chat = Chat(stack)
    empty = chat.say("checkout")
    assert text(empty).startswith("Your cart is empty")
    found = chat.say("show me silver rings")
    first, second = cards(found)[:2]
    for ask in ("add the first one to my cart", "add two of the second one"):
        added = chat.say(ask)
        if text(added).startswith("Which size would you like?"):  # a ring made in sizes
            chat.press(added[0]["buttons"][0])
    lines = chat.cart()["lines"]
    assert sorted((x["name"], x["quantity"]) for x in lines) == sorted(
        [(first["name"], 1), (second["name"], 2)])
    removed = chat.say("remove the first one")
    assert text(removed).startswith(f"I removed {lines[0]['name']}")
    assert [x["quantity"] for x in chat.cart()["lines"]] == [lines[1]["quantity"]]
    too_many = text(chat.say("make it 60"))
    assert too_many.startswith("Only ") and too_many.endswith(" left in stock."), too_many
    assert [x["quantity"] for x in chat.cart()["lines"]] == [lines[1]["quantity"]]
    unknown = chat.say("Add to cart", payload='/add_to_cart{"product_id": "99999"}')
    assert text(unknown) == "That product is no longer in the shop, sorry."


def test_a_piece_that_must_be_sized_is_personalised_then_paid(stack: Stack) -> None:
    chat = Chat(stack)
    assert text(chat.say("show me gold wedding rings")) == "What budget do you have in mind?"
    found = chat.say("no budget")
    band = next((c for c in cards(found) if c["sku"] == "JWL-RNG-010"), None)
    assert band is not None, [c["name"] for c in cards(found)]
    refused = chat.say("Add to cart", payload=f'/add_to_cart{{"product_id": "{band["id"]}"}}')
    assert text(refused) == ("Hammered 9ct Gold Wedding Band needs personalising first: "
                             "Ring size is required.")
    asked = chat.press(button(refused, "Personalise"))
    assert "Ring size" in text(asked)
    assert "Ring size is required." in text(chat.say("no"))
    answers = ["size m", "no", "no", "3 mm", "A & B"]  # then resizing, gift box, width, text
    for answer in answers:
        reply = chat.say(answer)
        if "Shall I add it to your cart?" in text(reply):
            break
    assert "ring size: m; band width: 3 mm (+60.00 EUR)" in text(reply), text(reply)
    assert text(chat.say("yes")).startswith("Added 1 × Hammered 9ct Gold Wedding Band")
    number, url = check_out(chat, email="sam@example.com", name="Sam Taylor",
                            address="221B Baker Street, London NW1 6XE, UK")
    order = chat.order(number)
    assert order["lines"][0]["options"]["band_size"] == "m"
    assert order["shipping_address"]["country"] == "GB"
    assert pay(chat, url, number) == 200
    assert wait_paid(chat, number)["status"] == "paid"
