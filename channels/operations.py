"""What an operator asks the app: ``/health`` (alive), ``/ready`` (every dependency a
shopper's turn needs answers) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from channels.config import GatewaySettings
from channels.deps import RasaDep, SessionFactoryDep, SettingsDep
from channels.redis_link import connect
from commerce_core.errors import error_body
from knowledge.routes import KnowledgeDep

router = APIRouter(tags=["health"])
CHECK_SECONDS = 2.0


class Readiness(BaseModel):
    status: str
    """``ready``, or ``not_ready`` when a check failed."""
    checks: dict[str, str]
    """Each dependency: ``ok``, ``down`` (with why, when known) or ``not_configured``."""


@router.get("/health")
async def health(knowledge: KnowledgeDep) -> dict[str, object]:
    """Liveness: the process answers (no dependency is asked)."""
    return {"status": "ok", "products_indexed": len(knowledge.index.docs)}


@router.get("/ready", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "a dependency is down"}})
async def ready(settings: SettingsDep, rasa: RasaDep,
                factory: SessionFactoryDep) -> JSONResponse:
    """Readiness: the database, Redis (when configured), Rasa and the action server."""
    names = ("database", "redis", "rasa", "actions")
    results = await asyncio.gather(_database(factory), _redis(settings), _ask(rasa.healthy()),
                                   _ask(rasa.actions_healthy()))
    checks = dict(zip(names, results, strict=True))
    ok = all(value in ("ok", "not_configured") for value in checks.values())
    body = Readiness(status="ready" if ok else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


async def _database(factory: sessionmaker[Session]) -> str:

    def ping() -> None:
        with factory() as session:
            session.execute(text("SELECT 1"))
    try:
        await asyncio.wait_for(run_in_threadpool(ping), CHECK_SECONDS)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


async def _redis(settings: GatewaySettings) -> str:
    if not settings.redis_url:
        return "not_configured"
    client = connect(settings.redis_url)
    try:
        await asyncio.wait_for(client.ping(), CHECK_SECONDS)
    except (RedisError, OSError, TimeoutError) as exc:
        return f"down: {type(exc).__name__}"
    finally:
        await client.aclose()
    return "ok"


async def _ask(check: Any) -> str:
    try:
        healthy = await asyncio.wait_for(check, CHECK_SECONDS + 0.5)
    except TimeoutError:
        return "down: timeout"
    return "ok" if healthy else "down"


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}},
                       401: {"description": "ATELIER_METRICS_TOKEN is set and not given"}})
async def metrics(settings: SettingsDep,
                  authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus exposition; with ``ATELIER_METRICS_TOKEN`` set, only for
    ``Authorization: Bearer <token>``."""
    token = settings.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        if authorization is None or not secrets.compare_digest(authorization.encode(),
                                                               expected.encode()):
            return JSONResponse(error_body("unauthorized", "Metrics need the metrics token."),
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
    payload = await run_in_threadpool(generate_latest)  # the queue gauges read the database
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
