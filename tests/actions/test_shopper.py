"""An action acts only for the shopper the gateway signed for in this conversation.

A tracker whose latest message carries no valid shopper assertion (none, a bare claim, a
forged or expired one, one signed for another conversation or with another secret) acts
for nobody: the shopper is told so politely, and no cart or order is read or changed. Real
shop app in process, real actions.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker

from actions.cart import ActionViewCart
from actions.clients import CommerceClient
from actions.config import ActionSettings
from actions.order_changes import ActionConfirmOrderChange
from actions.orders import ActionOrderStatus
from actions.shopper import NOBODY, Shopper, UnverifiedShopper, shopper_of
from tests.actions.service_helpers import (
    SERVICE,
    SHOPPER,
    Shop,
    bot_turn,
    entity,
    run,
    user,
)
from tests.actions.signing import signed_metadata

CLAIM = {"shopper": {"channel": "web", "external_id": SHOPPER}}


def forged() -> dict[str, Any]:
    metadata = signed_metadata(SHOPPER)
    metadata["shopper"]["signature"] = "0" * 64
    return metadata


NO_VALID_ASSERTION = {
    "no metadata": lambda: {},
    "a bare claim": lambda: CLAIM,
    "a forged signature": forged,
    "signed for another conversation": lambda: signed_metadata("someone-else",
                                                               external_id=SHOPPER),
    "signed three minutes ago": lambda: signed_metadata(SHOPPER, now=time.time() - 180),
    "signed with another secret": lambda: signed_metadata(SHOPPER, secret="x" * 32),
}


pytestmark = pytest.mark.service_shop


def said(*events: dict[str, Any], metadata: dict[str, Any], sender: str = SHOPPER,
         slots: dict[str, Any] | None = None) -> Tracker:
    """The tracker Rasa would send, its latest message carrying ``metadata``."""
    latest = {**events[-1]["parse_data"], "metadata": metadata}
    return Tracker(sender_id=sender, slots=slots or {}, latest_message=latest,
                   events=list(events), paused=False, followup_action=None, active_loop={},
                   latest_action_name="action_listen")


def commerce(shop: Shop) -> CommerceClient:
    return CommerceClient(ActionSettings(api_url="http://shop/api"),
                          transport=httpx.ASGITransport(app=shop.app))


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


def test_the_signed_shopper_of_this_conversation_is_the_shopper() -> None:
    tracker = said(user("hi", "greet"), metadata=signed_metadata(
        "conv-7", channel="telegram", external_id="tg-7"), sender="conv-7")
    assert shopper_of(tracker) == Shopper("telegram", "tg-7")


@pytest.mark.parametrize("case", NO_VALID_ASSERTION)
def test_without_a_valid_assertion_there_is_no_shopper(case: str) -> None:
    tracker = said(user("hi", "greet"), metadata=NO_VALID_ASSERTION[case]())
    with pytest.raises(UnverifiedShopper):
        shopper_of(tracker)


@pytest.mark.parametrize("case", NO_VALID_ASSERTION)
def test_a_tracker_without_a_valid_assertion_reads_and_cancels_nothing(shop: Shop,
                                                                       case: str) -> None:
    # given: the shopper of this conversation has an unpaid order and a mug in the cart
    order = shop.order()
    number = order["number"]
    added = shop.client.post(f"/api/shoppers/web/{SHOPPER}/cart/lines", headers=SERVICE,
                             json={"sku": "CER-MUG-001", "quantity": 1})
    assert added.status_code == 201, added.text
    metadata = NO_VALID_ASSERTION[case]
    # when: someone posts trackers of this very conversation without a valid assertion
    cart, _ = run(ActionViewCart(commerce(shop)),
                  said(user("what's in my cart", "view_cart"), metadata=metadata()))
    status, _ = run(ActionOrderStatus(shop.aftersale()), said(
        user(f"where is {number}", "order_status", [entity("order_number", number)]),
        metadata=metadata()))
    cancelled, events = run(ActionConfirmOrderChange(shop.aftersale()), said(
        *bot_turn("action_cancel_order"), user("/affirm", "affirm"), metadata=metadata(),
        slots={"pending_change": f"cancel:{number}"}))
    # then: each is told politely that the bot cannot act, and nothing is read or changed
    assert texts(cart) == [NOBODY]
    assert texts(status) == [NOBODY]
    assert texts(cancelled) == [NOBODY]
    assert events == []
    kept = shop.client.get(f"/api/shoppers/web/{SHOPPER}/orders/{number}",
                           headers=SERVICE).json()
    assert kept["status"] == "pending_payment"


def test_the_same_trackers_signed_by_the_gateway_act_for_the_shopper(shop: Shop) -> None:
    # given
    number = shop.order()["number"]
    # when
    status, _ = run(ActionOrderStatus(shop.aftersale()), said(
        user(f"where is {number}", "order_status", [entity("order_number", number)]),
        metadata=signed_metadata(SHOPPER)))
    cancelled, _ = run(ActionConfirmOrderChange(shop.aftersale()), said(
        *bot_turn("action_cancel_order"), user("/affirm", "affirm"),
        metadata=signed_metadata(SHOPPER), slots={"pending_change": f"cancel:{number}"}))
    # then
    assert texts(status)[0].startswith(f"Order {number} is waiting for payment.")
    assert texts(cancelled) == [f"Done — order {number} is cancelled. Nothing was charged."]
