"""After-sale actions against the real shop app in process (demo shop on SQLite)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet

from actions.clients.aftersale import AfterSaleClient, Order
from actions.discovery import ActionRefineSearch
from actions.fallback import ActionFallback
from actions.faq import ActionAnswerFaq
from actions.order_changes import (
    ActionCancelOrder,
    ActionChangeShippingAddress,
    ActionConfirmOrderChange,
    ActionRequestRefund,
    cancelled,
)
from actions.orders import ActionOrderLookup, ActionOrderStatus, without_number
from actions.shopper import Shopper
from commerce_core import clock
from commerce_core.config import get_settings
from commerce_core.order.service import expire_reservations
from commerce_core.payment.provider import EventType, PaymentRef, build_event
from commerce_core.payment.routes import get_provider
from tests.actions.responses import shown
from tests.actions.service_helpers import (
    SERVICE,
    SHOPPER,
    Shop,
    bot_turn,
    down_settings,
    entity,
    run,
    tracker,
    user,
)
from tests.actions.wording import ORDERS_UNAVAILABLE as UNAVAILABLE

pytestmark = pytest.mark.service_shop


YES_NO = [{"title": "Yes, please", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def status(number: str | None = None, text: str | None = None) -> Tracker:
    entities = [entity("order_number", number)] if number else []
    return tracker(user(text or f"where is my order {number or ''}".strip(), "order_status",
                        entities))


def test_status_of_an_unpaid_order_names_status_items_total_and_ready_date(shop: Shop) -> None:
    # given
    order = shop.order()
    ready = order["ready_by"]
    # when
    messages, events = run(ActionOrderStatus(shop.aftersale()), status(order["number"]))
    # then
    day = date.fromisoformat(ready)
    assert [(m["text"], m["buttons"], m["custom"]) for m in messages] == [(
        f"Order {order['number']} is waiting for payment.\n"
        f"Items: 1 × {order['lines'][0]['name']}.\n"
        f"Total: {order['total']} EUR.\n"
        f"Ready by {day.day} {day:%B %Y}.",
        [{"title": "Cancel this order",
          "payload": f'/cancel_order{{"order_number": "{order["number"]}"}}'}], {})]
    assert events == [SlotSet("order_number", order["number"]), SlotSet("lookup_number", None)]


def test_a_number_written_in_lower_case_without_entity_is_understood(shop: Shop) -> None:
    order = shop.order()
    messages, _ = run(ActionOrderStatus(shop.aftersale()),
                      status(text=f"status of {order['number'].lower()} please"))
    assert messages[0]["text"].startswith(f"Order {order['number']} is waiting for payment.")


def test_shipped_order_shows_carrier_tracking_number_and_events(shop: Shop) -> None:
    order = shop.order(ship=True)
    messages, events = run(ActionOrderStatus(shop.aftersale()), status(order["number"]))
    text = messages[0]["text"]
    parcel = asyncio.run(shop.aftersale().shipment(Shopper("web", SHOPPER), order["number"]))
    assert text.startswith(f"Order {order['number']} has been shipped.\nItems: 1 × ")
    assert "Ready by" not in text
    assert f"Carrier: simulated, tracking number {parcel.tracking_number}." in text
    assert "Latest tracking events:\n- " in text
    assert "Shipping label created, waiting for pick-up (Lyon, FR)" in text
    assert messages[0]["buttons"] == [{"title": "Return it", "payload":
                                       f'/request_refund{{"order_number": "{order["number"]}"}}'}]
    assert events[0] == SlotSet("order_number", order["number"])


def test_without_a_number_the_recent_orders_are_offered_as_buttons(shop: Shop) -> None:
    first, second = shop.order(), shop.order(sku="CER-MUG-001")
    messages, events = run(ActionOrderStatus(shop.aftersale()), status())
    assert messages[0]["text"] == "Which order do you mean?"
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        f'/order_status{{"order_number": "{n}"}}' for n in (second["number"], first["number"])]
    assert messages[0]["buttons"][0]["title"].startswith(f"{second['number']} · 1 × ")
    assert events == []


def test_with_one_order_and_no_number_that_order_is_shown(shop: Shop) -> None:
    order = shop.order()
    messages, _ = run(ActionOrderStatus(shop.aftersale()), status())
    assert messages[0]["text"].startswith(f"Order {order['number']} is waiting for payment.")


def test_no_orders_at_all(shop: Shop) -> None:
    messages, events = run(ActionOrderStatus(shop.aftersale()), status())
    assert [m["text"] for m in messages] == [
        "I can't see any order placed from this chat. If you ordered on another device, "
        "tell me the order number (it looks like AT-7K2M9Q)."]
    assert events == []


def test_somebody_elses_order_reads_as_not_found_then_number_and_email_find_it(shop: Shop
                                                                              ) -> None:
    # given: the order was placed from another chat
    order = shop.order(shopper="laptop-session")
    # when
    messages, events = run(ActionOrderStatus(shop.aftersale()), status(order["number"]))
    # then
    assert [m["text"] for m in messages] == [
        f"I can't find an order {order['number']} for you. If you placed it from another "
        "device or chat, tell me the email address you used for it and I'll look it up."]
    assert events == [SlotSet("lookup_number", order["number"])]
    # when: a wrong email, then the right one
    wrong = tracker(user("ada@example.com", "inform", [entity("email", "ada@example.com")]),
                    slots={"lookup_number": order["number"]})
    messages, events = run(ActionOrderLookup(shop.aftersale()), wrong)
    assert [(m["response"], m["number"], m["email"]) for m in messages] == [
        ("utter_order_lookup_not_found", order["number"], "ada@example.com")]
    assert events == [SlotSet("lookup_number", order["number"])]  # kept for another email
    right = tracker(user("it's laptop-session@example.com", "inform"),
                    slots={"lookup_number": order["number"]})
    messages, events = run(ActionOrderLookup(shop.aftersale()), right)
    assert messages[0]["text"].startswith(f"Order {order['number']} is waiting for payment.")
    assert events == [SlotSet("lookup_number", None), SlotSet("lookup_email", None)]


def test_an_email_given_before_the_number_is_kept_for_the_lookup(shop: Shop) -> None:
    """"jane@example.com" typed with nothing going is not a search preference: the bot
    asks for the order's number, then looks the order up with that email."""
    # given: an order placed from another chat
    order = shop.order(shopper="laptop-session")
    email = "laptop-session@example.com"
    # when: the email comes first, read as a preference
    messages, events = run(ActionRefineSearch(), tracker(
        user(email, "inform", [entity("email", email)])))
    assert [(m["response"], m["email"]) for m in messages] == [
        ("utter_email_without_order", email)]
    assert events == [SlotSet("lookup_email", email)]
    # then: the number alone finds the order
    number = order["number"]
    messages, events = run(ActionOrderStatus(shop.aftersale()),
                           tracker(user(number, "order_status", [entity("order_number", number)]),
                                   slots={"lookup_email": email}))
    assert (messages, events) == ([], [SlotSet("lookup_number", number),
                                       FollowupAction("action_order_lookup")])
    messages, events = run(ActionOrderLookup(shop.aftersale()), tracker(
        user(number, "order_status", [entity("order_number", number)]),
        slots={"lookup_email": email, "lookup_number": number}))
    assert messages[0]["text"].startswith(f"Order {number} is waiting for payment."), messages
    assert events == [SlotSet("lookup_number", None), SlotSet("lookup_email", None)]


