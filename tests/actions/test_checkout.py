"""Checkout against the real commerce API app: details, confirmation, the order and the
payment link, paid on the sandbox's hosted page."""


import httpx
import pytest

from actions.checkout import (
    ActionChangeCheckoutDetails,
    ActionConfirmCheckout,
    ActionPlaceOrder,
    ActionStartCheckout,
    ValidateCheckoutForm,
    parse_address,
)
from actions.clients import Address
from tests.actions.shopping_helpers import (
    CARD,
    SERVICE,
    SHOPPER,
    Shop,
    entity,
    run,
    slots_of,
    tracker,
    unreachable_client,
    validate,
)
from tests.actions.wording import UNAVAILABLE

ADDRESS = {"name": "Ada Lovelace", "line1": "12 rue des Arts", "line2": "",
           "city": "Lyon", "postal_code": "69001", "country": "FR"}
DETAILS = {"email": "ada@example.com", "full_name": "Ada Lovelace", "shipping_address": ADDRESS}


def test_an_empty_cart_is_not_checked_out(shop: Shop) -> None:
    messages, events = run(ActionStartCheckout(shop.client()), tracker("checkout", "checkout"))
    assert messages[0]["text"].startswith("Your cart is empty")
    assert slots_of(events) == {"can_checkout": False}


def test_a_cart_with_items_starts_the_checkout(shop: Shop) -> None:
    shop.add("CER-MUG-001")
    messages, events = run(ActionStartCheckout(shop.client()), tracker("checkout", "checkout"))
    assert messages[0]["text"].endswith("Let's check out.")
    assert slots_of(events) == {"can_checkout": True}
    messages, events = run(ActionStartCheckout(unreachable_client()),
                           tracker("checkout", "checkout"))
    assert [m["text"] for m in messages] == [UNAVAILABLE]
    assert slots_of(events) == {"can_checkout": False}


@pytest.mark.parametrize(("text", "expected"), [
    ("my email is Ada.L@Example.COM", "Ada.L@example.com"),
    ("ada@example.com thanks", "ada@example.com"),
])
def test_an_email_is_read_from_the_answer(text: str, expected: str) -> None:
    assert validate(ValidateCheckoutForm(), tracker(text, "inform"), "email", text)[1] == {
        "email": expected}


def test_a_wrong_email_and_a_wrong_name_are_asked_again() -> None:
    messages, slots = validate(ValidateCheckoutForm(), tracker("ada at home", "inform"),
                               "email", "ada at home")
    assert slots == {"email": None}
    assert [m["response"] for m in messages] == ["utter_email_not_valid"]
    assert validate(ValidateCheckoutForm(), tracker("my name is Ada Lovelace", "inform"),
                    "full_name", "my name is Ada Lovelace")[1] == {"full_name": "Ada Lovelace"}
    messages, slots = validate(ValidateCheckoutForm(), tracker("42", "inform"), "full_name",
                               "42")
    assert slots == {"full_name": None}
    assert [m["response"] for m in messages] == ["utter_name_not_valid"]


@pytest.mark.parametrize(("text", "expected"), [
    ("12 rue des Arts, 69001 Lyon, France", ("12 rue des Arts", "", "69001", "Lyon", "FR")),
    ("Flat 3, 140 High Street, Bristol BS1 2AW, United Kingdom",
     ("Flat 3", "140 High Street", "BS1 2AW", "Bristol", "GB")),
    ("ship it to Kastanienallee 10, 10435 Berlin, DE",
     ("Kastanienallee 10", "", "10435", "Berlin", "DE")),
])
def test_addresses_are_parsed(text: str, expected: tuple[str, ...]) -> None:
    address = parse_address(text, name="Ada Lovelace")
    assert isinstance(address, Address), address
    assert (address.line1, address.line2, address.postal_code, address.city,
            address.country) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("12 rue des Arts", "I need a street, a postcode with the city and a country."),
    ("12 rue des Arts, 69001 Lyon, Narnia", 'I don\'t know the country "Narnia"'),
    ("742 Evergreen Terrace, Springfield, USA",
     'I couldn\'t find a postcode and city in "Springfield".'),
])
def test_an_incomplete_address_says_what_is_missing(text: str, problem: str) -> None:
    messages, slots = validate(ValidateCheckoutForm(), tracker(text, "inform", slots={
        "full_name": "Ada Lovelace"}), "shipping_address", text)
    assert slots == {"shipping_address": None}
    assert messages[0]["text"].startswith(problem)


