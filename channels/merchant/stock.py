"""Products and stock: every variant's price and pieces in stock, editable, with the ones
running low flagged."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from channels.merchant.auth import FormDep, OwnerDep
from channels.merchant.html import Html, h, join, money, page, table, url
from commerce_core.audit.service import Actor
from commerce_core.backoffice import service
from commerce_core.backoffice.repository import BackOfficeRepository
from commerce_core.catalog.importer import SKU_RE
from commerce_core.db import SessionDep
from commerce_core.errors import CommerceError, InvalidInput
from commerce_core.models import Product, Variant
from commerce_core.money import parse_amount
from commerce_core.params import VariantId

router = APIRouter(include_in_schema=False)
MAX_STOCK = 1_000_000


def _edit(variant: Variant) -> Html:
    return h('<form method="post" action="/merchant/variants/{id}" class="act stock" '
             'id="edit-{sku}"><input type="hidden" name="seen_stock" value="{stock}">'
             '<label>Price <input name="price" value="{price}" inputmode="decimal" '
             'required maxlength="12"></label>'
             '<label>Stock <input name="stock" value="{stock}" inputmode="numeric" '
             'required maxlength="7"></label><button type="submit">Save</button></form>',
             id=variant.id, sku=variant.sku, stock=variant.stock, price=variant.price)


def _stock(variant: Variant) -> Html:
    if variant.stock <= service.LOW_STOCK:
        return h('<span class="low" data-low="{}">{} — low</span>', variant.sku, variant.stock)
    return h("<span>{}</span>", variant.stock)


def _rows(products: Sequence[Product], *, low_only: bool) -> list[tuple[object, ...]]:
    return [(product.name, product.category, variant.sku,
             ", ".join(f"{k}: {v}" for k, v in variant.attributes.items()),
             money(variant.price, variant.currency), _stock(variant), _edit(variant))
            for product in products for variant in product.variants
            if not low_only or variant.stock <= service.LOW_STOCK]


def stock_page(session: Session, actor: Actor, *, low_only: bool = False,
               notice: str | None = None, error: str | None = None,
               status: int = 200) -> HTMLResponse:
    products = BackOfficeRepository(session).products()
    low = sum(v.stock <= service.LOW_STOCK for p in products for v in p.variants)
    summary = h('<p id="low-stock">{} variants have {} pieces or fewer. {}</p>', low,
                service.LOW_STOCK,
                h('<a href="/merchant/products">Show all</a>') if low_only
                else h('<a href="/merchant/products?low=1">Show only those</a>'))
    return page(title="Products & stock", actor=actor, notice=notice, error=error,
                status=status, body=join([summary, table(
                    ["Product", "Category", "SKU", "Variant", "Price", "Stock", "Change"],
                    _rows(products, low_only=low_only), empty="No products yet.",
                    css="stock")]))


@router.get("/merchant/products")
def products_page(actor: OwnerDep, session: SessionDep, low: str = "",
                  saved: str = "") -> HTMLResponse:
    return stock_page(session, actor, low_only=low == "1",
                      notice=f"{saved} saved." if SKU_RE.match(saved) else None)


def _int(text: str, what: str) -> int:
    if not text.strip().isdigit() or int(text) > MAX_STOCK:
        raise InvalidInput(f"{what} must be a whole number from 0 to {MAX_STOCK}.",
                           code="invalid_stock")
    return int(text)


@router.post("/merchant/variants/{variant_id}")
def save_variant(actor: OwnerDep, session: SessionDep, variant_id: VariantId,
                 form: FormDep) -> Response:
    try:
        try:
            price = parse_amount(form.get("price", ""))
        except ValueError as exc:
            raise InvalidInput(f"Price: {exc}.", code="invalid_price") from None
        variant = service.set_variant(
            session=session, actor=actor, variant_id=variant_id, price=price,
            stock=_int(form.get("stock", ""), "Stock"),
            expected_stock=_int(form.get("seen_stock", ""), "The stock shown"))
        session.commit()
    except CommerceError as exc:
        session.rollback()
        return stock_page(session, actor, error=exc.message, status=exc.http_status)
    return RedirectResponse(url("/merchant/products", saved=variant.sku), status_code=303)
