"""Proactive messages: payment received, parcel shipped, delivered, cancelled, refunded.

The commerce core writes ``order.*`` events to its outbox, in the transaction of the change,
with the customer's channel identities; :mod:`channels.delivery.outbox` relays them here. Each
identity leads to conversations:

- ``telegram/tg-<chat id>`` and ``web/<conversation id>`` are conversations themselves;
- ``web/shop-<customer ref>`` (a customer signed in by the shop, see
  :mod:`channels.identity`) leads to the conversations that last carried the customer's
  token, which the gateway links in :class:`ConversationRoutes`.

The message is recorded in the conversation like any bot message (``Outlet.push``):
a widget that is open gets it at once, one that is offline gets it with its replay on
reconnect, and a Telegram chat gets it from the bot.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass

from redis.exceptions import RedisError

from channels.chat import CONVERSATION_ID_RE
from channels.delivery.outlet import Outlet
from channels.identity import SHOP_PREFIX, Shopper
from channels.messages import Button, ChatMessage
from channels.redis_link import connect
from commerce_core.events import DomainEvent

log = logging.getLogger(__name__)
KINDS = ("order.paid", "order.shipped", "order.delivered", "order.cancelled", "order.refunded",
         "order.payment_refunded", "order.return_accepted", "order.return_refused")
ROUTES_PER_SHOPPER = 3
ROUTE_TTL_SECONDS = 30 * 24 * 3600
SHOPPER_CANCELLED = "cancelled by the shopper"  # commerce_core.payment.service.cancel_order
REVIEW_REQUESTS = 3
"""At most this many products of a delivered order are offered for stars."""


def message_for(event: DomainEvent) -> str | None:
    """The words for one event; None when the shopper needs no message."""
    data = event.data
    number, amount = data.get("number", ""), f"{data.get('total')} {data.get('currency')}"
    if event.kind == "order.paid":
        return (f"Payment received for order {number} ({amount}). Thank you! "
                "I'll let you know as soon as it ships.")
    if event.kind == "order.shipped":
        url = data.get("tracking_url")
        where = f" {url}" if url else " (ask me \"where is my order?\" for its journey)"
        return (f"Your order {number} is on its way with {data.get('carrier')}: "
                f"tracking {data.get('tracking_number')}{where}.")
    if event.kind == "order.delivered":
        return f"Delivered: your order {number} has arrived. Enjoy it!"
    if event.kind == "order.cancelled":
        if data.get("reason") == SHOPPER_CANCELLED:
            return None  # the bot has just said so in the conversation
        return (f"Your order {number} was cancelled ({data.get('reason')}); the items are "
                "back in the shop. A payment for it that still arrives is refunded in full.")
    if event.kind == "order.refunded":
        return (f"The refund of order {number} ({amount}) is on its way back to your "
                "card; banks usually show it within 5-10 days.")
    if event.kind == "order.return_accepted":
        return (f"Your return of order {number} is accepted. The team emails you the "
                "studio's address: post the parcel with a tracked service, and you are "
                "refunded within 5 working days of it reaching us.")
    if event.kind == "order.return_refused":
        return (f"About your return of order {number}: the team could not accept it "
                f"({data.get('reason')}). Ask for a person here if you would like to talk "
                "it over.")
    if event.kind == "order.payment_refunded":  # a payment the order could not keep
        paid = f"{data.get('amount')} {data.get('currency')}"
        if data.get("reason") == "duplicate_payment":
            return (f"Order {number} was paid twice. We refunded the second payment of "
                    f"{paid} to your card; banks usually show it within 5-10 days.")
        return (f"Your payment for order {number} arrived after its reservation had run out, "
                f"so the order could not go ahead. We refunded {paid} to your card; banks "
                "usually show it within 5-10 days.")
    return None


def review_requests(event: DomainEvent) -> list[ChatMessage]:
    """After a delivery, one question per product (the first few) with star buttons; a
    tap rates that product of that order (``actions.reviews``)."""
    if event.kind != "order.delivered":
        return []
    number, seen, asks = event.data.get("number", ""), set(), []
    for line in event.data.get("lines") or []:
        sku, name = str(line.get("sku", "")), str(line.get("name", ""))
        if not sku or sku in seen or len(asks) == REVIEW_REQUESTS:
            continue
        seen.add(sku)
        asks.append(ChatMessage(role="bot", text=f"How do you like the {name}? Tap the "
                                "stars to rate it:", buttons=[
            Button(title="★" * stars, payload="/rate_product" + json.dumps(
                {"order_number": number, "sku": sku, "rating": str(stars)}))
            for stars in range(5, 0, -1)]))
    return asks


class ConversationRoutes:
    """Signed-in customer → the conversations that carried their token, newest first."""

    def __init__(self, *, redis_url: str | None = None, prefix: str = "atelier") -> None:
        self._redis = connect(redis_url) if redis_url else None
        self._prefix = prefix
        self._local: dict[str, OrderedDict[str, float]] = {}

    async def link(self, shopper: Shopper, conversation_id: str) -> None:
        if self._redis is None:
            routes = self._local.setdefault(shopper.key, OrderedDict())
            routes.pop(conversation_id, None)
            routes[conversation_id] = time.time()
            while len(routes) > ROUTES_PER_SHOPPER:
                routes.popitem(last=False)
            return
        key = f"{self._prefix}:routes:{shopper.key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {conversation_id: time.time()})
            pipe.zremrangebyrank(key, 0, -ROUTES_PER_SHOPPER - 1)
            pipe.expire(key, ROUTE_TTL_SECONDS)
            await pipe.execute()

    async def link_customer(self, customer: Shopper | None, conversation_id: str) -> None:
        """Send the customer's order news to this conversation (the caller proved that it
        is theirs); nothing without a customer."""
        if customer is None or not CONVERSATION_ID_RE.match(conversation_id):
            return
        try:
            await self.link(customer, conversation_id)
        except RedisError as exc:  # order news then go to the last conversation linked
            log.warning("conversation not linked to its customer: %s", exc,
                        extra={"conversation_id": conversation_id})

    async def latest(self, shopper: Shopper) -> str | None:
        if self._redis is None:
            routes = self._local.get(shopper.key)
            return next(reversed(routes)) if routes else None
        newest = await self._redis.zrange(f"{self._prefix}:routes:{shopper.key}", -1, -1)
        return newest[0] if newest else None

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


@dataclass(frozen=True)
class Told:
    """What one delivery did."""

    conversations: list[str]
    """The conversations told this time."""
    error: str | None = None
    """Why some conversation was not told (it is tried again); None when all were."""


class Notifier:
    """Posts order events in the conversations of the customer they concern."""

    def __init__(self, *, outlet: Outlet, routes: ConversationRoutes) -> None:
        self.outlet = outlet
        self.routes = routes

    async def conversations(self, identities: list[dict[str, str]]) -> list[str]:
        found: list[str] = []
        for identity in identities:
            shopper = Shopper(str(identity.get("channel")), str(identity.get("external_id")))
            if shopper.channel == "web" and shopper.external_id.startswith(SHOP_PREFIX):
                conversation_id = await self.routes.latest(shopper)
            elif shopper.channel in ("web", "telegram"):
                conversation_id = shopper.external_id
            else:
                conversation_id = None  # e.g. the API channel: nobody to tell
            if (conversation_id and CONVERSATION_ID_RE.match(conversation_id)
                    and conversation_id not in found):
                found.append(conversation_id)
        return found

    async def deliver(self, event: DomainEvent, *, told: Collection[str] = ()) -> Told:
        """Post the event's message in every conversation of the customer, except those
        already ``told`` by an earlier attempt.

        Raises:
            RedisError: the conversations of a signed-in customer could not be looked up.
        """
        text = message_for(event)
        if text is None:
            return Told([])
        now_told: list[str] = []
        error: str | None = None
        for conversation_id in await self.conversations(event.data.get("identities") or []):
            if conversation_id in told:
                continue
            try:
                await self.outlet.push(conversation_id, [ChatMessage(role="bot", text=text),
                                                         *review_requests(event)],
                                       must_deliver=True)
            except Exception as exc:  # one unreachable channel must not silence the others
                log.warning("proactive message %s not delivered: %s", event.kind, exc,
                            exc_info=True, extra={"conversation_id": conversation_id})
                error = error or f"{conversation_id}: {type(exc).__name__}: {exc}"
            else:
                now_told.append(conversation_id)
                log.info("proactive message %s for order %s", event.kind,
                         event.data.get("number"), extra={"conversation_id": conversation_id})
        return Told(now_told, error)
