"""What the core asks of a payment provider (PSP), and what it hears back.

The core asks a provider for two things: a hosted payment page for an order, and a refund
of a payment. It never learns the outcome from the answer to those calls: the provider
tells it later, with signed webhook events (see ``signing``) posted to
``/api/payments/webhook``. That is how real providers behave — the shopper may close the
page, the network may drop the answer — so the webhook is the only source of truth.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from commerce_core.errors import CommerceError


class EventType(StrEnum):
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    REFUND_SUCCEEDED = "refund.succeeded"


class ProviderError(CommerceError):
    """The provider refused or could not be reached; the caller decides what to undo."""

    code = "payment_provider_error"
    http_status = 502


@dataclass(frozen=True)
class PaymentRef:
    """What a provider needs to know about one of our payments."""

    token: str
    order_id: int
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class HostedPayment:
    """A payment page the shopper can open; ``token`` identifies it in every event."""

    token: str
    url: str


@dataclass(frozen=True)
class RefundReceipt:
    """The provider accepted the refund; ``refund.succeeded`` follows as an event."""

    reference: str


@runtime_checkable
class PaymentProvider(Protocol):
    name: str
    """Stored on each payment, at most 20 characters."""

    async def create_payment(self, *, order_id: int, amount: Decimal, currency: str,
                             idempotency_key: str) -> HostedPayment:
        """Open a hosted payment for ``amount`` of an order.

        Args:
            idempotency_key: the same key must give back the same payment, so a retried
                call never opens a second one at the provider.
        """
        ...

    def page_url(self, token: str) -> str:
        """The link of the hosted page of the payment ``token`` (the same every time)."""
        ...

    async def refund(self, *, payment: PaymentRef, idempotency_key: str,
                     reason: str) -> RefundReceipt:
        """Give the whole amount of a succeeded payment back.

        Raises:
            ProviderError: the refund was not accepted; nothing will follow.
        """
        ...


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def build_event(*, type: EventType, payment: PaymentRef, created: float,
                reason: str | None = None, provider_ref: str | None = None,
                event_id: str | None = None) -> dict[str, Any]:
    """An event in the one format every provider adapter emits to the webhook.

    ``{"id": "evt_…", "type": "payment.succeeded", "created": 1700000000.123,
    "data": {"payment_token", "order_id", "amount": "34.50", "currency",
    "reason"?, "provider_ref"?}}``
    """
    data: dict[str, Any] = {"payment_token": payment.token, "order_id": payment.order_id,
                            "amount": str(payment.amount), "currency": payment.currency}
    if reason is not None:
        data["reason"] = reason
    if provider_ref is not None:
        data["provider_ref"] = provider_ref
    return {"id": event_id or new_event_id(), "type": type.value, "created": created,
            "data": data}
