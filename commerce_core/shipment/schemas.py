from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class TrackingEventOut(BaseModel):
    status: str
    description: str
    location: str
    at: datetime


class ShipmentOut(BaseModel):
    order_number: str
    carrier: str
    tracking_number: str
    status: str
    shipped_at: datetime
    delivered_at: datetime | None
    events: list[TrackingEventOut]
