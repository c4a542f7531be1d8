"""Settings of production planning and restocking, read from ``ATELIER_*`` variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlanningSettings(BaseSettings):
    """The workshop and the stock policy, as the merchant sets them."""

    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    workshop_days_per_week: float = Field(default=5.0, ge=0, le=70)
    """Making days the workshop has each week (5: one maker full time; 7.5: a maker and a
    half-time helper). The plan of a week may be asked with another capacity."""
    restock_lead_time_days: int = Field(default=14, ge=0, le=365)
    """Days from deciding to make or reorder a stocked product to having it on the shelf,
    unless the product says otherwise (attribute ``lead_time_days``)."""
    restock_service_level: float = Field(default=0.9, ge=0.5, le=0.99)
    """Chance that stock lasts the lead time: the quantile of the forecast demand that a
    restock aims for (0.9: out of stock before the new batch in one lead time of ten)."""
    forecast_history_weeks: int = Field(default=156, ge=8, le=520)
    """How many weeks of orders the forecasts learn from (three years by default)."""


@lru_cache
def get_planning_settings() -> PlanningSettings:
    return PlanningSettings()