def test_an_email_while_a_lookup_waits_for_one_goes_to_the_lookup() -> None:
    messages, events = run(ActionRefineSearch(), tracker(
        user("ada@example.com", "inform", [entity("email", "ada@example.com")]),
        slots={"lookup_number": "AT-7K2M9Q"}))
    assert (messages, events) == ([], [FollowupAction("action_order_lookup")])


@pytest.mark.parametrize(("text", "given"), [
    ("AT-99999", "AT-99999"),
    ("whats the ETA of order 448120993817?", "448120993817"),
    ("it's #448120993817 from ebay", "#448120993817"),
])
def test_a_number_that_is_not_ours_is_said_to_be_so(shop: Shop, text: str,
                                                    given: str) -> None:
    shop.order()  # the shopper has an order here; the number is not its number
    for action, intent in ((ActionOrderStatus, "order_status"), (ActionOrderLookup, "inform")):
        messages, events = run(action(shop.aftersale()), tracker(user(text, intent)))
        assert [(m["response"], m["given"]) for m in messages] == [
            ("utter_not_an_order_number", given)]
        assert events == []
    # a message with no number at all is asked for one, as before
    messages, _ = run(ActionOrderLookup(shop.aftersale()), tracker(user("my order", "inform")))
    assert [m["response"] for m in messages] == ["utter_ask_order_number_and_email"]


