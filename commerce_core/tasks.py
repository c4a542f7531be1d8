"""The commerce side's periodic jobs, started by whichever app serves the commerce API."""

from __future__ import annotations

from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from commerce_core.jobs import Stop, run_every, start_all
from commerce_core.order.tasks import RESERVATION_CHECK_SECONDS, expire_unpaid_orders
from commerce_core.shipment.tasks import follow_parcels


def start_commerce_jobs(*, factory: sessionmaker[Session], parcel_check_seconds: float,
                        reservation_check_seconds: float = RESERVATION_CHECK_SECONDS,
                        ) -> Stop:
    """Start expiring unpaid orders and following parcels; returns what stops them."""
    return start_all(
        run_every("expiring unpaid orders", reservation_check_seconds,
                  partial(expire_unpaid_orders, factory=factory)),
        run_every("following parcels", parcel_check_seconds,
                  partial(follow_parcels, factory=factory), wait_first=True))
