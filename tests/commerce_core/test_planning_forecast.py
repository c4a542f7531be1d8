"""The forecasting methods on hand-made series whose answer is known."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import stats

from commerce_core.planning.forecast import (
    SEASON,
    aggregate,
    count_interval,
    count_quantile,
    dispersion,
    forecast,
    is_intermittent,
    pooled_profiles,
    seasonal_profile,
    week_of_year,
    weeks_of_year,
)

FIRST_MONDAY = date(2022, 1, 3)  # ISO week 1 of 2022
WOY = weeks_of_year(FIRST_MONDAY, 3 * SEASON + 8)
WAVE = 1 + 0.5 * np.sin(2 * np.pi * np.arange(SEASON) / SEASON)
"""A smooth yearly season with mean 1: +50 % in spring, −50 % in autumn."""


@pytest.mark.parametrize("method", ["auto", "auto_flat", "ses", "mean", "snaive"])
def test_a_constant_series_is_forecast_as_that_constant(method: str) -> None:
    result = forecast(np.full(30, 3.0), horizon=8, level=0.8, method=method)
    assert result.mean == pytest.approx(np.full(8, 3.0))
    assert np.all(result.low <= 3) and np.all(result.high >= 3)


def test_auto_smooths_a_series_that_sells_every_week() -> None:
    assert forecast(np.full(30, 3.0), horizon=2, level=0.8).method == "auto:ses"


def test_seasonal_naive_repeats_last_year() -> None:
    # given three years of a pure seasonal pattern
    y = np.tile(np.arange(SEASON, dtype=float), 3)
    # when
    result = forecast(y, horizon=8, level=0.8, method="snaive")
    # then each week is the same week a year before, with no error to widen it
    assert result.mean == pytest.approx(np.arange(8, dtype=float))
    assert result.low == pytest.approx(result.mean) and result.high == pytest.approx(result.mean)


def test_seasonal_naive_without_a_year_of_history_is_naive() -> None:
    result = forecast(np.array([1.0, 4.0, 2.0]), horizon=3, level=0.8, method="snaive")
    assert result.mean == pytest.approx([2.0, 2.0, 2.0])


def test_the_profile_of_a_busy_seasonal_shop_is_its_season() -> None:
    total = 100 * WAVE[WOY[:3 * SEASON]]
    profile = seasonal_profile(total, WOY[:3 * SEASON])
    assert profile.mean() == pytest.approx(1.0)
    assert np.abs(profile - WAVE).max() < 0.02


@pytest.mark.parametrize("rate", [1, 5, 20])
def test_the_profile_of_noise_stays_almost_flat(rate: float) -> None:
    # Poisson noise alone: the peaks it makes by chance are shrunk away
    total = np.random.default_rng(3).poisson(rate, 3 * SEASON).astype(float)
    profile = seasonal_profile(total, WOY[:3 * SEASON])
    raw = np.bincount(WOY[:3 * SEASON], weights=total) / 3 / total.mean()
    assert np.abs(profile - 1).max() < 0.15
    assert np.abs(profile - 1).max() < np.abs(raw - 1).max() / 2


def test_less_than_a_year_tells_no_season() -> None:
    assert seasonal_profile(100 * WAVE[WOY[:40]], WOY[:40]) == pytest.approx(np.ones(SEASON))


def test_a_category_profile_is_shrunk_towards_the_shop() -> None:
    # a busy category carries the season; a category with hardly any sales borrows it
    busy = 100 * WAVE[WOY[:3 * SEASON]]
    quiet = np.random.default_rng(11).poisson(0.1, 3 * SEASON).astype(float)
    profiles = pooled_profiles({"ceramics": busy, "prints": quiet}, WOY[:3 * SEASON])
    assert np.abs(profiles["prints"] - profiles[""]).max() < 0.05
    assert np.abs(profiles[""] - WAVE).max() < 0.03


def test_auto_puts_the_pooled_season_on_a_product() -> None:
    # given a product selling 10 a week times the shop's season, for three years
    n = 3 * SEASON
    y = 10 * WAVE[WOY[:n]]
    profile = seasonal_profile(100 * WAVE[WOY[:n]], WOY[:n])
    # when
    result = forecast(y, horizon=8, level=0.8, season_past=profile[WOY[:n]],
                      season_future=profile[WOY[n:n + 8]])
    flat = forecast(y, horizon=8, level=0.8, method="auto_flat")
    # then the forecast follows the season; without it, it would be flat
    truth = 10 * WAVE[WOY[n:n + 8]]
    assert result.mean == pytest.approx(truth, rel=0.03)
    assert np.ptp(flat.mean) == pytest.approx(0.0)


def test_an_intermittent_series_gets_its_average_rate() -> None:
    # two units every fourth week: half a unit a week on average
    y = np.array([0.0, 0.0, 0.0, 2.0] * 10)
    assert is_intermittent(y)
    tsb = forecast(y, horizon=4, level=0.8)
    assert tsb.method == "auto:tsb"
    assert tsb.mean == pytest.approx(np.full(4, 0.5), abs=0.05)
    # Croston's size over interval is exactly 2 / 4; SBA takes off its bias, 1 − α/2
    sba = forecast(y, horizon=4, level=0.8, method="sba")
    assert any(sba.mean[0] == pytest.approx(0.5 * (1 - a / 2)) for a in (0.05, 0.1, 0.2, 0.3))
    assert sba.low == pytest.approx(np.zeros(4))


def test_a_product_that_stopped_selling_fades_out() -> None:
    y = np.array([2.0, 0.0] * 20 + [0.0] * 20)
    assert forecast(y, horizon=1, level=0.8).mean[0] < 0.5
    assert forecast(y[:40], horizon=1, level=0.8).mean[0] > 0.8


def test_a_product_never_sold_is_forecast_at_zero() -> None:
    for history in (np.zeros(0), np.zeros(10)):
        result = forecast(history, horizon=3, level=0.8)
        assert result.mean == pytest.approx(np.zeros(3))
        assert result.high == pytest.approx(np.zeros(3))


def test_count_interval_of_a_poisson() -> None:
    # P(Y < 2) = 0.092 for Poisson(4): the high bound is the quantile at 0.8 + 0.092
    low, high = count_interval(np.array([4.0]), np.array([4.0]), 0.8)
    assert (low[0], high[0]) == (2, 7)


@pytest.mark.parametrize(("mean", "var"), [(0.3, 0.3), (0.3, 0.6), (2.0, 6.0), (12.0, 30.0)])
def test_count_interval_holds_the_level_and_no_more_than_it_needs(mean: float,
                                                                 var: float) -> None:
    low, high = count_interval(np.array([mean]), np.array([var]), 0.8)
    law = (stats.poisson(mean) if var == mean else
           stats.nbinom(mean ** 2 / (var - mean), mean / var))

    def mass(a: float, b: float) -> float:
        return float(law.cdf(b) - (law.cdf(a - 1) if a > 0 else 0.0))

    assert mass(low[0], high[0]) >= 0.8
    assert mass(low[0], high[0] - 1) < 0.8  # one unit less on top would not hold it


def test_count_quantile() -> None:
    assert count_quantile(6.0, 6.0, 0.9) == 9  # Poisson(6): P(≤8) 0.847, P(≤9) 0.916


def test_dispersion_of_poisson_and_negative_binomial_counts() -> None:
    rng = np.random.default_rng(5)
    mu = np.full(4000, 3.0)
    phi_poisson, used = dispersion(rng.poisson(mu).astype(float), mu)
    phi_nb, _ = dispersion(rng.negative_binomial(2, 2 / 5, size=4000).astype(float), mu)
    assert used == 3996
    assert phi_poisson == pytest.approx(0.0, abs=0.05)
    assert phi_nb == pytest.approx(0.5, abs=0.1)  # shape 2: Var = μ + μ²/2


def test_aggregate_adds_means_and_variances() -> None:
    a = forecast(np.full(20, 2.0), horizon=2, level=0.8)
    b = forecast(np.full(20, 5.0), horizon=2, level=0.8)
    total = aggregate([a, b], 0.8)
    assert total.mean == pytest.approx(a.mean + b.mean)
    assert total.var == pytest.approx(a.var + b.var)
    assert np.all(total.low <= 7) and np.all(total.high >= 7)


def test_week_of_year_folds_week_53() -> None:
    assert week_of_year(date(2020, 12, 28)) == SEASON - 1  # ISO week 53 of 2020
    assert week_of_year(date(2021, 1, 4)) == 0


@pytest.mark.parametrize("weeks", [SEASON - 1, SEASON, SEASON + 1])
def test_a_profile_from_about_a_year_of_history(weeks: int) -> None:
    profile = seasonal_profile(100 * WAVE[WOY[:weeks]], WOY[:weeks])
    assert profile.shape == (SEASON,) and profile.mean() == pytest.approx(1.0)
