"""After sale, FAQ and handoff through ``POST /api/chat``: real model, actions, shop."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from channels.chat import BOT_DOWN_APOLOGY
from commerce_core.config import get_settings
from commerce_core.models import BotTurn
from commerce_core.payment import signing
from commerce_core.payment.provider import EventType, PaymentRef, build_event
from tests.actions.wording import BACK_TEXT, CLARIFY, HANDOFF_TEXT, NOT_SURE, OFFER
from tests.channels.web_chat import chat_body, owner
from tests.conftest import demo_faq_answer
from tests.e2e.stack import RASA_TOKEN, REPO, Stack

pytestmark = pytest.mark.e2e
SERVICE = {"Authorization": "Bearer change-me"}
ADDRESS = {"name": "Ada Lovelace", "line1": "12 rue des Arts", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}


def new_conversation() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def say(stack: Stack, conversation: str, text: str, payload: str | None = None
        ) -> list[dict[str, Any]]:
    body = chat_body(conversation, text)
    if payload is not None:
        body["payload"] = payload
    response = httpx.post(f"{stack.app_url}/api/chat", timeout=60, json=body)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def bot_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages if m["role"] == "bot"]


def api(stack: Stack, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = httpx.request(method, f"{stack.app_url}/api{path}", timeout=30,
                             **{"headers": SERVICE, **kwargs})
    assert response.status_code < 300, response.text
    return response.json()


def place_order(stack: Stack, conversation: str) -> dict[str, Any]:
    base = f"/shoppers/web/{conversation}"
    api(stack, "POST", f"{base}/cart/lines", json={"sku": "CER-MUG-001", "quantity": 1})
    return api(stack, "POST", f"{base}/checkout",
               json={"email": f"{conversation}@example.com", "address": ADDRESS})


def pay(stack: Stack, order: dict[str, Any]) -> None:
    """The card network's confirmation, as the provider delivers it: a signed webhook."""
    link = api(stack, "POST", f"/orders/{order['id']}/payment",
               headers={**SERVICE, "Idempotency-Key": f"e2e-{order['number']}"})
    ref = PaymentRef(token=link["token"], order_id=order["id"],
                     amount=link["amount"], currency=link["currency"])
    body = json.dumps(build_event(type=EventType.PAYMENT_SUCCEEDED, payment=ref,
                                  created=time.time(), provider_ref="ch_e2e_4242")).encode()
    header = signing.sign(body, secret=get_settings().payment_webhook_secret,
                          timestamp=int(time.time()))
    response = httpx.post(f"{stack.app_url}/api/payments/webhook", content=body, timeout=30,
                          headers={"Content-Type": "application/json",
                                   signing.SIGNATURE_HEADER: header})
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def merchant(stack: Stack) -> dict[str, str]:
    """A merchant API key made with the admin command, as a shop owner would."""
    done = subprocess.run([sys.executable, "-m", "commerce_core", "create-api-key", "e2e"],
                          cwd=REPO, env=stack.env(), capture_output=True, text=True,
                          check=True)
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("atk_")
    return {"Authorization": f"Bearer {key}"}


def ship(stack: Stack, merchant: dict[str, str], order: dict[str, Any]) -> dict[str, Any]:
    return api(stack, "POST", f"/merchant/orders/{order['id']}/ship", headers=merchant)


def handoff_payload(stack: Stack, conversation: str) -> dict[str, str]:
    """The custom payload of the bot's last handoff message, as Rasa recorded it."""
    tracker = httpx.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{conversation}"
                        "/tracker", params={"token": RASA_TOKEN}, timeout=30).json()
    customs = [(e.get("data") or {}).get("custom") or {} for e in tracker["events"]
               if e["event"] == "bot"]
    payloads = [c["handoff"] for c in customs if c.get("handoff")]
    assert payloads, "the bot sent no handoff payload"
    return payloads[-1]