def test_the_confirmation_shows_cart_address_and_email(shop: Shop) -> None:
    shop.add("CER-MUG-001", 2)
    messages, events = run(ActionConfirmCheckout(shop.client()),
                           tracker("x", "inform", slots=DETAILS))
    text = messages[0]["text"]
    assert "1. Hand-Thrown Ceramic Mug — Cobalt Blue × 2 — 64.00 EUR" in text
    assert "Shipping to: Ada Lovelace, 12 rue des Arts, 69001 Lyon, FR\n" in text
    assert text.endswith("Email: ada@example.com\nShall I place the order?")
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/affirm", "/change_shipping_address", "/inform"]
    assert events == []


def test_details_can_be_changed() -> None:
    _, events = run(ActionChangeCheckoutDetails(), tracker(
        "/change_shipping_address", "change_shipping_address", slots=DETAILS))
    assert slots_of(events) == {"full_name": None, "shipping_address": None}
    _, events = run(ActionChangeCheckoutDetails(), tracker(
        "use ada@lovelace.org instead", "inform", [entity("email", "ada@lovelace.org")],
        slots=DETAILS))
    assert slots_of(events) == {"email": "ada@lovelace.org"}
    _, events = run(ActionChangeCheckoutDetails(), tracker("/inform", "inform", slots=DETAILS))
    assert slots_of(events) == {"email": None}


def test_placing_the_order_sends_a_payment_link_that_pays_it(shop: Shop) -> None:
    # given
    shop.add("CER-MUG-001", 2)
    # when
    messages, events = run(ActionPlaceOrder(shop.client()),
                           tracker("/affirm", "affirm", slots=DETAILS))
    # then
    pending = slots_of(events)["pending_order"]
    order = shop.http.get(f"/api/shoppers/web/{SHOPPER}/orders/{pending['number']}",
                          headers=SERVICE).json()
    assert order["status"] == "pending_payment" and order["email"] == "ada@example.com"
    assert order["shipping_address"]["postal_code"] == "69001"
    assert messages[0]["text"].startswith(
        f"Thank you! Order {order['number']} is placed: {order['total']} EUR including "
        "shipping and VAT. The items are reserved for you until ")
    link = messages[0]["custom"]["link"]
    assert link["title"] == f"Pay {order['total']} EUR"
    assert httpx.URL(link["url"]).path.startswith("/pay/")
    assert shop.cart()["lines"] == []
    # the shopper pays on the hosted page
    paid = shop.http.post(httpx.URL(link["url"]).path, data=CARD)
    assert paid.status_code == 200
    order = shop.http.get(f"/api/shoppers/web/{SHOPPER}/orders/{pending['number']}",
                          headers=SERVICE).json()
    assert order["status"] == "paid"


def test_a_link_that_could_not_be_sent_is_sent_on_the_next_checkout(shop: Shop) -> None:
    shop.add("CER-MUG-001")
    _, events = run(ActionPlaceOrder(shop.client()), tracker("/affirm", "affirm", slots=DETAILS))
    pending = slots_of(events)["pending_order"]
    messages, events = run(ActionStartCheckout(shop.client()), tracker(
        "checkout", "checkout", slots={"pending_order": pending}))
    assert messages[0]["text"] == f"Your order {pending['number']} is waiting for payment."
    assert "/pay/" in messages[0]["custom"]["link"]["url"]
    assert slots_of(events) == {"can_checkout": False}


def test_an_empty_cart_at_the_last_moment_and_api_down(shop: Shop) -> None:
    messages, events = run(ActionPlaceOrder(shop.client()),
                           tracker("/affirm", "affirm", slots=DETAILS))
    assert [m["text"] for m in messages] == [
        "Your cart is empty, so there is nothing to check out yet."]
    assert events == []
    messages, events = run(ActionPlaceOrder(unreachable_client()),
                           tracker("/affirm", "affirm", slots=DETAILS))
    assert [m["text"] for m in messages] == [UNAVAILABLE] and events == []
