"""Production planning and restocking, as pure functions over forecasts and the backlog.

**Workshop.** The workshop works Monday to Friday (as the quote engine counts workshop
days, ``add_workshop_days``) and has ``capacity`` making days a week — 5 for one maker
full time, 8 for a maker and a helper three days a week — spread evenly over its working
days.

**Schedule.** Work is done earliest promise first (EDF: the order that minimises the
worst lateness on one machine), as a flow: a day's capacity goes to the released work
with the earliest ready-by date until it is done, then to the next. Paid orders not yet
shipped are released today with their promised ready-by date. Forecast orders are
released at the start of their week (today for this week) with the ready-by date the
quote engine would promise them then: that many workshop days after their release. So
an order slips when the work promised before it, plus what it needs itself, does not fit
in the days until its promise.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from commerce_core.customization.engine import add_workshop_days
from commerce_core.planning.forecast import count_quantile

WORKDAYS_PER_WEEK = 5
MAX_SCHEDULE_DAYS = 5 * 260
"""Five years of workshop days: work that does not fit by then is reported unscheduled."""
EPSILON = 1e-9


@dataclass(frozen=True)
class Job:
    """Work of one order line (``kind`` "order") or of a week's forecast of one product
    ("forecast"), in making days."""

    key: str
    kind: str
    product_id: int
    making_days: float
    release: date
    ready_by: date


@dataclass(frozen=True)
class Done:
    job: Job
    finished: date | None
    """The workshop day the last of its work is done; None: not within five years."""

    @property
    def slip_days(self) -> int:
        """Workshop days after its ready-by date (0 when on time)."""
        if self.finished is None:
            return MAX_SCHEDULE_DAYS
        return workshop_days_between(self.job.ready_by, self.finished)


def next_workday(day: date) -> date:
    while day.weekday() >= WORKDAYS_PER_WEEK:
        day += timedelta(days=1)
    return day


def workshop_days_between(start: date, end: date) -> int:
    """Workshop days after ``start`` up to and including ``end`` (0 when end ≤ start)."""
    days, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if current.weekday() < WORKDAYS_PER_WEEK:
            days += 1
    return days


def working_days_left(today: date) -> int:
    """Workshop days left in ``today``'s week, today included."""
    return max(WORKDAYS_PER_WEEK - today.weekday(), 0)


def schedule(jobs: Sequence[Job], *, today: date, capacity: float
             ) -> tuple[list[Done], dict[date, dict[str, float]]]:
    """Run the workshop EDF from ``today`` (see the module's docstring).

    Returns each job's finish day, and per week (its Monday) the making days spent on
    orders and on forecast work.
    """
    per_day = capacity / WORKDAYS_PER_WEEK
    pending = sorted(jobs, key=lambda j: (j.release, j.ready_by, j.key))
    remaining = {j.key: j.making_days for j in jobs}
    finished: dict[str, date] = {j.key: today for j in jobs if j.making_days <= EPSILON}
    ready: list[tuple[date, date, str, Job]] = []
    spent: dict[date, dict[str, float]] = {}
    day, released, left = next_workday(today), 0, sum(
        1 for j in jobs if j.making_days > EPSILON)
    for _ in range(MAX_SCHEDULE_DAYS if per_day > 0 else 0):
        if left == 0:
            break
        while released < len(pending) and pending[released].release <= day:
            job = pending[released]
            released += 1
            if job.key not in finished:
                heapq.heappush(ready, (job.ready_by, job.release, job.key, job))
        budget = per_day
        monday = day - timedelta(days=day.weekday())
        while budget > EPSILON and ready:
            _, _, key, job = ready[0]
            used = min(budget, remaining[key])
            remaining[key] -= used
            budget -= used
            week = spent.setdefault(monday, {"order": 0.0, "forecast": 0.0})
            week[job.kind] += used
            if remaining[key] <= EPSILON:
                heapq.heappop(ready)
                finished[key] = day
                left -= 1
        day = next_workday(day + timedelta(days=1))
    return [Done(j, finished.get(j.key)) for j in jobs], spent


def forecast_jobs(*, product_id: int, weekly_units: Sequence[float], making_days: float,
                  lead_days: int, today: date) -> list[Job]:
    """The forecast orders of a product as jobs, one per week from this one.

    This week's job holds only the share of the week still to come (its working days
    left) and is released today; later ones are released on their Monday.
    """
    this_monday = today - timedelta(days=today.weekday())
    jobs = []
    for week, units in enumerate(weekly_units):
        monday = this_monday + timedelta(weeks=week)
        share = working_days_left(today) / WORKDAYS_PER_WEEK if week == 0 else 1.0
        release = max(monday, today)
        jobs.append(Job(key=f"forecast:{product_id}:{monday.isoformat()}", kind="forecast",
                        product_id=product_id, making_days=units * share * making_days,
                        release=release, ready_by=add_workshop_days(release, lead_days)))
    return jobs


@dataclass(frozen=True)
class Restock:
    demand: float
    """Forecast demand over the lead time (mean)."""
    target: int
    """Units to hold: the ``service_level`` quantile of the demand over the lead time."""
    suggested: int
    """Whole units to make or reorder now (never negative)."""


def lead_time_share(lead_days: int, weeks: int) -> list[float]:
    """How much of each forecast week falls within ``lead_days`` calendar days."""
    shares, left = [], lead_days / 7
    for _ in range(weeks):
        shares.append(min(max(left, 0.0), 1.0))
        left -= 1
    return shares


def restock(*, means: Sequence[float], variances: Sequence[float], lead_days: int,
            stock: int, service_level: float) -> Restock:
    """How many to make or reorder so that stock lasts the lead time at this service level.

    Demand over the lead time is the sum of the weekly forecasts it covers (a part week
    pro rata; a week's variance scales with its share, as for a Poisson count); the
    target is its ``service_level`` quantile (forecast plus safety stock) and the
    suggestion is what the stock lacks to reach it, in whole units.
    """
    shares = lead_time_share(lead_days, len(means))
    demand = sum(m * s for m, s in zip(means, shares, strict=True))
    variance = sum(v * s for v, s in zip(variances, shares, strict=True))
    target = count_quantile(demand, variance, service_level) if demand > EPSILON else 0
    return Restock(demand=demand, target=target, suggested=max(target - stock, 0))


def weeks_of_cover(stock: int, weekly_means: Sequence[float]) -> float | None:
    """Weeks until the forecast demand uses up ``stock`` (None: beyond the forecast)."""
    left = float(stock)
    for week, mean in enumerate(weekly_means):
        if mean >= left - EPSILON:
            return week + (left / mean if mean > EPSILON else 0.0)
        left -= mean
    return None


def ceil_units(value: float) -> int:
    return int(math.ceil(value - EPSILON))
