"""Carriers. The built-in simulated carrier reports a realistic parcel journey over time."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

ORIGIN = "Lyon, FR"


@dataclass(frozen=True)
class TrackingEvent:
    status: str
    description: str
    location: str
    at: datetime


class Carrier(Protocol):
    name: str

    def create_label(self) -> str:
        """Book a parcel; returns its tracking number."""
        ...

    def tracking_url(self, tracking_number: str) -> str | None:
        """The carrier's public page of the parcel, if it has one."""
        ...

    def track(self, *, tracking_number: str, shipped_at: datetime, destination: dict[str, str],
              now: datetime) -> list[TrackingEvent]:
        """The parcel's events that have happened by ``now``, oldest first."""
        ...


class SimulatedCarrier:
    """A carrier whose parcels move on a fixed timetable, scaled by ``time_scale``.

    Label created at once, picked up after 3 h, at the sorting hub after 18 h, out for
    delivery after 42 h, delivered after 48 h (a little later for parcels abroad).
    """

    name = "simulated"
    STEPS = (
        ("label_created", 0, "Shipping label created, waiting for pick-up"),
        ("picked_up", 3, "Picked up from the workshop"),
        ("in_transit", 18, "Arrived at the sorting hub"),
        ("out_for_delivery", 42, "Out for delivery"),
        ("delivered", 48, "Delivered"),
    )

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale

    def create_label(self) -> str:
        return "ATS" + "".join(secrets.choice("0123456789") for _ in range(12)) + "FR"

    def tracking_url(self, tracking_number: str) -> str | None:
        return None  # no public page: the shopper asks the bot, which tracks the parcel

    def _offset(self, hours: float, tracking_number: str, abroad: bool) -> timedelta:
        # A stable per-parcel jitter (up to 2 h), so journeys are not identical.
        jitter = int(hashlib.sha256(tracking_number.encode()).hexdigest()[:4], 16) % 120
        extra = 24 if abroad and hours >= 18 else 0
        minutes = (hours + extra) * 60 + (jitter if hours else 0)
        return timedelta(minutes=minutes * self.time_scale)

    def track(self, *, tracking_number: str, shipped_at: datetime, destination: dict[str, str],
              now: datetime) -> list[TrackingEvent]:
        city = f"{destination.get('city', '')}, {destination.get('country', '')}".strip(", ")
        abroad = destination.get("country", "FR").upper() != "FR"
        events = []
        for status, hours, description in self.STEPS:
            at = shipped_at + self._offset(hours, tracking_number, abroad)
            if at > now:
                break
            location = ORIGIN if hours < 18 else ("Paris, FR" if hours == 18 else city)
            events.append(TrackingEvent(status=status, description=description,
                                        location=location, at=at))
        return events
