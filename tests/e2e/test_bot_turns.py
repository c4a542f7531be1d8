"""The bot side of a turn, against the real Rasa (trained model), action server and app.

Rasa's channel and the action server act only for a shopper the gateway signed for; a turn
whose action server is down is not kept, so the message the gateway sends again does what
it would have done; and a restart of Rasa keeps every conversation where it was.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from actions.shopper import NOBODY
from channels.assertion import sign_shopper
from channels.chat import BOT_DOWN_APOLOGY
from channels.rasa_client import WEBHOOK_PATH
from tests.actions.responses import said
from tests.channels.web_chat import chat_body, owner
from tests.e2e.stack import IDENTITY_SECRET, RASA_TOKEN, Stack

pytestmark = pytest.mark.e2e
SERVICE = {"Authorization": "Bearer change-me"}
ADDRESS = {"name": "Ada Lovelace", "line1": "12 rue des Arts", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}


def new_conversation() -> str:
    return f"turns-{uuid.uuid4().hex[:8]}"


def say(stack: Stack, conversation: str, text: str) -> list[tuple[str, str]]:
    """A shopper's message through ``POST /api/chat``: ``(role, text)`` of the answers."""
    response = httpx.post(f"{stack.app_url}/api/chat", timeout=90,
                          json=chat_body(conversation, text))
    assert response.status_code == 200, response.text
    return [(m["role"], m["text"]) for m in response.json()["messages"]]


def history(stack: Stack, conversation: str) -> list[tuple[str, str]]:
    messages = httpx.get(f"{stack.app_url}/api/chat/{conversation}/history",
                         headers=owner(conversation), timeout=30).json()
    return [(m["role"], m["text"]) for m in messages]


