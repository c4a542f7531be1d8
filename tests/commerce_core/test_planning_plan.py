"""The workshop schedule and restock arithmetic on examples worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from commerce_core.planning.plan import (
    MAX_SCHEDULE_DAYS,
    Job,
    forecast_jobs,
    lead_time_share,
    restock,
    schedule,
    weeks_of_cover,
    workshop_days_between,
)

MONDAY = date(2025, 3, 3)


def job(key: str, days: float, ready_by: date, *, release: date = MONDAY,
        kind: str = "order") -> Job:
    return Job(key=key, kind=kind, product_id=1, making_days=days, release=release,
               ready_by=ready_by)


def test_earliest_promise_first_at_one_making_day_a_day() -> None:
    # given A (3 days, due Wednesday) and B (2 days, due Tuesday), both from Monday
    jobs = [job("A", 3, MONDAY + timedelta(days=2)), job("B", 2, MONDAY + timedelta(days=1))]
    # when the workshop has 5 making days a week
    done, spent = schedule(jobs, today=MONDAY, capacity=5)
    # then B is made Monday-Tuesday, on time; A Wednesday to Friday, two days late
    by_key = {d.job.key: d for d in done}
    assert by_key["B"].finished == MONDAY + timedelta(days=1)
    assert by_key["B"].slip_days == 0
    assert by_key["A"].finished == MONDAY + timedelta(days=4)
    assert by_key["A"].slip_days == 2
    assert spent == {MONDAY: {"order": 5.0, "forecast": 0.0}}


def test_weekends_are_not_working_days() -> None:
    friday = MONDAY + timedelta(days=4)
    done, spent = schedule([job("A", 2, friday, release=friday)], today=friday, capacity=5)
    assert done[0].finished == MONDAY + timedelta(weeks=1)  # Friday, then Monday
    assert done[0].slip_days == 1
    assert set(spent) == {MONDAY, MONDAY + timedelta(weeks=1)}


def test_work_is_not_started_before_it_is_released() -> None:
    later = MONDAY + timedelta(days=3)
    done, _ = schedule([job("F", 1, later + timedelta(days=1), release=later,
                            kind="forecast")], today=MONDAY, capacity=10)
    assert done[0].finished == later


def test_without_capacity_nothing_is_ever_made() -> None:
    done, spent = schedule([job("A", 1, MONDAY)], today=MONDAY, capacity=0)
    assert done[0].finished is None and done[0].slip_days == MAX_SCHEDULE_DAYS
    assert spent == {}


def test_workshop_days_between() -> None:
    assert workshop_days_between(MONDAY, MONDAY) == 0
    assert workshop_days_between(MONDAY, MONDAY + timedelta(days=7)) == 5
    assert workshop_days_between(MONDAY + timedelta(days=4), MONDAY + timedelta(days=7)) == 1


def test_forecast_jobs_start_with_the_rest_of_this_week() -> None:
    wednesday = MONDAY + timedelta(days=2)
    jobs = forecast_jobs(product_id=7, weekly_units=[2.0, 1.0], making_days=1.5,
                         lead_days=2, today=wednesday)
    # Wednesday to Friday is 3/5 of this week's 2 units; next week's starts on its Monday
    assert [j.making_days for j in jobs] == pytest.approx([2.0 * 0.6 * 1.5, 1.5])
    assert [j.release for j in jobs] == [wednesday, MONDAY + timedelta(weeks=1)]
    assert [j.ready_by for j in jobs] == [MONDAY + timedelta(days=4),
                                          MONDAY + timedelta(weeks=1, days=2)]


def test_restock_tops_the_stock_up_to_the_service_level_quantile() -> None:
    # 3 a week (Poisson), 14 days to restock: 6 expected, and P(Poisson(6) ≤ 9) = 0.916
    need = restock(means=[3.0] * 4, variances=[3.0] * 4, lead_days=14, stock=4,
                   service_level=0.9)
    assert need.demand == pytest.approx(6.0)
    assert (need.target, need.suggested) == (9, 5)
    assert restock(means=[3.0] * 4, variances=[3.0] * 4, lead_days=14, stock=20,
                   service_level=0.9).suggested == 0
    assert restock(means=[0.0] * 4, variances=[0.0] * 4, lead_days=14, stock=0,
                   service_level=0.9).suggested == 0


def test_a_lead_time_in_part_weeks_counts_them_pro_rata() -> None:
    assert lead_time_share(10, 3) == pytest.approx([1.0, 3 / 7, 0.0])
    need = restock(means=[7.0, 7.0, 7.0], variances=[7.0] * 3, lead_days=10, stock=0,
                   service_level=0.5)
    assert need.demand == pytest.approx(10.0)


def test_weeks_of_cover() -> None:
    assert weeks_of_cover(5, [2.0, 2.0, 2.0]) == pytest.approx(2.5)
    assert weeks_of_cover(0, [2.0]) == pytest.approx(0.0)
    assert weeks_of_cover(50, [2.0, 2.0]) is None
