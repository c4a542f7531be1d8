from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from commerce_core.auth import require_service
from commerce_core.catalog import service
from commerce_core.catalog.schemas import ProductDetail, ProductPage
from commerce_core.db import SessionDep
from commerce_core.errors import error_responses
from commerce_core.params import OneLine, ProductId

router = APIRouter(prefix="/products", tags=["catalog"],
                   dependencies=[Depends(require_service)],
                   responses=error_responses(401, 422))


@router.get("", response_model=ProductPage)
def list_products(
    session: SessionDep,
    category: Annotated[OneLine | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ProductPage:
    return service.list_products(session=session, category=category, limit=limit, offset=offset)


@router.get("/{product_id:int}", response_model=ProductDetail, responses=error_responses(404))
def get_product(session: SessionDep, product_id: ProductId) -> ProductDetail:
    return service.get_product(session=session, product_id=product_id)
