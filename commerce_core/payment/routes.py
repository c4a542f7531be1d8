"""Payment links, the provider webhook, refunds (``router``, under /api) and the sandbox's
hosted payment page (``pages``, at the root).

The routes are synchronous (database work in the thread pool); provider calls are awaited
on the event loop with ``anyio.from_thread.run``, always after the transaction ended, so
an in-process webhook delivery never waits for a lock this request holds.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

import anyio.from_thread
from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from commerce_core import clock
from commerce_core.auth import MerchantDep, ServiceDep
from commerce_core.config import get_settings
from commerce_core.db import SessionDep
from commerce_core.errors import CommerceError, error_responses
from commerce_core.order.schemas import OrderOut
from commerce_core.order.service import get_order, owned_order
from commerce_core.order.service import to_out as order_out
from commerce_core.order.state import OrderChanged
from commerce_core.payment import page, returns, service, signing
from commerce_core.payment.provider import PaymentProvider, ProviderError
from commerce_core.payment.sandbox import SandboxProvider, read_card
from commerce_core.payment.schemas import PaymentOut, ReturnIn, WebhookAck, WebhookEventIn
from commerce_core.shopper import ShopperDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["payments"])
pages = APIRouter(include_in_schema=False)

WEBHOOK_MAX_BYTES = 64 * 1024
FORM_MAX_BYTES = 4 * 1024
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FORM_FIELDS = ("name", "number", "expiry", "cvc")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token in the URL is the key to the page
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
T = TypeVar("T")


class BodyTooLarge(CommerceError):
    code = "body_too_large"
    http_status = 413


@lru_cache
def default_provider() -> SandboxProvider:
    return SandboxProvider()


def get_provider() -> PaymentProvider:
    """The provider of this deployment; tests replace it through dependency overrides."""
    return default_provider()


ProviderDep = Annotated[PaymentProvider, Depends(get_provider)]
OrderId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _await(call: Callable[..., Awaitable[T]], **kwargs: Any) -> T:
    """Run a provider coroutine on the event loop from this worker thread."""
    return anyio.from_thread.run(partial(call, **kwargs))


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"The body is limited to {limit} bytes.")
    return bytes(body)


async def webhook_body(request: Request) -> bytes:
    return await _read_body(request, WEBHOOK_MAX_BYTES)


# --- payment links ---------------------------------------------------------------------

@router.post("/orders/{order_id}/payment", response_model=PaymentOut, status_code=201,
             responses={200: {"model": PaymentOut,
                              "description": "the payment already opened with this key"},
                        **error_responses(401, 404, 409, 422, 502)})
def create_payment(_: ServiceDep, session: SessionDep, provider: ProviderDep,
                   order_id: OrderId, response: Response,
                   idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")]
                   = None) -> PaymentOut:
    """Open a hosted payment for the whole total of a pending order (201), or give back
    the one already opened with the same Idempotency-Key (200)."""
    key = service.check_idempotency_key(idempotency_key)
    existing = service.existing_payment(session=session, order_id=order_id, key=key)
    if existing is None:
        order = service.payable_order(session=session, order_id=order_id, now=clock.now())
        amount, currency = order.total, order.currency
        session.rollback()  # no transaction stays open while the provider is called
        hosted = _await(provider.create_payment, order_id=order_id, amount=amount,
                        currency=currency, idempotency_key=key)
        existing, created = service.save_payment(session=session, order_id=order_id, key=key,
                                                 provider=provider.name, hosted=hosted,
                                                 now=clock.now())
        session.commit()
        if created:
            return service.to_out(existing, hosted.url)
    response.status_code = 200
    return service.to_out(existing, provider.page_url(existing.token))


# --- the provider's webhook ------------------------------------------------------------

@router.post("/payments/webhook", response_model=WebhookAck,
             responses=error_responses(400, 404, 413, 422, 503))
def payment_webhook(session: SessionDep, provider: ProviderDep,
                    body: Annotated[bytes, Depends(webhook_body)],
                    signature: Annotated[str | None, Header(alias=signing.SIGNATURE_HEADER)]
                    = None) -> WebhookAck:
    """Events of the payment provider; the signature over the raw body is the only auth."""
    signing.verify(body, signature, secret=get_settings().payment_webhook_secret,
                   now=clock.now().timestamp())
    try:
        event = WebhookEventIn.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise service.InvalidEvent(f"The event is not valid ({where}: {first['msg']}).") \
            from None
    try:
        outcome = service.process_event(session=session, event=event, provider=provider.name)
        session.commit()
    except OrderChanged:
        session.rollback()
        raise service.RetryLater("The order changed while this event was applied; deliver "
                                 "it again.") from None
    log.info("payment webhook event=%s type=%s status=%s", event.id, event.type,
             outcome.status)
    if outcome.refund is not None:
        # a refusal is recorded on the order as refund_failed, where the merchant acts on
        # it; the event itself was processed, so the provider must not send it again
        with contextlib.suppress(ProviderError):
            send_refund(session, provider, outcome.refund)
    return WebhookAck(status=outcome.status)


def send_refund(session: Session, provider: PaymentProvider, call: service.RefundCall) -> None:
    """Ask the provider for a refund after commit; record a refusal and re-raise it."""
    try:
        _await(provider.refund, payment=call.payment,
               idempotency_key=f"refund-{call.payment.token}", reason=call.reason)
    except ProviderError as exc:
        session.rollback()
        service.refund_not_sent(session=session, call=call, error=exc.message)
        session.commit()
        raise


# --- refunds and cancellation ----------------------------------------------------------

@router.post("/merchant/orders/{order_id}/refund", response_model=OrderOut, tags=["merchant"],
             responses=error_responses(401, 404, 409, 422, 502))
def refund_order(_: MerchantDep, session: SessionDep, provider: ProviderDep,
                 order_id: OrderId) -> OrderOut:
    """Give the whole payment back; the order becomes refunded when the provider confirms
    (right away with the sandbox: the answer shows ``refunded``)."""
    order = get_order(session=session, order_id=order_id)
    call = service.request_refund(session=session, order=order, by="merchant")
    session.commit()
    send_refund(session, provider, call)
    session.expire_all()
    return order_out(get_order(session=session, order_id=order_id))


@router.post("/shoppers/{channel}/{external_id}/orders/{number}/cancel",
             response_model=OrderOut, tags=["orders"],
             responses=error_responses(401, 404, 409, 422, 502))
def cancel_my_order(_: ServiceDep, session: SessionDep, customer: ShopperDep,
                    provider: ProviderDep, number: str) -> OrderOut:
    """The owner cancels: an unpaid order is cancelled, a paid one not yet shipped is
    refunded; anyone else gets the same 404 as for a wrong number."""
    order = owned_order(session=session, number=number[:16], customer=customer)
    call = service.cancel_order(session=session, order=order)
    session.commit()
    if call is not None:
        send_refund(session, provider, call)
    session.expire_all()
    return order_out(get_order(session=session, order_id=order.id))


@router.post("/shoppers/{channel}/{external_id}/orders/{number}/return",
             response_model=OrderOut, tags=["orders"],
             responses=error_responses(401, 404, 409, 413, 422))
def request_my_return(_: ServiceDep, session: SessionDep, customer: ShopperDep,
                      number: str, body: ReturnIn) -> OrderOut:
    """The owner asks to return a shipped order for a refund; the team confirms it and
    refunds once the parcel is back. Anyone else gets the same 404 as for a wrong number."""
    order = owned_order(session=session, number=number[:16], customer=customer)
    returns.request_return(session=session, order=order, reason=body.reason)
    session.commit()
    session.expire_all()
    return order_out(get_order(session=session, order_id=order.id))


# --- the hosted payment page (sandbox) -------------------------------------------------

@dataclass
class CardForm:
    fields: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    status: int = 200


async def card_form(request: Request) -> CardForm:
    """The form fields, parsed without python-multipart; problems become a page."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return CardForm(problem="The payment form must be sent as a web form.", status=415)
    try:
        raw = await _read_body(request, FORM_MAX_BYTES)
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except BodyTooLarge:
        return CardForm(problem="The form is too large.", status=413)
    except (UnicodeDecodeError, ValueError):
        return CardForm(problem="The form could not be read.", status=400)
    return CardForm(fields={name: parsed.get(name, [""])[0] for name in FORM_FIELDS})


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def _page_view(session: Session, provider: PaymentProvider,
               token: str) -> service.PageView | None:
    if not TOKEN_RE.match(token) or not isinstance(provider, SandboxProvider):
        return None
    view = service.page_view(session=session, token=token, now=clock.now())
    session.rollback()  # read only; and nothing stays locked while the event is delivered
    return view