WITHOUT_NUMBER = (
    "No problem. When your payment went through, I confirmed the order with its number (like "
    "AT-7K2M9Q) in the chat you ordered from, on the website or on Telegram. Ask me \"where is "
    "my order?\" in that chat and I'll find it without the number. Otherwise a person from the "
    "team can look it up with your name and the email address you gave at checkout.")


@pytest.mark.parametrize(("action", "said", "asked_with"), [
    (ActionOrderStatus, user("I don't know my order number", "order_status"), None),
    (ActionOrderStatus, user("where do i find my order number", "order_status"), None),
    (ActionOrderLookup, user("I dont have the number", "inform"),
     "utter_ask_order_number_and_email"),
    (lambda client: ActionFallback(orders=client), user("i dont have it", "nlu_fallback"),
     "utter_no_orders"),
    (ActionConfirmOrderChange, user("no idea", "deny"), "utter_no_orders"),
    (lambda _: ActionAnswerFaq(), user("i lost the confirmation email", "faq"),
     "utter_not_an_order_number"),
    (ActionCancelOrder, user("cancel my order, i lost the order number", "cancel_order"), None),
])
def test_a_shopper_without_the_order_number_is_told_where_it_is_and_offered_a_person(
        shop: Shop, action: Any, said: dict[str, Any], asked_with: str | None) -> None:
    asked = bot_turn("action_order_status", response=asked_with) if asked_with else []
    messages, events = run(action(shop.aftersale()), tracker(*asked, said))
    assert [m["text"] for m in messages] == [WITHOUT_NUMBER]
    assert messages[0]["buttons"] == [{"title": "Talk to a person",
                                       "payload": "/request_human"}]
    assert events == []


def test_not_having_the_number_is_read_only_when_it_is_asked_for_or_named() -> None:
    def lacks(text: str, asked_with: str | None = None, *, asked_only: bool = False) -> bool:
        asked = bot_turn("action_order_status", response=asked_with) if asked_with else []
        return without_number(tracker(*asked, user(text, "nlu_fallback")),
                              asked_only=asked_only)

    assert lacks("i dont have it", "utter_no_orders")
    assert lacks("nope, no idea", "utter_ask_order_number_and_email")
    assert not lacks("i dont have it")  # asked for nothing: a cart, a size…
    assert not lacks("i dont have it", "utter_which_order")  # the orders are on buttons
    assert not lacks("no, it's AT-99999", "utter_no_orders")  # a number, if not ours
    assert lacks("I've lost my order number")
    assert not lacks("I've lost my order number", asked_only=True)
    assert not lacks("I didn't get an order confirmation", asked_only=True)  # for the FAQ
    assert not lacks("/deny", "utter_no_orders")  # a button says what it means


def test_an_angry_complaint_about_an_order_this_chat_never_placed_goes_to_a_person(
        shop: Shop) -> None:
    text = "this is ridiculous, my order is 2 weeks late and nobody answers"
    messages, _ = run(ActionOrderStatus(shop.aftersale()), tracker(user(text, "order_status")))
    assert [m["response"] for m in messages] == ["utter_handoff_order_complaint"]
    assert messages[0]["custom"]["handoff"]["reason"] == "frustrated"
    assert messages[0]["text"].startswith("I'm sorry — that's not how it should be. I'm "
                                          "connecting you with a member of the team")
    # with an order here, the angry shopper is shown it
    order = shop.order()
    messages, _ = run(ActionOrderStatus(shop.aftersale()), tracker(user(text, "order_status")))
    assert messages[0]["text"].startswith(f"Order {order['number']} ")