def api(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{stack.app_url}/api{path}", headers=SERVICE,
                             timeout=30, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def fill_cart(stack: Stack, conversation: str) -> None:
    api(stack, "POST", f"/shoppers/web/{conversation}/cart/lines",
        json={"sku": "CER-MUG-001", "quantity": 1})


def tracker_events(stack: Stack, conversation: str) -> list[dict[str, Any]]:
    response = httpx.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{conversation}"
                         "/tracker", params={"token": RASA_TOKEN, "include_events": "ALL"},
                         timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def signed(conversation: str, *, external_id: str | None = None, now: float | None = None,
           secret: str = IDENTITY_SECRET) -> dict[str, Any]:
    return {"shopper": sign_shopper(
        secret=secret, conversation_id=conversation,
        shopper={"channel": "web", "external_id": external_id or conversation},
        now=time.time() if now is None else now)}


def wait_until(check: Any, what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)
    return result


def test_rasa_takes_a_message_only_with_the_gateways_assertion_for_its_conversation(
        stack: Stack) -> None:
    rasa = f"http://127.0.0.1:{stack.rasa_port}"
    conversation, victim = new_conversation(), new_conversation()
    forged = signed(conversation, external_id=victim)
    forged["shopper"]["signature"] = "0" * 64
    refused = {
        "unsigned": {"shopper": {"channel": "web", "external_id": victim}},
        "forged": forged,
        "signed for another conversation": signed(victim),
        "expired": signed(conversation, external_id=victim, now=time.time() - 600),
        "signed with another secret": signed(conversation, external_id=victim,
                                             secret="not-the-gateways-secret"),
    }
    for case, metadata in refused.items():
        # when someone who reaches Rasa posts a message in the victim's name
        response = httpx.post(f"{rasa}{WEBHOOK_PATH}", timeout=60, json={
            "sender": conversation, "message": "where are my orders", "metadata": metadata})
        # then it is refused with a clear JSON error
        assert response.status_code == 401, (case, response.text)
        assert response.json()["code"] in {"missing_shopper_assertion",
                                           "invalid_shopper_assertion",
                                           "shopper_assertion_expired"}, case
    # and no other channel of Rasa takes an unsigned message
    rest = httpx.post(f"{rasa}/webhooks/rest/webhook", timeout=60, json={
        "sender": conversation, "message": "where are my orders",
        "metadata": refused["unsigned"]})
    assert rest.status_code == 404
    # nothing of them reached the conversation; the gateway's own message is answered
    assert not [e for e in tracker_events(stack, conversation) if e["event"] == "user"]
    assert "bot" in [role for role, _ in say(stack, conversation, "hi")]


def test_the_action_server_acts_for_nobody_without_a_valid_assertion(stack: Stack) -> None:
    # given a shopper with an unpaid order
    conversation = new_conversation()
    fill_cart(stack, conversation)
    order = api(stack, "POST", f"/shoppers/web/{conversation}/checkout",
                json={"email": f"{conversation}@example.com", "address": ADDRESS})
    number = order["number"]
    webhook = f"http://127.0.0.1:{stack.actions_port}/webhook"

    def run(action: str, metadata: dict[str, Any], text: str, intent: str,
            slots: dict[str, Any] | None = None) -> list[str]:
        """Post the tracker of this conversation to the action server, as Rasa would;
        what the shopper would read of its answer (its responses filled from the domain)."""
        latest = {"text": text, "intent": {"name": intent, "confidence": 1.0},
                  "entities": [{"entity": "order_number", "value": number}],
                  "metadata": metadata}
        events = [{"event": "action", "name": "action_cancel_order"},
                  {"event": "bot", "text": "Shall I cancel it?"},
                  {"event": "action", "name": "action_listen"},
                  {"event": "user", "text": text, "parse_data": latest}]
        response = httpx.post(webhook, timeout=30, json={
            "next_action": action, "sender_id": conversation, "version": "3.6.21",
            "domain": {}, "tracker": {"sender_id": conversation, "slots": slots or {},
                                      "latest_message": latest, "events": events,
                                      "paused": False, "followup_action": None,
                                      "active_loop": {}, "latest_action_name": "action_listen"}})
        assert response.status_code == 200, response.text
        return [r.get("text") for r in said(response.json()["responses"])]

    claim = {"shopper": {"channel": "web", "external_id": conversation}}
    for metadata in (claim, {}, signed(new_conversation(), external_id=conversation),
                     signed(conversation, now=time.time() - 600)):
        # when a caller who reaches the action server asks about the order, and cancels it
        status = run("action_order_status", metadata, f"where is {number}", "order_status")
        cancel = run("action_confirm_order_change", metadata, "/affirm", "affirm",
                     slots={"pending_change": f"cancel:{number}"})
        # then it is told the bot acts for nobody, and the order is untouched
        assert status == [NOBODY] and cancel == [NOBODY], (metadata, status, cancel)
        assert number not in json.dumps(status)
    assert api(stack, "GET", f"/shoppers/web/{conversation}/orders/{number}")["status"] == \
        "pending_payment"
    # while the gateway's signature for this conversation acts for its shopper
    status = run("action_order_status", signed(conversation), f"where is {number}",
                 "order_status")
    assert status[0].startswith(f"Order {number} is waiting for payment.")


def test_yes_place_the_order_sent_while_the_actions_are_down_places_it_once_they_are_back(
        stack: Stack) -> None:
    # given a checkout at its last question
    conversation = new_conversation()
    fill_cart(stack, conversation)
    assert "What email address" in say(stack, conversation, "checkout")[-1][1]
    assert "Whose name" in say(stack, conversation, "ada@example.com")[-1][1]
    assert "Where should we send it?" in say(stack, conversation, "Ada Lovelace")[-1][1]
    confirm = say(stack, conversation, "12 rue des Lilas, 75011 Paris, France")
    assert "Shall I place the order?" in confirm[-1][1], confirm
    # when the action server dies and the shopper says yes
    stack.stop_actions()
    try:
        assert say(stack, conversation, "yes") == [("system", BOT_DOWN_APOLOGY)]
        time.sleep(3)  # the gateway retries every second: none may reach the bot meanwhile
        assert api(stack, "GET", f"/shoppers/web/{conversation}/orders") == []
    finally:
        stack.start_actions()
    # then once it is back the order is placed, once, and the shopper is told, once
    placed = wait_until(lambda: [t for r, t in history(stack, conversation)
                                 if r == "bot" and " is placed: " in t], "the confirmation")
    orders = api(stack, "GET", f"/shoppers/web/{conversation}/orders")
    assert len(orders) == 1 and orders[0]["status"] == "pending_payment"
    assert placed == [placed[0]] and f"Order {orders[0]['number']} is placed" in placed[0]
    time.sleep(2)  # and nothing more arrives
    assert len(api(stack, "GET", f"/shoppers/web/{conversation}/orders")) == 1
    assert [t for r, t in history(stack, conversation) if " is placed: " in t] == placed
    yeses = [e for e in tracker_events(stack, conversation)
             if e["event"] == "user" and e.get("text") == "yes"]
    assert len(yeses) == 1  # the turn Rasa could not finish left nothing behind


def test_a_restart_of_rasa_mid_checkout_goes_on_with_the_checkout(stack: Stack) -> None:
    # given a checkout that asked for the name
    conversation = new_conversation()
    fill_cart(stack, conversation)
    assert "What email address" in say(stack, conversation, "checkout")[-1][1]
    assert "Whose name" in say(stack, conversation, "ada@example.com")[-1][1]
    # when Rasa restarts
    stack.stop_rasa()
    stack.start_rasa()
    # then the next answer goes on with the form where it was
    assert "Where should we send it?" in say(stack, conversation, "Ada Lovelace")[-1][1]
    confirm = say(stack, conversation, "12 rue des Lilas, 75011 Paris, France")
    assert "Email: ada@example.com" in confirm[-1][1], confirm
