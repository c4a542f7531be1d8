"""Periodic work of the order domain."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from commerce_core import clock
from commerce_core.order.service import expire_reservations

log = logging.getLogger(__name__)

RESERVATION_CHECK_SECONDS = 60.0


async def expire_unpaid_orders(*, factory: sessionmaker[Session]) -> int:
    """Give back the stock of orders whose payment did not arrive in time."""
    def run_once() -> int:
        with factory() as session:
            count = expire_reservations(session=session, now=clock.now())
            session.commit()
            return count

    count = await run_in_threadpool(run_once)
    if count:
        log.info("released the stock of %d unpaid orders", count)
    return count
