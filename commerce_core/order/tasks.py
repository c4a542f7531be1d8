"""Periodic work of the order domain."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from commerce_core.jobs import sweep
from commerce_core.order.service import expire_reservations

log = logging.getLogger(__name__)

RESERVATION_CHECK_SECONDS = 60.0


async def expire_unpaid_orders(*, factory: sessionmaker[Session]) -> int:
    """Give back the stock of orders whose payment did not arrive in time."""
    count = await sweep(factory, expire_reservations)
    if count:
        log.info("released the stock of %d unpaid orders", count)
    return count