def test_tracking_after_the_merchant_ships(stack: Stack, merchant: dict[str, str]) -> None:
    # given: a paid order the workshop has shipped
    conversation = new_conversation()
    order = place_order(stack, conversation)
    pay(stack, order)
    parcel = ship(stack, merchant, order)
    # when
    messages = say(stack, conversation, f"where is my order {order['number']}?")
    # then
    [text] = bot_texts(messages)
    assert text.startswith(f"Order {order['number']} has been shipped.\nItems: 1 × ")
    assert f"Total: {order['total']} EUR." in text
    assert f"Carrier: simulated, tracking number {parcel['tracking_number']}." in text
    assert "Shipping label created, waiting for pick-up (Lyon, FR)" in text
    assert [b["title"] for b in messages[0]["buttons"]] == ["Return it"]


def test_order_list_then_cancel_an_unpaid_order(stack: Stack) -> None:
    conversation = new_conversation()
    first, second = place_order(stack, conversation), place_order(stack, conversation)
    # "where is my order" without a number: the recent orders as buttons
    messages = say(stack, conversation, "where is my order")
    assert bot_texts(messages) == ["Which order do you mean?"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        f'/order_status{{"order_number": "{n}"}}' for n in (second["number"],
                                                            first["number"])]
    messages = say(stack, conversation, "AT", payload=messages[0]["buttons"][1]["payload"])
    assert bot_texts(messages)[0].startswith(f"Order {first['number']} is waiting for payment.")
    # cancel: the bot asks first, and cancels on yes
    messages = say(stack, conversation, f"please cancel {first['number']}")
    assert bot_texts(messages) == [
        f"Shall I cancel order {first['number']} (1 × {first['lines'][0]['name']}, "
        f"{first['total']} EUR)? Nothing has been charged."]
    messages = say(stack, conversation, "Yes, please", payload="/affirm")
    assert bot_texts(messages) == [
        f"Done — order {first['number']} is cancelled. Nothing was charged."]
    mine = api(stack, "GET", f"/shoppers/web/{conversation}/orders/{first['number']}")
    assert mine["status"] == "cancelled"
    other = api(stack, "GET", f"/shoppers/web/{conversation}/orders/{second['number']}")
    assert other["status"] == "pending_payment"


def test_return_request_of_a_paid_shipped_order(stack: Stack, merchant: dict[str, str]) -> None:
    conversation = new_conversation()
    order = place_order(stack, conversation)
    pay(stack, order)
    ship(stack, merchant, order)
    messages = say(stack, conversation, f"I want to return my order {order['number']}")
    [question] = bot_texts(messages)
    assert question.startswith(f"I can ask the team for a return of order {order['number']}")
    assert question.endswith("Shall I request the return?")
    messages = say(stack, conversation, "yes")
    assert bot_texts(messages) == [
        f"I've recorded your return request for order {order['number']}. The team will "
        "confirm it by email and send you the studio's address in Lyon. Once the parcel is "
        "back with us, you're refunded within 5 working days."]
    events = api(stack, "GET", f"/shoppers/web/{conversation}/orders/{order['number']}")["events"]
    assert events[-1]["type"] == "return_requested"


def test_somebody_elses_order_is_not_shown(stack: Stack) -> None:
    owner, stranger = new_conversation(), new_conversation()
    order = place_order(stack, owner)
    messages = say(stack, stranger, f"where is my order {order['number']}")
    assert bot_texts(messages) == [
        f"I can't find an order {order['number']} for you. If you placed it from another "
        "device or chat, tell me the email address you used for it and I'll look it up."]
    messages = say(stack, stranger, f"{owner}@example.com")
    assert bot_texts(messages)[0].startswith(f"Order {order['number']} is waiting for payment.")


def test_faq_answered_then_not_sure_then_a_person(stack: Stack) -> None:
    conversation = new_conversation()
    answer = demo_faq_answer("shipping.md", "How long does delivery take?")
    messages = say(stack, conversation, "how long does delivery take?")
    assert "\n\n".join(bot_texts(messages)) == answer.strip()  # one message per paragraph
    messages = say(stack, conversation, "do you sell concert tickets?")
    [unsure] = [m for m in messages if m["role"] == "bot"]
    assert unsure["text"].startswith(NOT_SURE)
    assert unsure["buttons"][-1] == {"title": "Talk to a person", "payload": "/request_human"}
    messages = say(stack, conversation, "Talk to a person", payload="/request_human")
    assert bot_texts(messages) == [HANDOFF_TEXT]
    assert handoff_payload(stack, conversation)["reason"] == "faq_unanswered"