def _state_page(view: service.PageView) -> HTMLResponse:
    if view.kind is service.PageKind.PAID:
        return _html(page.message_page(view, title="This order is paid", message=view.message,
                                       ok=True))
    if view.kind is service.PageKind.REFUNDED:
        return _html(page.message_page(view, title="Payment refunded", message=view.message))
    if view.kind is service.PageKind.CLOSED:
        return _html(page.message_page(view, title="Order closed", message=view.message),
                     status=410)
    return _html(page.form_page(view))


@pages.get("/pay/{token}", response_class=HTMLResponse)
def payment_page(session: SessionDep, provider: ProviderDep, token: str) -> HTMLResponse:
    view = _page_view(session, provider, token)
    if view is None:
        return _html(page.not_found_page(), status=404)
    return _state_page(view)


@pages.post("/pay/{token}", response_class=HTMLResponse)
def pay(session: SessionDep, provider: ProviderDep, token: str,
        form: Annotated[CardForm, Depends(card_form)]) -> HTMLResponse:
    view = _page_view(session, provider, token)
    if view is None or not isinstance(provider, SandboxProvider):
        return _html(page.not_found_page(), status=404)
    if view.kind is not service.PageKind.PAYABLE:
        return _state_page(view)
    if form.problem is not None:
        return _html(page.problem_page("Payment form not accepted", form.problem),
                     status=form.status)
    card, errors = read_card(form.fields, today=clock.now().date())
    if card is None:
        values = {"name": form.fields["name"][:100], "expiry": form.fields["expiry"][:7]}
        return _html(page.form_page(view, errors=errors, values=values), status=422)
    result = _await(provider.charge, payment=view.payment, card=card)
    if result.approved:
        return _html(page.received_page(view))
    return _html(page.form_page(view, notice=result.reason), status=402)
