"""The agent console: the page at ``/agent`` and its API under ``/agent/api``.

Every API route but ``login`` needs a console session (cookie or bearer token) and answers
401 without one. A request that changes something with the cookie must come from the
console's own page (channels/agent/csrf.py); the bearer token is sent by API clients only.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from channels.agent.auth import (
    COOKIE,
    agent_for_token,
    authenticate,
    close_session,
    normalize_email,
    open_session,
)
from channels.agent.csrf import check_cookie_request, check_sign_in
from channels.agent.views import conversation_detail
from channels.chat import CONVERSATION_ID_RE
from channels.delivery.erasure import wipe_trackers
from channels.delivery.transcripts import delete_customer_data, search
from channels.deps import ChatDep, DeskDep, LoginThrottleDep, RasaDep, SettingsDep, WipesDep
from channels.handoff.desk import AgentRef
from channels.handoff.repository import ConversationRepository
from commerce_core.auth import Unauthorized
from commerce_core.db import SessionDep
from commerce_core.errors import (
    InvalidInput,
    error_body,
    error_response,
    error_responses,
)
from commerce_core.models import Agent

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' https: data:; "
                                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # the console's own requests keep their Origin
    "Cache-Control": "no-store",
}
router = APIRouter(prefix="/agent/api", tags=["agent"], responses={
    **error_response(401, "no console session (sign in), or a wrong email or password"),
    **error_response(422, "invalid input; the message says which field and why")})
CROSS_SITE = error_response(403, "a change with the session cookie from a page of another "
                                 "site (channels/agent/csrf.py)")
CHANGE = {**CROSS_SITE, **error_response(404, "no such conversation"),
          **error_response(409, "the conversation is not in a state that allows it")}
page_router = APIRouter()


def bearer_token(authorization: str | None) -> str | None:
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


def token_of(authorization: str | None, cookie: str | None) -> str | None:
    return bearer_token(authorization) or cookie


def require_agent(request: Request, session: SessionDep, settings: SettingsDep) -> AgentRef:
    bearer = bearer_token(request.headers.get("authorization"))
    agent = agent_for_token(session=session, token=bearer or request.cookies.get(COOKIE))
    if agent is None:
        raise Unauthorized("Sign in to the agent console first.")
    if bearer is None:
        check_cookie_request(request.method, request.headers,
                             public_url=settings.public_url)
    ref = AgentRef(id=agent.id, email=agent.email, name=agent.name)
    # End the read now: on SQLite an open transaction holds the write lock, and the desk
    # writes in sessions of its own while this request is still running.
    session.rollback()
    return ref


AgentDep = Annotated[AgentRef, Depends(require_agent)]


def _conversation_id(conversation_id: str) -> str:
    if not CONVERSATION_ID_RE.match(conversation_id):
        raise InvalidInput("That is not a conversation id.", code="invalid_conversation_id")
    return conversation_id


ConversationId = Annotated[str, Depends(_conversation_id)]


def _agent_json(agent: Agent | AgentRef) -> dict[str, Any]:
    return {"id": agent.id, "email": agent.email, "name": agent.name}


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class ReplyIn(BaseModel):
    text: str = Field(max_length=100_000)


@page_router.get("/agent", include_in_schema=False)
async def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "agent.html", headers=PAGE_HEADERS)


def _too_many(wait: float) -> JSONResponse:
    seconds = max(1, math.ceil(wait))
    return JSONResponse(
        error_body("too_many_attempts", f"Too many failed sign-ins; try again in {seconds} s.",
                   {"retry_after": seconds}),
        status_code=429, headers={"Retry-After": str(seconds)})


@router.post("/login", response_model=None,
             responses={**error_response(403, "a sign-in from a page of another site"),
                        **error_responses(413),
                        **error_response(429, "wait (Retry-After) before trying")})
def login(body: LoginIn, request: Request, response: Response, session: SessionDep,
          settings: SettingsDep, throttle: LoginThrottleDep) -> dict | JSONResponse:
    check_sign_in(request.headers, public_url=settings.public_url)
    email = normalize_email(body.email)
    client = request.client.host if request.client else "-"
    wait = throttle.retry_after(account=email, client=client)
    if wait > 0:
        return _too_many(wait)
    agent = authenticate(session=session, email=email, password=body.password)
    if agent is None:
        throttle.failed(account=email, client=client)
        raise Unauthorized("Wrong email or password.")
    throttle.succeeded(account=email, client=client)
    lifetime = timedelta(hours=settings.agent_session_hours)
    token = open_session(session=session, agent=agent, lifetime=lifetime)
    session.commit()
    response.set_cookie(COOKIE, token, max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/agent")
    return {"token": token, "agent": _agent_json(agent)}


@router.post("/logout", responses=CROSS_SITE)
def logout(request: Request, response: Response, session: SessionDep, _: AgentDep) -> dict:
    token = token_of(request.headers.get("authorization"), request.cookies.get(COOKIE))
    if token:
        close_session(session=session, token=token)
        session.commit()
    response.delete_cookie(COOKIE, path="/agent")
    return {"ok": True}


@router.get("/me")
def me(agent: AgentDep) -> dict:
    return _agent_json(agent)


@router.get("/queue")
def get_queue(agent: AgentDep, session: SessionDep) -> dict:
    lists = ConversationRepository(session).queue(agent_id=agent.id)
    return {name: [e.as_json() for e in entries] for name, entries in lists.items()}


@router.get("/conversations/{conversation_id}",
            responses=error_response(404, "no such conversation"))
def get_conversation(_: AgentDep, session: SessionDep, conversation_id: ConversationId) -> dict:
    return conversation_detail(session=session, conversation_id=conversation_id)


@router.post("/conversations/{conversation_id}/claim", responses=CHANGE)
async def claim(agent: AgentDep, desk: DeskDep, conversation_id: ConversationId) -> dict:
    await desk.claim(agent=agent, conversation_id=conversation_id)
    return {"ok": True, "state": "agent"}


@router.post("/conversations/{conversation_id}/reply",
             responses={**CHANGE, **error_responses(413)})
async def reply(agent: AgentDep, desk: DeskDep, conversation_id: ConversationId,
                body: ReplyIn) -> dict:
    message = await desk.reply(agent=agent, conversation_id=conversation_id, text=body.text)
    return message.model_dump(mode="json")


@router.post("/conversations/{conversation_id}/handback", responses=CHANGE)
async def hand_back(agent: AgentDep, desk: DeskDep, conversation_id: ConversationId) -> dict:
    await desk.hand_back(agent=agent, conversation_id=conversation_id)
    return {"ok": True, "state": "bot"}


@router.post("/conversations/{conversation_id}/close", responses=CHANGE)
async def close(agent: AgentDep, desk: DeskDep, conversation_id: ConversationId) -> dict:
    await desk.close(agent=agent, conversation_id=conversation_id)
    return {"ok": True, "state": "closed"}


@router.get("/search")
def search_transcripts(_: AgentDep, session: SessionDep, q: str = "") -> dict:
    try:
        return {"results": search(session=session, query=q)}
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_search") from None


@router.delete("/customers/{channel}/{external_id}",
               responses={**CROSS_SITE, **error_response(
                   503, "Redis is down: nothing was deleted; try again (Retry-After)")})
async def delete_customer(_: AgentDep, session: SessionDep, chat: ChatDep, rasa: RasaDep,
                          wipes: WipesDep, channel: str, external_id: str) -> dict:
    """Delete a customer's personal data, and wipe their conversations from the bot.

    ``bot_memory.waiting`` lists the conversations whose tracker the bot could not empty
    now (it is down or starting); the gateway keeps retrying them, and they are not
    reported as wiped before they are.
    """
    if len(channel) > 20 or len(external_id) > 128:
        raise InvalidInput("That is not a shopper identity.", code="invalid_identity")
    deletion = await run_in_threadpool(lambda: delete_customer_data(
        session=session, channel=channel, external_id=external_id))
    # Written down before the commit: once the rows are gone, nothing else names them.
    await wipes.add(deletion.conversations)
    await run_in_threadpool(session.commit)
    for conversation_id in deletion.conversations:
        await chat.forget(conversation_id)
    waiting = await wipe_trackers(rasa=rasa, wipes=wipes,
                                  conversation_ids=deletion.conversations)
    return {**deletion.as_json(), "bot_memory": {
        "wiped": [c for c in deletion.conversations if c not in waiting], "waiting": waiting}}
