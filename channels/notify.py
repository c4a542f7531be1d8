"""Proactive messages: payment received, parcel shipped, delivered, cancelled, refunded.

The commerce core emits ``order.*`` events after commit with the customer's channel
identities. Each identity leads to conversations:

- ``telegram/tg-<chat id>`` and ``web/<conversation id>`` are conversations themselves;
- ``web/shop-<customer ref>`` (a customer signed in by the shop, see
  :mod:`channels.identity`) leads to the conversations that last carried the customer's
  token, which the gateway links in :class:`ConversationRoutes`.

The message is recorded in the conversation like any bot message (``ChatService.push``):
a widget that is open gets it at once, one that is offline gets it with its replay on
reconnect, and a Telegram chat gets it from the bot.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from channels.chat import CONVERSATION_ID_RE, ChatService
from channels.identity import SHOP_PREFIX, Shopper
from channels.messages import ChatMessage
from commerce_core.events import DomainEvent, subscribe

log = logging.getLogger(__name__)
KINDS = ("order.paid", "order.shipped", "order.delivered", "order.cancelled", "order.refunded")
ROUTES_PER_SHOPPER = 3
ROUTE_TTL_SECONDS = 30 * 24 * 3600
SHOPPER_CANCELLED = "cancelled by the shopper"  # commerce_core.payment.service.cancel_order


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
        return (f"Your order {number} was cancelled ({data.get('reason')}). Nothing was "
                "charged; the items are back in the shop.")
    if event.kind == "order.refunded":
        return (f"The refund of order {number} ({amount}) is on its way back to your "
                "card; banks usually show it within 5-10 days.")
    return None


class ConversationRoutes:
    """Signed-in customer → the conversations that carried their token, newest first."""

    def __init__(self, *, redis_url: str | None = None, prefix: str = "atelier") -> None:
        self._redis = (aioredis.Redis.from_url(redis_url, decode_responses=True)
                       if redis_url else None)
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

    async def latest(self, shopper: Shopper) -> str | None:
        if self._redis is None:
            routes = self._local.get(shopper.key)
            return next(reversed(routes)) if routes else None
        newest = await self._redis.zrange(f"{self._prefix}:routes:{shopper.key}", -1, -1)
        return newest[0] if newest else None

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


class Notifier:
    """Subscribes to the order events of this process and posts them in conversations."""

    def __init__(self, *, chat: ChatService, routes: ConversationRoutes) -> None:
        self.chat = chat
        self.routes = routes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[concurrent.futures.Future[Any]] = set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = [subscribe(kind, self._on_event) for kind in KINDS]

    async def stop(self, timeout: float = 10.0) -> None:
        """Take no more events, and let those in hand be delivered (a graceful shutdown)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._tasks:
            await asyncio.wait([asyncio.wrap_future(f) for f in list(self._tasks)],
                               timeout=timeout)

    def _on_event(self, event: DomainEvent) -> None:
        # Called after commit, often in a worker thread of a synchronous route.
        if self._loop is None or self._loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self.deliver(event), self._loop)
        self._tasks.add(future)
        future.add_done_callback(self._tasks.discard)

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

    async def deliver(self, event: DomainEvent) -> list[str]:
        """Post the event's message in every conversation of the customer; returns them."""
        text = message_for(event)
        if text is None:
            return []
        conversations = await self.conversations(event.data.get("identities") or [])
        for conversation_id in conversations:
            try:
                await self.chat.push(conversation_id, [ChatMessage(role="bot", text=text)])
            except Exception:  # one unreachable channel must not silence the others
                log.exception("proactive message not delivered (%s)", event.kind,
                              extra={"conversation_id": conversation_id})
            else:
                log.info("proactive message %s for order %s", event.kind,
                         event.data.get("number"), extra={"conversation_id": conversation_id})
        return conversations
