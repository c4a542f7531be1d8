"""The agent console: sign-in, the live queue, transcripts, replies, hand-back."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from channels.agent.throttle import make_login_throttle
from channels.config import GatewaySettings
from channels.desk import HandoffDesk
from channels.outlet import Outlet
from channels.rasa_client import RasaClient
from channels.staffing import StaffedHours


def make_desk(settings: GatewaySettings, session_factory: sessionmaker[Session], *,
              outlet: Outlet, rasa: RasaClient) -> HandoffDesk:
    return HandoffDesk(session_factory=session_factory, outlet=outlet, rasa=rasa,
                       staffed_hours=StaffedHours.parse(settings.staffed_hours),
                       timeout=timedelta(seconds=settings.handoff_timeout_seconds),
                       max_message_chars=settings.max_message_chars)


def include(app: FastAPI, settings: GatewaySettings) -> None:
    """The console's routes, and the state they read (``app.state.desk`` comes from the
    lifespan)."""
    from channels.agent.routes import page_router, router
    from channels.agent.socket import router as socket_router

    app.state.settings = settings
    app.state.login_throttle = make_login_throttle(settings)  # Redis when configured
    app.include_router(router)
    app.include_router(socket_router)
    app.include_router(page_router)
