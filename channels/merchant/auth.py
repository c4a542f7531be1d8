"""Who may use the back office: a signed-in owner of the shop.

Accounts and sessions are the agent console's (channels/agent/auth.py); the back office
keeps its session in a cookie of its own (path ``/merchant``, HttpOnly, SameSite=Strict).
A request without a session is sent to the sign-in page (a page) or refused with 401; an
agent's session is refused with 403. A request that changes something with the cookie
must come from the back office's own pages (the console's check, channels/agent/csrf.py);
API clients send the session token as ``Authorization: Bearer`` instead.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from channels.agent.auth import agent_for_token
from channels.agent.csrf import CrossSiteRequest, Site, check_cookie_request, request_site
from channels.agent.routes import bearer_token
from channels.config import GatewaySettings
from channels.deps import gateway_of
from channels.merchant.html import h, page
from commerce_core.audit.service import Actor
from commerce_core.db import SessionDep
from commerce_core.errors import InvalidInput
from commerce_core.models import AgentRole

COOKIE = "atelier_merchant"
COOKIE_PATH = "/merchant"
FORM_MAX_BYTES = 16 * 1024


class SignInRequired(Exception):  # noqa: N818 - a refusal, answered by a redirect
    """No back office session: pages go to the sign-in form."""


class OwnersOnly(Exception):  # noqa: N818 - a refusal, answered by a 403 page
    """A session of an account that is not the shop's owner."""


def settings_of(request: Request) -> GatewaySettings:
    return gateway_of(request).settings


def require_owner(request: Request, session: SessionDep) -> Actor:
    bearer = bearer_token(request.headers.get("authorization"))
    account = agent_for_token(session=session, token=bearer or request.cookies.get(COOKIE))
    if account is None:
        raise SignInRequired
    if bearer is None:
        check_cookie_request(request.method, request.headers,
                             public_url=settings_of(request).public_url)
    if account.role is not AgentRole.OWNER:
        raise OwnersOnly
    return Actor(id=account.id, email=account.email, name=account.name)


OwnerDep = Annotated[Actor, Depends(require_owner)]


def check_own_page(request: Request) -> None:
    """A form of another site may not sign a browser in or out.

    Raises:
        CrossSiteRequest: the browser says the form is not the back office's.
    """
    if request_site(request.headers, public_url=settings_of(request).public_url) is Site.CROSS:
        raise CrossSiteRequest("Use the back office's own page.")


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a posted form (URL-encoded; none when the body is empty), each at
    most once.

    Raises:
        InvalidInput: not a form, too large, or not UTF-8.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_MAX_BYTES:
            raise InvalidInput(f"A form is limited to {FORM_MAX_BYTES} bytes.",
                               code="invalid_form")
    if body and request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/x-www-form-urlencoded"):
        raise InvalidInput("Send the form as application/x-www-form-urlencoded.",
                           code="invalid_form")
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The form cannot be read.", code="invalid_form") from None
    return {key: values[0] for key, values in parsed.items()}


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def refusal(request: Request, exc: Exception) -> Response:
    """The answer to :class:`SignInRequired` and :class:`OwnersOnly`."""
    if isinstance(exc, OwnersOnly):
        return page(title="For the shop's owner", status=403, body=h(
            '<p id="forbidden">This account answers shoppers in the '
            '<a href="/agent">agent console</a>; the back office is for the shop\'s owner.</p>'))
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/merchant/login?" + urlencode({"next": target}),
                                status_code=303)
    return HTMLResponse("Sign in to the back office first.", status_code=401,
                        headers={"Cache-Control": "no-store"})


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the back office, never another site."""
    if target and target.startswith("/merchant") and "//" not in target and "\\" not in target:
        return target
    return "/merchant"
