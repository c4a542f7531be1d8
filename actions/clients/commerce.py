"""Typed HTTP client of the commerce API, the only way actions reach the shop."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from actions.clients.models import (
    Address,
    Cart,
    Interpretation,
    NextOption,
    Order,
    Payment,
    Product,
    Quote,
    Recommendations,
    SearchHit,
    SearchPage,
    SearchQuery,
)
from actions.config import ActionSettings, get_settings
from commerce_core.observability.logs import REQUEST_ID_HEADER, request_id

KEEP_ALIVE_SECONDS = 2.0
"""An idle connection to the API is closed after this, well before the API's server closes
it (uvicorn: 5 s), so that a request never goes out on a connection being closed."""
_pools: dict[tuple[str, str, float], tuple[asyncio.AbstractEventLoop,
                                           httpx.AsyncBaseTransport | None,
                                           httpx.AsyncClient]] = {}


def _shared_pool(settings: ActionSettings, transport: httpx.AsyncBaseTransport | None
                 ) -> httpx.AsyncClient:
    """The connections to the API of the running event loop, shared by every client of
    the same API, token and transport (each action has its own client)."""
    loop = asyncio.get_running_loop()
    key = (settings.api_url, settings.service_token, settings.api_timeout_seconds)
    kept = _pools.get(key)
    if kept is not None and kept[0] is loop and kept[1] is transport and not kept[2].is_closed:
        return kept[2]
    pool = httpx.AsyncClient(
        base_url=settings.api_url.rstrip("/"), timeout=settings.api_timeout_seconds,
        headers={"Authorization": f"Bearer {settings.service_token}"}, transport=transport,
        limits=httpx.Limits(keepalive_expiry=KEEP_ALIVE_SECONDS))
    _pools[key] = (loop, transport, pool)
    return pool


class CommerceError(Exception):
    """The API refused the request; ``message`` is readable, ``code`` machine-readable."""

    def __init__(self, message: str, code: str, status: int, details: Any = None) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status
        self.details = details


class CommerceUnavailable(CommerceError):
    """The API could not be reached or failed on its side."""


class ProductNotFound(CommerceError):
    pass


class CommerceClient:
    def __init__(self, settings: ActionSettings | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings or get_settings()
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        """The connections to the API of the running event loop, kept open between calls
        (a turn makes several; a new connection each cost a TCP handshake and a client's
        set-up) and shared with the other actions' clients; made afresh on another loop,
        as the tests run each in a loop of its own (:func:`_shared_pool`)."""
        return _shared_pool(self.settings, self._transport)

    async def _request(self, method: str, path: str, *, params: Any = None,
                       json: Any = None, headers: dict[str, str] | None = None) -> Any:
        """One API call; errors become CommerceError (4xx) or CommerceUnavailable."""
        try:
            response = await self._client().request(
                method, path, params=params, json=json,
                headers={**_turn_header(), **(headers or {})})
        except httpx.HTTPError as exc:
            raise CommerceUnavailable(f"commerce API unreachable: {exc}", "unavailable",
                                      503) from exc
        if response.status_code >= 500:
            raise CommerceUnavailable(f"commerce API failed ({response.status_code})",
                                      "unavailable", response.status_code)
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            kind = ProductNotFound if response.status_code == 404 else CommerceError
            raise kind(error.get("message", response.text[:200]),
                       error.get("code", "error"), response.status_code, error.get("details"))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def _get(self, path: str, params: Any = None) -> Any:
        return await self._request("GET", path, params=params)

    async def _post(self, path: str, json: Any = None,
                    headers: dict[str, str] | None = None) -> Any:
        return await self._request("POST", path, json=json, headers=headers)

    async def _patch(self, path: str, json: Any = None) -> Any:
        return await self._request("PATCH", path, json=json)

    async def _delete(self, path: str) -> Any:
        return await self._request("DELETE", path)

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        return (await self.search_page(query)).results

    async def search_page(self, query: SearchQuery, *, record_gap: bool = True) -> SearchPage:
        """The results and, for ``interpret``, how the shop read the words. Without
        ``record_gap`` a search that finds nothing is not kept among the catalog's gaps
        (a search made ahead, which the shopper may never see)."""
        params = query.params() if record_gap else [*query.params(), ("record_gap", "false")]
        return SearchPage.model_validate(await self._get("/products/search", params=params))

    async def interpret(self, text: str) -> Interpretation:
        """What ``text`` asks for in the live catalog, without searching."""
        return Interpretation.model_validate(
            await self._post("/products/interpret", json={"text": text[:500]}))

    async def recommendations(self, *, shopper: str | None = None,
                              cart: list[int] | None = None, product: int | None = None,
                              exclude: list[int] | None = None,
                              limit: int = 3) -> Recommendations:
        """Products for ``shopper`` (``<channel>:<id>``: their past orders count), who has
        ``cart`` and looks at ``product``; never one of those, of ``exclude`` or sold out."""
        params: list[tuple[str, str]] = [("limit", str(limit))]
        if shopper:
            params.append(("shopper", shopper))
        for name, ids in (("cart", cart), ("exclude", exclude)):
            if ids:
                params.append((name, ",".join(str(i) for i in dict.fromkeys(ids))))
        if product is not None:
            params.append(("product", str(product)))
        return Recommendations.model_validate(await self._get("/recommendations",
                                                              params=params))

    async def product(self, product_id: int) -> Product:
        return Product.model_validate(await self._get(f"/products/{product_id}"))

    async def quote(self, product_id: int, options: dict[str, Any],
                    variant_id: int | None = None) -> Quote:
        """Unit price and ready-by date; a broken rule raises CommerceError whose
        ``details`` list every violation in the rule's words."""
        body: dict[str, Any] = {"options": options}
        if variant_id is not None:
            body["variant_id"] = variant_id
        return Quote.model_validate(await self._post(f"/products/{product_id}/quote", body))

    async def next_option(self, product_id: int, options: dict[str, Any], *,
                          asked: list[str], variant_id: int | None = None) -> NextOption:
        """The next option to ask, given the choices so far and the options already
        asked (answered or declined), and every rule those choices break."""
        body: dict[str, Any] = {"options": options, "asked": asked}
        if variant_id is not None:
            body["variant_id"] = variant_id
        return NextOption.model_validate(
            await self._post(f"/products/{product_id}/next-option", body))

    async def cart(self, shopper: str, *, country: str | None = None) -> Cart:
        """``shopper`` is the owner's path, ``Shopper.path`` (``/shoppers/{channel}/{id}``);
        ``country`` (two letters) prices the shipping estimate."""
        params = {"country": country} if country else None
        return Cart.model_validate(await self._get(f"{shopper}/cart", params=params))

    async def add_to_cart(self, shopper: str, *, variant_id: int, quantity: int = 1,
                          options: dict[str, Any] | None = None) -> Cart:
        body = {"variant_id": variant_id, "quantity": quantity, "options": options or {}}
        return Cart.model_validate(await self._post(f"{shopper}/cart/lines", body))

    async def set_quantity(self, shopper: str, *, line_id: int, quantity: int) -> Cart:
        return Cart.model_validate(await self._patch(f"{shopper}/cart/lines/{line_id}",
                                                     {"quantity": quantity}))

    async def remove_line(self, shopper: str, *, line_id: int) -> Cart:
        return Cart.model_validate(await self._delete(f"{shopper}/cart/lines/{line_id}"))

    async def checkout(self, shopper: str, *, email: str, address: Address,
                       idempotency_key: str | None = None) -> Order:
        """Place the order of the shopper's cart. With ``idempotency_key``, a checkout sent
        again with it gets the order it placed (the API answers 200), never a second one."""
        body = {"email": email, "address": address.model_dump()}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return Order.model_validate(await self._post(f"{shopper}/checkout", body,
                                                     headers=headers))

    async def create_payment(self, order_id: int, *, idempotency_key: str) -> Payment:
        data = await self._post(f"/orders/{order_id}/payment",
                                headers={"Idempotency-Key": idempotency_key})
        return Payment.model_validate(data)


def _turn_header() -> dict[str, str]:
    """The turn's request id (actions.common.bind_turn), for the API's logs."""
    rid = request_id.get()
    return {REQUEST_ID_HEADER: rid} if rid is not None else {}

