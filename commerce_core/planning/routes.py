"""The merchant's planning API: demand forecast, production plan, restock suggestions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from commerce_core import clock
from commerce_core.auth import MerchantDep
from commerce_core.db import SessionDep
from commerce_core.errors import error_responses
from commerce_core.planning import production, service
from commerce_core.planning.schemas import ForecastOut, PlanOut, RestockOut
from commerce_core.planning.settings import get_planning_settings

router = APIRouter(prefix="/merchant", tags=["planning"], responses=error_responses(401, 422))
MAX_WEEKS = 26
Weeks = Annotated[int, Query(ge=1, le=MAX_WEEKS, description="Weeks ahead, this one first")]
Level = Annotated[float, Query(ge=0.5, le=0.99, description="Probability the interval holds")]


@router.get("/forecast", response_model=ForecastOut)
def forecast(_: MerchantDep, session: SessionDep, weeks: Weeks = 8, level: Level = 0.8,
             category: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 100,
             offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> ForecastOut:
    return service.product_forecasts(session=session, now=clock.now(), weeks=weeks,
                                     level=level, category=category, limit=limit,
                                     offset=offset, settings=get_planning_settings())


@router.get("/production-plan", response_model=PlanOut)
def production_plan(
        _: MerchantDep, session: SessionDep, weeks: Weeks = 8, level: Level = 0.8,
        capacity: Annotated[float | None, Query(
            ge=0, le=70, allow_inf_nan=False,
            description="Making days a week, instead of the shop's setting (to try what "
                        "another helper would change)")] = None) -> PlanOut:
    settings = get_planning_settings()
    return production.production_plan(
        session=session, now=clock.now(), weeks=weeks, level=level,
        capacity=settings.workshop_days_per_week if capacity is None else capacity,
        settings=settings)


@router.get("/restock-suggestions", response_model=RestockOut)
def restock_suggestions(
        _: MerchantDep, session: SessionDep,
        service_level: Annotated[float | None, Query(ge=0.5, le=0.99)] = None,
        include_all: bool = False) -> RestockOut:
    settings = get_planning_settings()
    return service.restock_suggestions(
        session=session, now=clock.now(),
        service_level=settings.restock_service_level if service_level is None
        else service_level, include_all=include_all, settings=settings)
