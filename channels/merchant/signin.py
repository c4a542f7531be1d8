"""Signing in to the back office and out again, with the console's accounts, password
checks and throttle of wrong passwords."""

from __future__ import annotations

import math
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from channels.agent.auth import authenticate, close_session, normalize_email, open_session
from channels.agent.throttle import LoginThrottle
from channels.deps import gateway_of
from channels.merchant.auth import (
    COOKIE,
    COOKIE_PATH,
    FormDep,
    check_own_page,
    safe_next,
    settings_of,
)
from channels.merchant.html import Html, h, page
from commerce_core.db import SessionDep
from commerce_core.models import AgentRole

router = APIRouter(include_in_schema=False)


def _form(next_page: str, email: str = "") -> Html:
    return h('<div class="signin"><form method="post" action="/merchant/login" '
             'id="login-form">'
             '<input type="hidden" name="next" value="{}">'
             '<label for="login-email">Email</label>'
             '<input id="login-email" name="email" type="email" autocomplete="username" '
             'required maxlength="254" value="{}">'
             '<label for="login-password">Password</label>'
             '<input id="login-password" name="password" type="password" '
             'autocomplete="current-password" required maxlength="256">'
             '<button type="submit" id="login-submit">Sign in</button></form></div>',
             next_page, email)


def _signin_page(next_page: str, *, email: str = "", error: str | None = None,
                 status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    response = page(title="Sign in", body=_form(next_page, email), error=error, status=status)
    response.headers.update(headers or {})
    return response


@router.get("/merchant/login")
def login_page(next: str = "/merchant") -> HTMLResponse:  # noqa: A002 - the query's name
    return _signin_page(safe_next(next))


@router.post("/merchant/login")
def login(request: Request, session: SessionDep, form: FormDep) -> Response:
    check_own_page(request)
    settings = settings_of(request)
    throttle: LoginThrottle = gateway_of(request).login_throttle
    email, password = normalize_email(form.get("email", ""))[:254], form.get("password", "")
    next_page = safe_next(form.get("next"))
    client = request.client.host if request.client else "-"
    wait = throttle.retry_after(account=email, client=client)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        return _signin_page(next_page, email=email, status=429,
                            error=f"Too many failed sign-ins; try again in {seconds} s.",
                            headers={"Retry-After": str(seconds)})
    account = authenticate(session=session, email=email, password=password[:256])
    if account is None:
        throttle.failed(account=email, client=client)
        return _signin_page(next_page, email=email, status=401,
                            error="Wrong email or password.")
    throttle.succeeded(account=email, client=client)
    if account.role is not AgentRole.OWNER:
        session.commit()  # a re-hashed password is kept; no session is opened
        return _signin_page(next_page, email=email, status=403, error=(
            "This account answers shoppers in the agent console; the back office is for "
            "the shop's owner."))
    lifetime = timedelta(hours=settings.agent_session_hours)
    token = open_session(session=session, agent=account, lifetime=lifetime)
    session.commit()
    response = RedirectResponse(next_page, status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https",
                        path=COOKIE_PATH)
    return response


@router.post("/merchant/logout")
def logout(request: Request, session: SessionDep) -> Response:
    check_own_page(request)
    token = request.cookies.get(COOKIE)
    if token:
        close_session(session=session, token=token)
        session.commit()
    response = RedirectResponse("/merchant/login", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
