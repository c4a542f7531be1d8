"""The commerce side's periodic jobs, started by whichever app serves the commerce API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from commerce_core.jobs import run_every
from commerce_core.order.tasks import RESERVATION_CHECK_SECONDS, expire_unpaid_orders
from commerce_core.shipment.tasks import follow_parcels


def start_commerce_jobs(*, factory: sessionmaker[Session], parcel_check_seconds: float,
                        reservation_check_seconds: float = RESERVATION_CHECK_SECONDS,
                        ) -> Callable[[], Awaitable[None]]:
    """Start expiring unpaid orders and following parcels; returns what stops them."""
    tasks = [
        asyncio.create_task(run_every("expiring unpaid orders", reservation_check_seconds,
                                      partial(expire_unpaid_orders, factory=factory))),
        asyncio.create_task(run_every("following parcels", parcel_check_seconds,
                                      partial(follow_parcels, factory=factory),
                                      wait_first=True))]

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return stop