@pytest.mark.parametrize("text", ["hi i ordered a mug last week and it arrived broken",
                                  "the parcel came damaged",
                                  "my necklace snapped after two days",
                                  "the clasp came off the second day i wore it",
                                  "my earring's hook bent straight away"])
def test_a_piece_that_arrived_damaged_goes_to_a_person(shop: Shop, text: str) -> None:
    """Not "I can't see any order" nor the offer of a return: the team sorts a damaged
    piece out, with or without an order in this chat."""
    for _ in range(2):
        messages, events = run(ActionRequestRefund(shop.aftersale()),
                               tracker(user(text, "request_refund")))
        assert [m["response"] for m in messages] == ["utter_handoff_damaged"]
        handoff = messages[0]["custom"]["handoff"]
        assert handoff["reason"] == "damaged"
        assert handoff["summary"].startswith("A piece arrived damaged or faulty; last message")
        assert SlotSet("handoff_offer", None) in events
        shop.order()  # and the same with an order here
    # a question about the policy still goes to the FAQ
    messages, _ = run(ActionRequestRefund(shop.aftersale(), shop.knowledge()), tracker(
        user("what if it arrives broken, can she send it back?", "request_refund")))
    assert not any("handoff" in (m.get("custom") or {}) for m in messages), messages


def test_with_an_order_here_not_knowing_its_number_shows_it(shop: Shop) -> None:
    order = shop.order()
    messages, _ = run(ActionOrderStatus(shop.aftersale()),
                      tracker(user("I don't know my order number", "order_status")))
    assert messages[0]["text"].startswith(f"Order {order['number']} is waiting for payment.")


def test_number_and_email_in_one_message_go_straight_to_the_lookup(shop: Shop) -> None:
    order = shop.order(shopper="laptop-session")
    t = status(text=f"where is {order['number']}, I used laptop-session@example.com")
    messages, events = run(ActionOrderStatus(shop.aftersale()), t)
    assert messages == []
    assert events == [SlotSet("lookup_number", order["number"]),
                      FollowupAction("action_order_lookup")]


def test_commerce_api_down_gives_an_apology_and_changes_nothing() -> None:
    client = AfterSaleClient(down_settings())
    for action in (ActionOrderStatus(client), ActionCancelOrder(client),
                   ActionRequestRefund(client)):
        messages, events = run(action, status("AT-ABC123"))
        assert [m["text"] for m in messages] == [UNAVAILABLE]
        assert events == []


# --- cancel -----------------------------------------------------------------------------

def cancel(number: str | None = None) -> dict[str, Any]:
    entities = [entity("order_number", number)] if number else []
    return user(f"cancel my order {number or ''}".strip(), "cancel_order", entities)


def answer(intent: str, asked_by: str, pending: str | None) -> Tracker:
    return tracker(*bot_turn(asked_by), user(f"/{intent}", intent),
                   slots={"pending_change": pending})


def test_cancel_an_unpaid_order_after_a_yes(shop: Shop) -> None:
    # given
    order = shop.order()
    number = order["number"]
    # when
    messages, events = run(ActionCancelOrder(shop.aftersale()), tracker(cancel(number)))
    # then
    assert messages[0]["text"] == (f"Shall I cancel order {number} (1 × "
                                   f"{order['lines'][0]['name']}, {order['total']} EUR)? "
                                   "Nothing has been charged.")
    assert messages[0]["buttons"] == YES_NO
    assert events == [SlotSet("order_number", number),
                      SlotSet("pending_change", f"cancel:{number}")]
    # when: yes
    messages, events = run(ActionConfirmOrderChange(shop.aftersale()),
                           answer("affirm", "action_cancel_order", f"cancel:{number}"))
    # then
    assert [m["text"] for m in messages] == [
        f"Done — order {number} is cancelled. Nothing was charged."]
    assert events == [SlotSet("pending_change", None)]
    again = shop.client.get(f"/api/shoppers/web/shopper-1/orders/{number}",
                            headers={"Authorization": "Bearer change-me"}).json()
    assert again["status"] == "cancelled"
    # when: then a refund is asked for, or the cancel again
    for action, said in ((ActionRequestRefund, user("can i still get a refund",
                                                    "request_refund")),
                         (ActionCancelOrder, cancel(number))):
        messages, _ = run(action(shop.aftersale()), tracker(said, slots={"order_number": number}))
        # then: it says why there is nothing to do
        assert [m["text"] for m in messages] == [
            f"Order {number} was cancelled before it was paid, so nothing was charged and "
            "there is nothing to refund or change."]


