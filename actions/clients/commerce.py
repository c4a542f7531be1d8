"""Typed HTTP client of the commerce API, the only way actions reach the shop."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, Field

from actions.config import ActionSettings, get_settings


class CommerceError(Exception):
    """The API refused the request; ``message`` is readable, ``code`` machine-readable."""

    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


class CommerceUnavailable(CommerceError):
    """The API could not be reached or failed on its side."""


class ProductNotFound(CommerceError):
    pass


class SearchQuery(BaseModel):
    text: str = ""
    limit: int = 6
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    in_stock: bool = False

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = [("q", self.text), ("limit", str(self.limit))]
        if self.category:
            out.append(("category", self.category))
        if self.min_price is not None:
            out.append(("min_price", str(self.min_price)))
        if self.max_price is not None:
            out.append(("max_price", str(self.max_price)))
        if self.in_stock:
            out.append(("in_stock", "true"))
        out.extend((f"attr.{k}", v) for k, v in self.attributes.items())
        return out


class SearchHit(BaseModel):
    id: int
    sku: str
    name: str
    category: str
    price: Decimal
    currency: str
    image_url: str
    in_stock: bool
    attributes: dict[str, str]
    score: float


class Variant(BaseModel):
    id: int
    sku: str
    attributes: dict[str, str]
    price: Decimal
    currency: str
    stock: int


class Product(BaseModel):
    id: int
    name: str
    description: str
    category: str
    price: Decimal
    currency: str
    image_url: str
    in_stock: bool
    attributes: dict[str, str]
    variants: list[Variant]
    customization: list[dict[str, Any]]


class CommerceClient:
    def __init__(self, settings: ActionSettings | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings or get_settings()
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.settings.api_url.rstrip("/"),
            timeout=self.settings.api_timeout_seconds,
            headers={"Authorization": f"Bearer {self.settings.service_token}"},
            transport=self._transport,
        )

    async def _get(self, path: str, params: Any = None) -> Any:
        try:
            async with self._client() as client:
                response = await client.get(path, params=params)
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
                       error.get("code", "error"), response.status_code)
        return response.json()

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        data = await self._get("/products/search", params=query.params())
        return [SearchHit.model_validate(item) for item in data["results"]]

    async def product(self, product_id: int) -> Product:
        return Product.model_validate(await self._get(f"/products/{product_id}"))
