"""The gateway's delivery parts, built once per app: message bus, messages waiting for the
bot, rate limits, customer tokens, the routes of proactive messages and the relay that
posts them from the outbox.

Each part lives in Redis when ``ATELIER_REDIS_URL`` is set (shared by gateway replicas)
and in this process otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import partial

from redis.exceptions import RedisError
from sqlalchemy.orm import Session, sessionmaker

from channels.bus import Bus, make_bus
from channels.chat import CONVERSATION_ID_RE, ChatService
from channels.config import GatewaySettings
from channels.erasure import Wipes, make_wipes, retry_wipes
from channels.history import History
from channels.identity import Shopper, verify_customer_token
from channels.limits import RateLimiter, make_limiter
from channels.notify import ConversationRoutes, Notifier
from channels.origins import Origins
from channels.outbox import OutboxRelay
from channels.pending import MemoryPending, Pending, RedisPending
from commerce_core.jobs import run_every

log = logging.getLogger(__name__)


class Delivery:
    def __init__(self, settings: GatewaySettings, history: History) -> None:
        url, prefix = settings.redis_url, settings.redis_prefix
        self.settings = settings
        self.bus: Bus = make_bus(history, redis_url=url, prefix=prefix)
        self.pending: Pending = RedisPending(url, prefix) if url else MemoryPending()
        self.limiter: RateLimiter = make_limiter(settings)
        self.wipes: Wipes = make_wipes(redis_url=url, prefix=prefix)
        """Conversations of deleted customers whose bot tracker is still to be wiped."""
        self.routes = ConversationRoutes(redis_url=url, prefix=prefix)
        self.origins = Origins(settings)
        self.relay: OutboxRelay | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.bus.start()

    def attach(self, chat: ChatService, factory: sessionmaker[Session]) -> None:
        """Start relaying order events from the outbox to conversations, retrying
        messages that wait for the bot and bot trackers still to be wiped."""
        self.relay = OutboxRelay(factory=factory,
                                 notifier=Notifier(outlet=chat.outlet, routes=self.routes),
                                 settings=self.settings)
        self.relay.start()
        every = self.settings.bot_retry_seconds
        self._tasks = [
            asyncio.create_task(run_every("answering messages waiting for the bot", every,
                                          chat.answer_waiting, wait_first=True)),
            asyncio.create_task(run_every("retrying tracker wipes", every,
                                          partial(retry_wipes, rasa=chat.rasa, wipes=self.wipes),
                                          wait_first=True))]

    def customer(self, token: str | None) -> Shopper | None:
        """The customer a token vouches for (None without a token); nothing is linked.

        Raises:
            IdentityError: the token is malformed, tampered with or expired.
        """
        if not token:
            return None
        secret = self.settings.widget_secret
        return verify_customer_token(token, now=time.time(),
                                     secret=secret.get_secret_value() if secret else None)

    async def link(self, customer: Shopper | None, conversation_id: str) -> None:
        """Send the customer's order news to this conversation (the caller proved that it
        is theirs)."""
        if customer is None or not CONVERSATION_ID_RE.match(conversation_id):
            return
        try:
            await self.routes.link(customer, conversation_id)
        except RedisError as exc:  # order news then go to the last conversation linked
            log.warning("conversation not linked to its customer: %s", exc,
                        extra={"conversation_id": conversation_id})

    async def aclose(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.bus.aclose()
        await self.pending.aclose()
        await self.limiter.aclose()
        await self.wipes.aclose()
        await self.routes.aclose()
