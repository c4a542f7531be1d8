"""The commerce API: routers of every domain, and a standalone app for its own service."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from commerce_core.catalog.routes import router as catalog_router
from commerce_core.db import SessionDep
from commerce_core.errors import install_error_handlers

router = APIRouter()
router.include_router(catalog_router)


@router.get("/health", tags=["health"])
def health(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


def create_app() -> FastAPI:
    app = FastAPI(title="Atelier commerce API")
    install_error_handlers(app)
    app.include_router(router, prefix="/api")
    return app
