"""The app of the default run: commerce API + search under ``/api``, gateway, widget.

Run with ``uvicorn channels.app:create_app --factory``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.agent import include as include_agent_console
from channels.body_limit import BodyLimit
from channels.config import GatewaySettings, get_settings
from channels.delivery.history import History, MemoryHistory, RedisHistory
from channels.delivery.transcripts import TranscriptHistory
from channels.deps import Gateway
from channels.deps import install as install_gateway
from channels.errors import install_gateway_error_handler
from channels.merchant import include as include_back_office
from channels.operations import router as operations_router
from channels.rasa_client import make_rasa_client
from channels.redis_link import install_outage_handler
from channels.tasks import start_gateway_jobs
from channels.telegram.outbound import start_telegram_outbound
from channels.telegram.webhook import router as telegram_router
from channels.telegram.webhook import start_telegram_webhook, stop_telegram_webhook
from channels.web.origins import ChatCors, Origins
from channels.web.routes import router as chat_router
from commerce_core.api import include as include_commerce
from commerce_core.catalog.jobs import fail_stale_jobs, import_runner
from commerce_core.catalog.merchant import IMPORT_PATH
from commerce_core.config import get_settings as get_core_settings
from commerce_core.db import get_session, get_sessionmaker, request_session
from commerce_core.errors import install_error_handlers
from commerce_core.observability.http import RequestContext
from commerce_core.observability.queues import watch_queues
from commerce_core.payment.routes import default_provider
from commerce_core.tasks import start_commerce_jobs
from knowledge.config import KnowledgeSettings
from knowledge.config import get_settings as get_knowledge_settings
from knowledge.embedding import get_embedder
from knowledge.faq_routes import router as faq_router
from knowledge.faq_service import FaqService
from knowledge.gap_routes import router as gap_router
from knowledge.recommend.routes import router as recommend_router
from knowledge.recommend.service import RecommendService
from knowledge.routes import router as search_router
from knowledge.service import KnowledgeService

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")


def make_history(settings: GatewaySettings) -> History:
    if settings.redis_url:
        return RedisHistory(settings.redis_url, settings.redis_prefix, settings.history_limit)
    return MemoryHistory(settings.history_limit)


def create_app(settings: GatewaySettings | None = None, *,
               session_factory: sessionmaker[Session] | None = None,
               knowledge_settings: KnowledgeSettings | None = None) -> FastAPI:
    """Assemble the app; the keyword arguments replace the environment's database/index."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ks = knowledge_settings or get_knowledge_settings()
        knowledge = KnowledgeService(settings=ks,
                                     session_factory=session_factory or get_sessionmaker())
        app.state.knowledge = knowledge
        recommender = app.state.recommender = RecommendService(
            index=lambda: knowledge.index,
            session_factory=session_factory or get_sessionmaker(), directory=ks.index_path)
        faq = FaqService(directory=ks.faq_dir,
                         embedder_factory=lambda: get_embedder(ks.embedding_model))
        faq.start()
        app.state.faq = faq
        if settings.warm_search_on_start:  # the first shopper must not wait for the model
            await run_in_threadpool(knowledge.refresh)
            await run_in_threadpool(knowledge.embedder.encode_one, "warm up")
            await run_in_threadpool(faq.reload)
            await run_in_threadpool(recommender.view)
        rasa = make_rasa_client(settings)
        factory = session_factory or get_sessionmaker()
        stop_watching_queues = watch_queues(factory)
        await run_in_threadpool(fail_stale_jobs, factory=factory)
        history = TranscriptHistory(make_history(settings), factory)
        gateway = await Gateway.open(settings, factory=factory, rasa=rasa, history=history)
        install_gateway(app, gateway)
        app.state.telegram = await start_telegram_webhook(settings, gateway.chat,
                                                          limiter=gateway.limiter)
        close_outbound = start_telegram_outbound(settings, gateway.chat, app.state.telegram)
        stop_commerce_jobs = start_commerce_jobs(
            factory=factory, parcel_check_seconds=settings.parcel_check_seconds)
        stop_gateway_jobs = start_gateway_jobs(gateway)
        try:
            yield
        finally:
            stop_watching_queues()
            await stop_commerce_jobs()
            await stop_gateway_jobs()
            await gateway.aclose()
            await close_outbound()
            faq.close()
            await stop_telegram_webhook(app.state.telegram)
            await run_in_threadpool(import_runner().close)  # before the index it tells
            recommender.close()
            knowledge.close()
            await default_provider().webhooks.aclose()
            await rasa.aclose()
            await history.aclose()

    app = FastAPI(title="Atelier", lifespan=lifespan)
    install_error_handlers(app)
    install_gateway_error_handler(app)
    install_outage_handler(app)
    app.add_middleware(BodyLimit, default=settings.max_body_bytes,
                       paths={f"/api{IMPORT_PATH}": get_core_settings().max_import_bytes})
    app.add_middleware(ChatCors, origins=Origins(settings))  # outside: a 413 gets CORS too
    app.add_middleware(RequestContext)  # outermost: every answer has its request id

    if session_factory is not None:
        async def scoped_session() -> AsyncIterator[Session]:
            async with request_session(session_factory) as session:
                yield session

        app.dependency_overrides[get_session] = scoped_session

    include_commerce(app)
    app.include_router(search_router, prefix="/api")
    app.include_router(faq_router, prefix="/api")
    app.include_router(gap_router, prefix="/api")
    app.include_router(recommend_router, prefix="/api")
    app.include_router(chat_router)
    app.include_router(telegram_router)
    include_agent_console(app)
    include_back_office(app)
    app.include_router(operations_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def demo_shop() -> FileResponse:
        return FileResponse(STATIC_DIR / "demo" / "index.html")

    return app
