"""The commerce API: routers of every domain, and a standalone app for its own service."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from commerce_core.cart.routes import router as cart_router
from commerce_core.catalog.merchant import router as merchant_catalog_router
from commerce_core.catalog.routes import router as catalog_router
from commerce_core.customization.routes import router as quote_router
from commerce_core.db import SessionDep
from commerce_core.errors import error_responses, install_error_handlers
from commerce_core.order.routes import router as order_router
from commerce_core.payment.routes import pages as payment_pages
from commerce_core.payment.routes import router as payment_router
from commerce_core.planning.routes import router as planning_router
from commerce_core.review.routes import router as review_router
from commerce_core.shipment.routes import router as shipment_router

router = APIRouter()
router.include_router(catalog_router)
router.include_router(merchant_catalog_router)
router.include_router(quote_router)
router.include_router(cart_router, responses=error_responses(401, 404, 409, 413, 422))
router.include_router(order_router)
router.include_router(payment_router)
router.include_router(shipment_router)
router.include_router(planning_router)
router.include_router(review_router)


@router.get("/health", tags=["health"])
def health(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


def include(app: FastAPI) -> None:
    """Mount the commerce API (under /api) and the hosted payment pages (/pay) on ``app``."""
    app.include_router(router, prefix="/api")
    app.include_router(payment_pages)


def create_app() -> FastAPI:
    app = FastAPI(title="Atelier commerce API")
    install_error_handlers(app)
    include(app)
    return app
