"""The built-in ``sandbox`` provider: a hosted card page and webhooks, like a real PSP.

It never touches an order. It decides the outcome of a card from the sandbox test cards
and tells the core through signed events POSTed to ``/api/payments/webhook``: delivered
once inline (so the page can show a settled order), and on a connection error or a 5xx
retried in the background with exponential backoff. Card data lives only in the memory
of one request: it is never stored, logged or echoed back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

import httpx

from commerce_core import clock
from commerce_core.config import get_settings
from commerce_core.payment.provider import (
    EventType,
    HostedPayment,
    PaymentRef,
    RefundReceipt,
    build_event,
)
from commerce_core.payment.signing import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/payments/webhook"
APPROVED_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
TEST_CARDS = (
    (APPROVED_CARD, "payment succeeds"),
    (DECLINED_CARD, "card is declined"),
)
DECLINED = "Your card was declined."
UNSUPPORTED = "Your card was declined (unsupported test card): use one of the sandbox cards."
_EXPIRY = re.compile(r"^(\d{1,2})\s*/\s*(\d{2}|\d{4})$")
_REMEMBERED_KEYS = 4096


@dataclass(frozen=True)
class Card:
    """A card typed into the hosted page; number and CVC stay out of reprs and logs."""

    name: str
    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    reason: str | None
    event_delivered: bool


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def read_card(fields: Mapping[str, str], *, today: date) -> tuple[Card | None, dict[str, str]]:
    """Validate the card form; returns the card, or None and one message per bad field."""
    errors: dict[str, str] = {}
    name = " ".join(fields.get("name", "").split())
    if not 2 <= len(name) <= 100 or not name.isprintable():
        errors["name"] = "Enter the name shown on the card."
    number = re.sub(r"[\s-]", "", fields.get("number", ""))
    if not number.isascii() or not number.isdigit() or not 12 <= len(number) <= 19:
        errors["number"] = "Enter the 12 to 19 digits of the card number."
    elif not luhn_valid(number):
        errors["number"] = "This card number is not valid; check the digits."
    month = year = 0
    match = _EXPIRY.match(fields.get("expiry", "").strip())
    if match and match.group(1).isascii() and match.group(2).isascii():
        month, year = int(match.group(1)), int(match.group(2))
        year += 2000 if year < 100 else 0
    if not 1 <= month <= 12:
        errors["expiry"] = "Enter the expiry date as MM/YY, for example 04/29."
    elif (year, month) < (today.year, today.month):
        errors["expiry"] = "This card has expired."
    cvc = fields.get("cvc", "").strip()
    if not cvc.isascii() or not cvc.isdigit() or not 3 <= len(cvc) <= 4:
        errors["cvc"] = "Enter the 3 or 4 digit security code (CVC)."
    if errors:
        return None, errors
    return Card(name=name, number=number, exp_month=month, exp_year=year, cvc=cvc), {}


def decide(card: Card) -> str | None:
    """The decline reason for ``card``, or None when the sandbox approves it."""
    if card.number == APPROVED_CARD:
        return None
    if card.number == DECLINED_CARD:
        return DECLINED
    return UNSUPPORTED


class Delivery(Enum):
    DELIVERED = "delivered"
    REFUSED = "refused"  # a 4xx: sending the same bytes again cannot help
    RETRY = "retry"


class _Borrowed(httpx.AsyncBaseTransport):
    """Lends an injected transport to short-lived clients without letting them close it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


class WebhookSender:
    """Signs and POSTs events; failed ones wait in memory for their retries.

    Each event that could not be delivered inline gets one asyncio task, started lazily on
    the running loop, that retries it ``attempts - 1`` more times after
    ``backoff_seconds * 2**n``. Pending events are lost if the process stops — the price
    of a sandbox; the core stays consistent because every event is idempotent.
    """

    def __init__(self, *, url: str, secret: str, transport: httpx.AsyncBaseTransport | None,
                 attempts: int, backoff_seconds: float, timeout_seconds: float) -> None:
        self.url = url
        self._secret = secret
        self._transport = transport
        self._attempts = max(1, attempts)
        self._backoff = backoff_seconds
        self._timeout = timeout_seconds
        self._retries: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return sum(1 for task in self._retries if not task.done())

    async def send(self, event: dict[str, Any]) -> bool:
        """Deliver once now; on a retryable failure keep it for later. True if delivered."""
        body = json.dumps(event, separators=(",", ":")).encode()
        outcome = await self.post(body, event_id=event["id"])
        if outcome is Delivery.RETRY and self._attempts > 1:
            task = asyncio.get_running_loop().create_task(self._retry(body, event["id"]))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        return outcome is Delivery.DELIVERED

    async def post(self, body: bytes, *, event_id: str) -> Delivery:
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(body, secret=self._secret,
                                          timestamp=int(clock.now().timestamp()))}
        transport = _Borrowed(self._transport) if self._transport is not None else None
        try:
            async with httpx.AsyncClient(transport=transport, timeout=self._timeout) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            log.warning("webhook delivery failed event=%s url=%s error=%s", event_id, self.url,
                        type(exc).__name__)
            return Delivery.RETRY
        if response.status_code >= 500:
            log.warning("webhook delivery failed event=%s status=%s", event_id,
                        response.status_code)
            return Delivery.RETRY
        if response.status_code >= 400:
            log.error("webhook refused event=%s status=%s body=%s", event_id,
                      response.status_code, response.text[:200])
            return Delivery.REFUSED
        log.info("webhook delivered event=%s status=%s", event_id, response.status_code)
        return Delivery.DELIVERED

    async def _retry(self, body: bytes, event_id: str) -> None:
        for attempt in range(2, self._attempts + 1):
            await asyncio.sleep(self._backoff * 2 ** (attempt - 2))
            outcome = await self.post(body, event_id=event_id)
            if outcome is not Delivery.RETRY:
                return
        log.error("webhook given up event=%s after %s attempts", event_id, self._attempts)

    async def drain(self) -> None:
        """Wait until every pending retry has finished (delivered, refused or given up)."""
        while self._retries:
            await asyncio.gather(*list(self._retries), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._retries):
            task.cancel()
        await asyncio.gather(*list(self._retries), return_exceptions=True)