def test_an_angry_complaint_about_an_order_not_placed_here_goes_to_a_person(
        stack: Stack) -> None:
    conversation = new_conversation()
    messages = say(stack, conversation,
                   "this is ridiculous, my order is 2 weeks late and nobody answers")
    [said] = bot_texts(messages)
    assert said.startswith("I'm sorry — that's not how it should be. I'm connecting you with "
                           "a member of the team"), said
    assert [m["role"] for m in messages] == ["bot", "system"]  # the gateway queued it
    assert handoff_payload(stack, conversation)["reason"] == "frustrated"


def test_asking_for_a_human_hands_off_with_a_summary(stack: Stack) -> None:
    conversation = new_conversation()
    order = place_order(stack, conversation)
    say(stack, conversation, f"where is my order {order['number']}")
    messages = say(stack, conversation, "I want to talk to a human")
    assert bot_texts(messages) == [HANDOFF_TEXT]
    assert [m["role"] for m in messages] == ["bot", "system"]  # the gateway queued it
    handoff = handoff_payload(stack, conversation)
    assert handoff["reason"] == "shopper_request"
    assert f"order {order['number']}" in handoff["summary"]
    assert 'last message: "where is my order' in handoff["summary"]
    history = httpx.get(f"{stack.app_url}/api/chat/{conversation}/history", timeout=30,
                        headers=owner(conversation)).json()
    assert HANDOFF_TEXT in [m["text"] for m in history]


def test_not_understood_twice_offers_a_person(stack: Stack) -> None:
    conversation = new_conversation()
    first = say(stack, conversation, "qwrtz plmbk")
    assert bot_texts(first) == [CLARIFY]
    assert len(first[0]["buttons"]) >= 2
    second = say(stack, conversation, "zorp flim flam")
    assert bot_texts(second) == [OFFER]
    messages = say(stack, conversation, "yes")
    assert bot_texts(messages) == [HANDOFF_TEXT]
    assert handoff_payload(stack, conversation)["reason"] == "repeated_failure"
    # the gateway kept each turn with what Rasa's channel said of it, and its duration
    engine = create_engine(f"sqlite:///{stack.workdir / 'var' / 'atelier.db'}")
    with engine.connect() as connection:
        turns = connection.execute(select(BotTurn.text, BotTurn.understood,
                                          BotTurn.duration_ms)
                                   .where(BotTurn.conversation_id == conversation)
                                   .order_by(BotTurn.id)).all()
    engine.dispose()
    assert [(text, understood) for text, understood, _ in turns] == [
        ("qwrtz plmbk", False), ("zorp flim flam", False), ("yes", True)]
    assert all(duration > 0 for _, _, duration in turns)


def test_from_discovery_to_order_status_and_back(stack: Stack) -> None:
    conversation = new_conversation()
    order = place_order(stack, conversation)
    cards = say(stack, conversation, "show me blue ceramic mugs")[0]["cards"]
    assert cards
    status = say(stack, conversation, f"wait, where is my order {order['number']}?")
    assert bot_texts(status)[0].startswith(f"Order {order['number']} is waiting for payment.")
    again = say(stack, conversation, "show me blue ceramic mugs")
    assert [c["id"] for c in again[0]["cards"]] == [c["id"] for c in cards]