def test_cancel_a_paid_order_refunds_it(shop: Shop) -> None:
    order = shop.order(pay=True)
    number = order["number"]
    messages, _ = run(ActionCancelOrder(shop.aftersale()), tracker(cancel(number)))
    assert messages[0]["text"] == (f"Order {number} is paid and hasn't shipped yet, so I can "
                                   f"cancel it and refund {order['total']} EUR to your card. "
                                   "Shall I cancel it?")
    messages, events = run(ActionConfirmOrderChange(shop.aftersale()),
                           answer("affirm", "action_cancel_order", f"cancel:{number}"))
    assert [m["text"] for m in messages] == [
        f"Done — order {number} is cancelled and {order['total']} EUR has been refunded to "
        "your card. Banks usually show it within 5–10 working days."]


def test_no_leaves_the_order_as_it_is(shop: Shop) -> None:
    order = shop.order()
    number = order["number"]
    messages, events = run(ActionConfirmOrderChange(shop.aftersale()),
                           answer("deny", "action_cancel_order", f"cancel:{number}"))
    assert [m["text"] for m in messages] == [f"All right, I've left order {number} as it is."]
    assert events == [SlotSet("pending_change", None)]
    assert shop.client.get(f"/api/shoppers/web/shopper-1/orders/{number}",
                           headers={"Authorization": "Bearer change-me"}
                           ).json()["status"] == "pending_payment"


def test_a_yes_to_something_else_never_cancels(shop: Shop) -> None:
    order = shop.order()
    number = order["number"]
    # the question was asked, but the shopper moved on to a search before saying yes
    messages, events = run(ActionConfirmOrderChange(shop.aftersale()),
                           answer("affirm", "action_search_products", f"cancel:{number}"))
    assert [m["response"] for m in messages] == ["utter_anything_else"]
    assert events == [SlotSet("pending_change", None)]
    assert shop.client.get(f"/api/shoppers/web/shopper-1/orders/{number}",
                           headers={"Authorization": "Bearer change-me"}
                           ).json()["status"] == "pending_payment"


def test_a_shipped_order_cannot_be_cancelled_but_can_be_returned(shop: Shop) -> None:
    order = shop.order(ship=True)
    number = order["number"]
    messages, events = run(ActionCancelOrder(shop.aftersale()), tracker(cancel(number)))
    assert [m["text"] for m in messages] == [
        f"Order {number} has already been shipped, so it can't be cancelled any more. Would "
        "you like to return it for a refund instead?"]
    assert events == [SlotSet("order_number", number),
                      SlotSet("pending_change", f"return:{number}")]
    messages, events = run(ActionConfirmOrderChange(shop.aftersale()),
                           answer("affirm", "action_cancel_order", f"return:{number}"))
    assert [m["text"] for m in messages] == [
        f"I've recorded your return request for order {number}. The team will confirm it by "
        "email and send you the studio's address in Lyon. Once the parcel is back with us, "
        "you're refunded within 5 working days."]
    events_now = shop.client.get(f"/api/shoppers/web/shopper-1/orders/{number}",
                                 headers={"Authorization": "Bearer change-me"}).json()["events"]
    assert events_now[-1]["type"] == "return_requested"


def test_the_order_discussed_before_is_the_one_cancelled(shop: Shop) -> None:
    shop.order()
    order = shop.order()
    t = tracker(cancel(), slots={"order_number": order["number"]})
    _, events = run(ActionCancelOrder(shop.aftersale()), t)
    assert events[-1] == SlotSet("pending_change", f"cancel:{order['number']}")