def _remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
    store[key] = value
    while len(store) > _REMEMBERED_KEYS:
        store.popitem(last=False)


class SandboxProvider:
    """Test cards instead of a bank; otherwise the contract of a real provider.

    Args:
        public_url: base of the hosted page links (``{public_url}/pay/{token}``).
        webhook_base: where the core listens; events go to ``{webhook_base}``
            ``/api/payments/webhook``. Both default to ``get_settings().public_url``.
        transport: an httpx transport for the deliveries, e.g. ``httpx.ASGITransport(app)``
            to deliver in-process.
    """

    name = "sandbox"

    def __init__(self, *, public_url: str | None = None, webhook_base: str | None = None,
                 secret: str | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 attempts: int = 5, backoff_seconds: float = 1.0,
                 timeout_seconds: float = 5.0) -> None:
        settings = get_settings()
        self.public_url = (public_url or settings.public_url).rstrip("/")
        base = (webhook_base or settings.public_url).rstrip("/")
        self.webhooks = WebhookSender(
            url=base + WEBHOOK_PATH, secret=secret or settings.payment_webhook_secret,
            transport=transport, attempts=attempts, backoff_seconds=backoff_seconds,
            timeout_seconds=timeout_seconds)
        self._payments: OrderedDict[str, HostedPayment] = OrderedDict()
        self._refunds: OrderedDict[str, RefundReceipt] = OrderedDict()

    async def create_payment(self, *, order_id: int, amount: Decimal, currency: str,
                             idempotency_key: str) -> HostedPayment:
        known = self._payments.get(idempotency_key)
        if known is not None:
            return known
        token = secrets.token_urlsafe(24)
        hosted = HostedPayment(token=token, url=self.page_url(token))
        _remember(self._payments, idempotency_key, hosted)
        return hosted

    def page_url(self, token: str) -> str:
        return f"{self.public_url}/pay/{token}"

    async def charge(self, *, payment: PaymentRef, card: Card) -> ChargeResult:
        """Charge ``card`` for ``payment`` and emit the outcome as a webhook event."""
        reason = decide(card)
        ref = f"ch_{secrets.token_hex(8)}_{card.last4}"
        if reason is None:
            event = build_event(type=EventType.PAYMENT_SUCCEEDED, payment=payment,
                                created=self.timestamp(), provider_ref=ref)
        else:
            event = build_event(type=EventType.PAYMENT_FAILED, payment=payment,
                                created=self.timestamp(), reason=reason, provider_ref=ref)
        delivered = await self.webhooks.send(event)
        return ChargeResult(approved=reason is None, reason=reason, event_delivered=delivered)

    async def refund(self, *, payment: PaymentRef, idempotency_key: str,
                     reason: str) -> RefundReceipt:
        known = self._refunds.get(idempotency_key)
        if known is not None:  # refunded once already: its event is delivered or queued
            return known
        reference = f"re_{secrets.token_hex(8)}"
        _remember(self._refunds, idempotency_key, RefundReceipt(reference=reference))
        event = build_event(type=EventType.REFUND_SUCCEEDED, payment=payment,
                            created=self.timestamp(), reason=reason, provider_ref=reference)
        await self.webhooks.send(event)
        return RefundReceipt(reference=reference)

    async def emit(self, event: dict[str, Any]) -> bool:
        """Deliver an event built elsewhere (``build_event``); True once delivered."""
        return await self.webhooks.send(event)

    @staticmethod
    def timestamp() -> float:
        return round(clock.now().timestamp(), 6)
