"""The gateway's collaborators as typed route dependencies.

The app's lifespan builds them once into a :class:`Gateway` (:func:`install`); a route
asks for the part it needs (``ChatDep``, ``DeskDep``, ``OwnersDep`` …) and never reads
``app.state`` itself. HTTP routes and WebSockets take the same dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from channels.agent.throttle import LoginThrottle, make_login_throttle
from channels.chat import ChatService
from channels.config import GatewaySettings
from channels.delivery.bus import make_bus
from channels.delivery.erasure import Wipes, make_wipes
from channels.delivery.history import History
from channels.delivery.notify import ConversationRoutes
from channels.delivery.outlet import Outlet
from channels.delivery.transcripts import TranscriptHistory
from channels.handoff.desk import HandoffDesk, make_desk
from channels.identity import CustomerTokens
from channels.limits import RateLimiter, make_limiter
from channels.pending import make_pending
from channels.rasa_client import RasaClient
from channels.turns import TurnLog
from channels.web.origins import Origins
from channels.web.ownership import ConversationOwners


@dataclass(frozen=True)
class Gateway:
    """What the gateway's routes use, built once per app."""

    settings: GatewaySettings
    session_factory: sessionmaker[Session]
    rasa: RasaClient
    outlet: Outlet
    chat: ChatService
    desk: HandoffDesk
    owners: ConversationOwners
    customers: CustomerTokens
    news_routes: ConversationRoutes
    """Which conversations a signed-in customer's order news go to."""
    limiter: RateLimiter
    wipes: Wipes
    origins: Origins
    login_throttle: LoginThrottle

    @classmethod
    async def open(cls, settings: GatewaySettings, *, factory: sessionmaker[Session],
                   rasa: RasaClient, history: History) -> Gateway:
        """Build the collaborators, in Redis where ``settings`` configure it (shared by
        gateway replicas and the Telegram worker), else in this process."""
        url, prefix = settings.redis_url, settings.redis_prefix
        outlet = Outlet(history=history, bus=make_bus(history, redis_url=url, prefix=prefix),
                        pending=make_pending(redis_url=url, prefix=prefix))
        await outlet.bus.start()
        desk = make_desk(settings, factory, outlet=outlet, rasa=rasa)
        transcript = history if isinstance(history, TranscriptHistory) else None
        chat = ChatService(rasa=rasa, outlet=outlet, handoff=desk,
                           turns=TurnLog(factory, transcript=transcript),
                           max_message_chars=settings.max_message_chars)
        return cls(settings=settings, session_factory=factory, rasa=rasa, outlet=outlet,
                   chat=chat, desk=desk, owners=ConversationOwners(factory),
                   customers=CustomerTokens(settings.widget_secret),
                   news_routes=ConversationRoutes(redis_url=url, prefix=prefix),
                   limiter=make_limiter(settings), wipes=make_wipes(redis_url=url, prefix=prefix),
                   origins=Origins(settings), login_throttle=make_login_throttle(settings))

    async def aclose(self) -> None:
        """Close the stores (not the Rasa client nor the history, which the caller gave)."""
        for store in (self.outlet.bus, self.outlet.pending, self.limiter, self.wipes,
                      self.news_routes):
            await store.aclose()


def install(app: FastAPI, gateway: Gateway) -> None:
    app.state.gateway = gateway


def gateway_of(connection: HTTPConnection) -> Gateway:
    """The app's :class:`Gateway`, for code that is not a route dependency."""
    gateway: Gateway = connection.app.state.gateway
    return gateway


async def get_gateway(connection: HTTPConnection) -> Gateway:
    # async, as the parts below: FastAPI runs a plain function dependency in the thread
    # pool, a hand-over to a worker thread per dependency and request for a lookup
    return gateway_of(connection)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def _part(pick: Callable[[Gateway], object]) -> Any:
    """``Depends`` on one part of the app's :class:`Gateway`."""
    async def dependency(gateway: GatewayDep) -> object:
        return pick(gateway)
    return Depends(dependency)


SettingsDep = Annotated[GatewaySettings, _part(lambda gateway: gateway.settings)]
SessionFactoryDep = Annotated[sessionmaker[Session],
                              _part(lambda gateway: gateway.session_factory)]
RasaDep = Annotated[RasaClient, _part(lambda gateway: gateway.rasa)]
OutletDep = Annotated[Outlet, _part(lambda gateway: gateway.outlet)]
HistoryDep = Annotated[History, _part(lambda gateway: gateway.outlet.history)]
ChatDep = Annotated[ChatService, _part(lambda gateway: gateway.chat)]
DeskDep = Annotated[HandoffDesk, _part(lambda gateway: gateway.desk)]
OwnersDep = Annotated[ConversationOwners, _part(lambda gateway: gateway.owners)]
CustomersDep = Annotated[CustomerTokens, _part(lambda gateway: gateway.customers)]
NewsRoutesDep = Annotated[ConversationRoutes, _part(lambda gateway: gateway.news_routes)]
LimiterDep = Annotated[RateLimiter, _part(lambda gateway: gateway.limiter)]
WipesDep = Annotated[Wipes, _part(lambda gateway: gateway.wipes)]
OriginsDep = Annotated[Origins, _part(lambda gateway: gateway.origins)]
LoginThrottleDep = Annotated[LoginThrottle, _part(lambda gateway: gateway.login_throttle)]