@pytest.fixture(scope="module")
def agent(stack: Stack) -> dict[str, str]:
    """An agent of the console, made with the operator command, signed in."""
    email = f"agent-{uuid.uuid4().hex[:6]}@shop.example"
    password = "kiln-glaze-wheel-42"
    subprocess.run([sys.executable, "-m", "channels", "create-agent", "--email", email,
                    "--name", "Ana"], cwd=REPO, env=stack.env(), input=password + "\n",
                   capture_output=True, text=True, check=True)
    login = httpx.post(f"{stack.app_url}/agent/api/login", timeout=30,
                       json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def test_the_agent_hands_back_and_the_bot_carries_on(stack: Stack, agent: dict[str, str]
                                                     ) -> None:
    # given: a shopper handed to the team, helped by an agent
    conversation = new_conversation()
    order = place_order(stack, conversation)
    say(stack, conversation, "can I talk to a person please")
    base = f"{stack.app_url}/agent/api/conversations/{conversation}"
    assert httpx.post(f"{base}/claim", headers=agent, timeout=30).status_code == 200
    assert httpx.post(f"{base}/reply", headers=agent, timeout=30,
                      json={"text": "Hello, Ana here."}).status_code == 200
    held = say(stack, conversation, "thanks Ana")
    assert "bot" not in [m["role"] for m in held]  # the agent holds it: the bot is silent
    # when
    back = httpx.post(f"{base}/handback", headers=agent, timeout=60)
    # then
    assert back.status_code == 200, back.text
    history = httpx.get(f"{stack.app_url}/api/chat/{conversation}/history", timeout=30,
                        headers=owner(conversation)).json()
    bot_after = [m["text"] for m in history if m["role"] == "bot"][-2:]
    assert bot_after == [BACK_TEXT, "What else can I help you with?"]
    messages = say(stack, conversation, f"where is my order {order['number']}")
    assert bot_texts(messages)[0].startswith(f"Order {order['number']} is waiting for payment.")


def test_deleting_a_customers_data_wipes_the_bots_tracker(stack: Stack, agent: dict[str, str]
                                                          ) -> None:
    # given: a shopper who told the bot their name and address
    conversation = new_conversation()
    say(stack, conversation, "hello, I'm Jeanne Martin from 12 rue des Potiers")
    tracker = f"http://127.0.0.1:{stack.rasa_port}/conversations/{conversation}/tracker"

    def remembered() -> str:
        response = httpx.get(tracker, params={"include_events": "ALL", "token": RASA_TOKEN},
                             timeout=30)
        assert response.status_code == 200, response.text
        return json.dumps(response.json()["events"])

    assert "Potiers" in remembered()
    # and Rasa's HTTP API shows the tracker to nobody without its token
    assert httpx.get(tracker, timeout=30).status_code == 401
    # when: an agent deletes the shopper's data
    deleted = httpx.delete(f"{stack.app_url}/agent/api/customers/web/{conversation}",
                           headers=agent, timeout=60)
    # then: Rasa's tracker holds none of their words, and the bot still answers them
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["bot_memory"] == {"wiped": [conversation], "waiting": []}
    assert "Potiers" not in remembered() and "Jeanne" not in remembered()
    assert bot_texts(say(stack, conversation, "hello"))
    assert "Potiers" not in remembered()


def test_a_message_the_actions_could_not_answer_is_answered_once_they_are_back(
        stack: Stack) -> None:
    # given a conversation under way, and then the action server down (Rasa still up)
    conversation = new_conversation()
    assert bot_texts(say(stack, conversation, "hi"))
    stack.stop_actions()
    try:
        # when the shopper asks for something only an action can answer
        answered = say(stack, conversation, "show me blue ceramic mugs")
        # then they hear that their message is kept, not silence nor a guess
        assert [(m["role"], m["text"]) for m in answered] == [("system", BOT_DOWN_APOLOGY)]
        time.sleep(3)  # retries come every second: none may reach the bot meanwhile
    finally:
        stack.start_actions()
    # and once the actions are back, the answer arrives in the conversation, once
    history_url = f"{stack.app_url}/api/chat/{conversation}/history"

    def answered_with_cards() -> list[dict[str, Any]]:
        messages = httpx.get(history_url, timeout=30, headers=owner(conversation)).json()
        return [m for m in messages if m["cards"]]

    deadline = time.monotonic() + 60
    while not (carded := answered_with_cards()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(carded) == 1 and carded[0]["cards"]
    tracker = httpx.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{conversation}"
                        "/tracker", params={"token": RASA_TOKEN}, timeout=30).json()
    asked = [e for e in tracker["events"] if e["event"] == "user"
             and e.get("text") == "show me blue ceramic mugs"]
    assert len(asked) == 1  # the turn the actions could not answer left nothing behind
