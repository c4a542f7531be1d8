"""What the merchant's planning API answers (the back office reads these)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class ForecastWeek(BaseModel):
    week_start: date = Field(description="Monday of the week")
    forecast: float = Field(description="Expected units sold in the week")
    low: int = Field(description="Low bound of the interval, in units")
    high: int = Field(description="High bound of the interval, in units")


class ProductForecast(BaseModel):
    product_id: int
    name: str
    category: str
    made_to_order: bool
    skus: list[str]
    method: str = Field(description="How it was forecast: tsb (sells some weeks), ses "
                                    "(sells most weeks), none (never sold); per variant")
    units_sold: int = Field(description="Units sold in the history the forecast learnt from")
    weeks_since_first_sale: int
    total: float = Field(description="Expected units over all the weeks")
    weeks: list[ForecastWeek]


class ForecastOut(BaseModel):
    generated_at: datetime
    history_from: date = Field(description="Monday of the first week of history used")
    level: float = Field(description="Probability the intervals are meant to hold")
    count: int = Field(description="Products matching, before limit/offset")
    products: list[ProductForecast]
    notes: list[str]


class PlanProduct(BaseModel):
    product_id: int
    name: str
    order_units: int = Field(description="Units of paid orders promised for this week")
    forecast_units: float = Field(description="Units of orders expected this week")
    making_days_per_unit: float
    making_days: float


class PlanWeek(BaseModel):
    week_start: date
    capacity_days: float = Field(description="Making days the workshop has (this week: "
                                             "only the working days left)")
    order_days: float = Field(description="Making days of paid orders due this week "
                                          "(overdue ones in the first week)")
    forecast_days: float = Field(description="Making days of the orders expected")
    forecast_days_high: float = Field(description="The same at the interval's high bound")
    needed_days: float = Field(description="order_days + forecast_days")
    overloaded: bool = Field(description="needed_days exceed capacity_days")
    scheduled_days: float = Field(description="Making days the schedule spends this week")
    carried_over_days: float = Field(description="Work waiting at the end of the week")
    products: list[PlanProduct]


class LateOrder(BaseModel):
    order_number: str
    product_id: int | None
    sku: str
    name: str
    quantity: int
    ready_by: date = Field(description="The date promised to the shopper")
    expected_ready: date | None = Field(description="When the schedule finishes it "
                                                    "(none: not within five years)")
    slip_days: int = Field(description="Workshop days late")


class PromiseSlip(BaseModel):
    product_id: int
    name: str
    week_start: date
    promised_ready_by: date = Field(description="What the quote engine would promise an "
                                                "order taken at the start of that week")
    expected_ready: date | None
    slip_days: int


class PlanOut(BaseModel):
    generated_at: datetime
    capacity_days_per_week: float
    backlog_days: float = Field(description="Making days of all paid orders still to make")
    weeks: list[PlanWeek]
    late_orders: list[LateOrder] = Field(description="Paid orders that would be ready "
                                                     "after the date promised")
    promise_slips: list[PromiseSlip] = Field(description="Weeks in which the ready-by date "
                                                         "quoted now would not be kept")
    notes: list[str]


class RestockSuggestion(BaseModel):
    sku: str
    product_id: int
    name: str
    action: str = Field(description="make (in the workshop) or reorder (bought in)")
    stock: int
    lead_time_days: int
    forecast_over_lead_time: float
    target_stock: int = Field(description="Forecast over the lead time plus safety stock")
    safety_stock: int
    suggested_quantity: int = Field(description="Whole units to make or reorder now")
    weeks_of_cover: float | None = Field(description="Weeks the stock lasts at the forecast "
                                                     "(none: beyond the forecast)")


class RestockOut(BaseModel):
    generated_at: datetime
    service_level: float
    suggestions: list[RestockSuggestion]
    notes: list[str]