def test_cancelling_somebody_elses_order_reads_as_not_found(shop: Shop) -> None:
    order = shop.order(shopper="someone-else")
    messages, events = run(ActionCancelOrder(shop.aftersale()), tracker(cancel(order["number"])))
    assert [m["text"] for m in messages] == [
        f"I can't find an order {order['number']} for you. Please check the number — I sent "
        "it with the order's confirmation, in the chat where you ordered."]
    assert events == []


def test_shop_down_at_the_yes_keeps_the_question_open(shop: Shop) -> None:
    order = shop.order()
    number = order["number"]
    down = ActionConfirmOrderChange(AfterSaleClient(down_settings()))
    messages, events = run(down, answer("affirm", "action_cancel_order", f"cancel:{number}"))
    assert [m["text"] for m in messages] == [UNAVAILABLE]
    assert messages[0]["buttons"] == [{"title": "Try again", "payload": "/affirm"}]
    assert events == []
    # the shop is back: "yes" again (the bot's last action was the confirmation) cancels
    messages, _ = run(ActionConfirmOrderChange(shop.aftersale()),
                      answer("affirm", "action_confirm_order_change", f"cancel:{number}"))
    assert messages[0]["text"] == f"Done — order {number} is cancelled. Nothing was charged."


def pay_too_late(shop: Shop, order: dict[str, Any]) -> dict[str, Any]:
    """The order's reservation runs out, then its card is charged after all (and the
    sandbox refunds it at once); returns the order as the shop now shows it."""
    link = shop.client.post(f"/api/orders/{order['id']}/payment",
                            headers={**SERVICE, "Idempotency-Key": f"late-{order['number']}"})
    assert link.status_code == 201, link.text
    with shop.db() as session:
        later = clock.now() + timedelta(minutes=get_settings().reservation_minutes + 1)
        assert expire_reservations(session=session, now=later) == 1
        session.commit()
    provider = shop.app.dependency_overrides[get_provider]()
    event = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=PaymentRef(
        token=link.json()["token"], order_id=order["id"], amount=Decimal(order["total"]),
        currency="EUR"), created=clock.now().timestamp(), provider_ref="ch_late_1")
    assert shop.client.portal.call(partial(provider.emit, event))
    return shop.client.get(f"/api/shoppers/web/{SHOPPER}/orders/{order['number']}",
                           headers=SERVICE).json()


def test_an_order_paid_after_its_time_ran_out_is_told_as_refunded(shop: Shop) -> None:
    # given an order cancelled for want of payment, whose payment came later and went back
    order = shop.order()
    number, total = order["number"], order["total"]
    late = pay_too_late(shop, order)
    assert (late["status"], late["payment_status"]) == ("cancelled", "refunded")
    refunded = (f"Your payment of {total} EUR arrived after its reservation had run out; it "
                "was refunded to your card.")
    # when the shopper asks where it is
    messages, _ = run(ActionOrderStatus(shop.aftersale()), status(number))
    # then the bot says it was charged and refunded, never that nothing was charged
    assert messages[0]["text"].startswith(f"Order {number} was cancelled.\nItems: ")
    assert messages[0]["text"].endswith(refunded)
    # when the shopper asks to cancel it, or for a refund
    for action, asked in ((ActionCancelOrder, tracker(cancel(number))),
                          (ActionRequestRefund, refund(number))):
        messages, events = run(action(shop.aftersale()), asked)
        assert [m["text"] for m in messages] == [f"Order {number} was cancelled. {refunded}"]
        assert events == [SlotSet("order_number", number)]
    # and what the bot says after a cancellation that met such a payment
    gone = Order.model_validate(late)
    text = shown({"response": cancelled(gone), "number": number, "total": str(gone.total),
                  "currency": gone.currency})["text"]
    assert text == f"Done — order {number} is cancelled. {refunded}"
    assert "Nothing" not in text


# --- refund / return --------------------------------------------------------------------

def refund(number: str) -> Tracker:
    return tracker(user(f"I want a refund for {number}", "request_refund",
                        [entity("order_number", number)]))


def test_refund_of_a_paid_unshipped_order_is_a_cancellation(shop: Shop) -> None:
    order = shop.order(pay=True)
    number = order["number"]
    messages, events = run(ActionRequestRefund(shop.aftersale()), refund(number))
    assert [m["text"] for m in messages] == [
        f"Order {number} hasn't shipped yet, so I can cancel it and refund the full "
        f"{order['total']} EUR to your card. Shall I go ahead?"]
    assert events[-1] == SlotSet("pending_change", f"cancel:{number}")


