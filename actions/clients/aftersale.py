"""Orders after the sale: status, tracking, cancellation, returns — owner-checked."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from actions.clients.commerce import CommerceClient, CommerceError, ProductNotFound
from actions.shopper import Shopper


class OrderNotFound(CommerceError):
    """No such order for this shopper (the same answer for somebody else's order)."""


class NotShipped(CommerceError):
    """The order has no parcel yet."""


class OrderLine(BaseModel):
    sku: str
    name: str
    options: dict[str, Any]
    unit_price: Decimal
    quantity: int
    line_total: Decimal


class OrderEvent(BaseModel):
    type: str
    at: datetime


class Order(BaseModel):
    id: int
    number: str
    status: str
    payment_status: str
    email: str
    currency: str
    lines: list[OrderLine]
    total: Decimal
    ready_by: str
    created_at: datetime
    events: list[OrderEvent] = []


class TrackingEvent(BaseModel):
    status: str
    description: str
    location: str
    at: datetime


class Shipment(BaseModel):
    order_number: str
    carrier: str
    tracking_number: str
    status: str
    shipped_at: datetime
    delivered_at: datetime | None
    events: list[TrackingEvent]


class Review(BaseModel):
    id: int
    order_number: str
    sku: str
    product_name: str
    rating: int
    comment: str


class ReviewableLine(BaseModel):
    """A product of one of the shopper's delivered orders, with their review if written."""

    order_number: str
    sku: str
    name: str
    review: Review | None = None


def _number(number: str) -> str:
    return quote(number.strip().upper()[:16], safe="")


class AfterSaleClient(CommerceClient):
    """The shopper's own orders, always through their identity path."""

    async def _owned(self, method: str, path: str, json: Any = None) -> Any:
        try:
            return await self._request(method, path, json=json)
        except ProductNotFound as exc:  # every 404 of these paths is "no such order of yours"
            kind = NotShipped if exc.code == "not_shipped" else OrderNotFound
            raise kind(exc.message, exc.code, exc.status) from None

    async def orders(self, shopper: Shopper, limit: int = 5) -> list[Order]:
        data = await self._get(f"{shopper.path}/orders", params={"limit": limit})
        return [Order.model_validate(item) for item in data]

    async def order(self, shopper: Shopper, number: str) -> Order:
        data = await self._owned("GET", f"{shopper.path}/orders/{_number(number)}")
        return Order.model_validate(data)

    async def lookup(self, number: str, email: str) -> Order:
        data = await self._owned("POST", "/orders/lookup",
                                 json={"number": number.strip().upper()[:16], "email": email})
        return Order.model_validate(data)

    async def shipment(self, shopper: Shopper, number: str) -> Shipment:
        data = await self._owned("GET", f"{shopper.path}/orders/{_number(number)}/shipment")
        return Shipment.model_validate(data)

    async def cancel(self, shopper: Shopper, number: str) -> Order:
        data = await self._owned("POST", f"{shopper.path}/orders/{_number(number)}/cancel")
        return Order.model_validate(data)

    async def request_return(self, shopper: Shopper, number: str, reason: str = "") -> Order:
        data = await self._owned("POST", f"{shopper.path}/orders/{_number(number)}/return",
                                 json={"reason": reason[:500]})
        return Order.model_validate(data)

    async def cart_brief(self, shopper: Shopper) -> tuple[int, Decimal, str]:
        """(item count, subtotal, currency) of the shopper's open cart."""
        data = await self._get(f"{shopper.path}/cart")
        return int(data["item_count"]), Decimal(str(data["subtotal"])), str(data["currency"])

    async def shipment_by_id(self, order_id: int) -> Shipment:
        """The parcel of an order whose ownership was already checked (number + email)."""
        return Shipment.model_validate(await self._owned("GET", f"/orders/{order_id}/shipment"))

    async def reviewable(self, shopper: Shopper, limit: int = 20) -> list[ReviewableLine]:
        data = await self._get(f"{shopper.path}/reviews", params={"limit": limit})
        return [ReviewableLine.model_validate(item) for item in data]

    async def write_review(self, shopper: Shopper, number: str, *, sku: str, rating: int,
                           comment: str = "") -> Review:
        """Rate one product of the shopper's delivered order (or change that rating)."""
        data = await self._owned("PUT", f"{shopper.path}/orders/{_number(number)}/review",
                                 json={"sku": sku, "rating": rating, "comment": comment})
        return Review.model_validate(data)
