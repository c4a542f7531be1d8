""""Yes, place the order" replayed (the action server died after the order was placed and
the gateway sends the shopper's turn again): the same answer, one order."""


from rasa_sdk import Tracker

from actions.checkout import ActionPlaceOrder, checkout_key
from tests.actions.shopping_helpers import (
    SERVICE,
    SHOPPER,
    Shop,
    run,
    slots_of,
    tracker,
)

ADDRESS = {"name": "Ada Lovelace", "line1": "12 rue des Arts", "line2": "",
           "city": "Lyon", "postal_code": "69001", "country": "FR"}
DETAILS = {"email": "ada@example.com", "full_name": "Ada Lovelace", "shipping_address": ADDRESS}


def affirm(turn_id: str | None) -> Tracker:
    t = tracker("/affirm", "affirm", slots=DETAILS)
    if turn_id is not None:
        t.latest_message["metadata"]["turn_id"] = turn_id
    return t


def test_a_replayed_turn_gets_the_order_it_placed(shop: Shop) -> None:
    # given: a cart, and the turn "yes, place the order" that ran once already
    shop.add("CER-MUG-001", 2)
    first_messages, first_events = run(ActionPlaceOrder(shop.client()),
                                       affirm("9f0c6a1e2b7d4e55"))
    # when: the same turn runs again (Rasa kept nothing of the first run)
    messages, events = run(ActionPlaceOrder(shop.client()), affirm("9f0c6a1e2b7d4e55"))
    # then: the shopper is told what the first run would have told them, one order exists
    orders = shop.http.get(f"/api/shoppers/web/{SHOPPER}/orders", headers=SERVICE).json()
    assert [o["number"] for o in orders] == [slots_of(events)["pending_order"]["number"]]
    assert slots_of(events) == slots_of(first_events)
    assert messages[0]["text"] == first_messages[0]["text"]
    assert messages[0]["text"].startswith(f"Thank you! Order {orders[0]['number']} is placed")
    assert messages[0]["custom"]["link"] == first_messages[0]["custom"]["link"]


def test_another_turn_is_another_checkout(shop: Shop) -> None:
    shop.add("CER-MUG-001")
    run(ActionPlaceOrder(shop.client()), affirm("1111aaaa2222bbbb"))
    messages, events = run(ActionPlaceOrder(shop.client()), affirm("3333cccc4444dddd"))
    assert [m["text"] for m in messages] == [
        "Your cart is empty, so there is nothing to check out yet."]
    orders = shop.http.get(f"/api/shoppers/web/{SHOPPER}/orders", headers=SERVICE).json()
    assert len(orders) == 1 and events == []


def test_the_key_is_the_gateways_turn_id() -> None:
    assert checkout_key(affirm("9f0c6a1e2b7d4e55")) == "turn-9f0c6a1e2b7d4e55"
    for odd in (None, "", "short", "x" * 65, "has space in it", "ünïcode-turn-id"):
        assert checkout_key(affirm(odd)) is None