def test_return_of_a_shipped_order_is_asked_for_once(shop: Shop) -> None:
    order = shop.order(ship=True)
    number = order["number"]
    messages, events = run(ActionRequestRefund(shop.aftersale()), refund(number))
    assert messages[0]["text"] == (
        f"I can ask the team for a return of order {number} (1 × {order['lines'][0]['name']}, "
        f"{order['total']} EUR). The team will confirm it by email and send you the studio's "
        "address in Lyon. Once the parcel is back with us, you're refunded within 5 working "
        "days. Shall I request the return?")
    assert events[-1] == SlotSet("pending_change", f"return:{number}")
    run(ActionConfirmOrderChange(shop.aftersale()),
        answer("affirm", "action_request_refund", f"return:{number}"))
    messages, events = run(ActionRequestRefund(shop.aftersale()), refund(number))
    assert [m["text"] for m in messages] == [
        f"You've already asked to return order {number}; the team will be in touch by email."]


def test_a_return_of_a_personalised_piece_says_when_it_can_come_back(shop: Shop) -> None:
    # given a shipped mug with an inscription
    order = shop.order(ship=True, glaze="cobalt blue", inscription="Ada")
    number, note = order["number"], ("Personalised pieces can only be returned if they "
                                     "arrived damaged, faulty or not as ordered.")
    # when the shopper asks to cancel it, then for a refund
    cancelled, _ = run(ActionCancelOrder(shop.aftersale()), tracker(cancel(number)))
    returned, _ = run(ActionRequestRefund(shop.aftersale()), refund(number))
    # then the return offered says so, after the offer itself
    assert [m["text"] for m in cancelled] == [
        f"Order {number} has already been shipped, so it can't be cancelled any more. Would "
        f"you like to return it for a refund instead? {note}"]
    assert [m["text"] for m in returned] == [
        f"I can ask the team for a return of order {number} (1 × {order['lines'][0]['name']}, "
        f"{order['total']} EUR). The team will confirm it by email and send you the studio's "
        "address in Lyon. Once the parcel is back with us, you're refunded within 5 working "
        f"days. Shall I request the return? {note}"]


def test_refund_of_an_unpaid_order_offers_to_cancel(shop: Shop) -> None:
    order = shop.order()
    messages, _ = run(ActionRequestRefund(shop.aftersale()), refund(order["number"]))
    assert messages[0]["text"] == (f"Order {order['number']} hasn't been paid, so there's "
                                   "nothing to refund. Would you like me to cancel it instead?")


# --- delivery address -------------------------------------------------------------------

def test_new_address_before_shipping_goes_to_a_person(shop: Shop) -> None:
    order = shop.order(pay=True)
    number = order["number"]
    t = tracker(user(f"I need to change the address of {number}", "change_shipping_address",
                     [entity("order_number", number)]))
    messages, events = run(ActionChangeShippingAddress(shop.aftersale()), t)
    assert messages[0]["text"] == (
        "Only the team can change the delivery address, and they can do it until the parcel "
        "ships. I'm connecting you with a member of the team now — please tell them the new "
        f"address for order {number}.")
    assert messages[0]["custom"]["handoff"]["reason"] == "shopper_request"
    summary = messages[0]["custom"]["handoff"]["summary"]
    assert "was changing a delivery address" in summary
    assert events == [SlotSet("order_number", number), SlotSet("handoff_offer", None),
                      SlotSet("fallback_count", 0.0)]


def test_new_address_after_shipping_is_refused(shop: Shop) -> None:
    order = shop.order(ship=True)
    t = tracker(user("change my address", "change_shipping_address",
                     [entity("order_number", order["number"])]))
    messages, _ = run(ActionChangeShippingAddress(shop.aftersale()), t)
    assert [m["text"] for m in messages] == [
        f"Order {order['number']} is already with the carrier, so its address can't be "
        "changed any more, sorry."]
    assert "custom" not in messages[0] or not messages[0]["custom"]
