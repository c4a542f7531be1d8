"""Carts: one open cart per customer; lines validated by the customisation rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from commerce_core import clock
from commerce_core.cart.repository import CartRepository
from commerce_core.cart.schemas import MAX_QUANTITY, CartLineOut, CartOut, LineIn
from commerce_core.config import get_settings
from commerce_core.customization.engine import Quote
from commerce_core.customization.service import quote_variant
from commerce_core.errors import CommerceError, NotFound
from commerce_core.models import Cart, CartLine, Customer, Variant
from commerce_core.money import ensure_chargeable, quantize_price
from commerce_core.pricing import shipping_cost, totals


class OutOfStock(CommerceError):
    code = "out_of_stock"
    http_status = 409


class CurrencyMismatch(CommerceError):
    code = "currency_mismatch"
    http_status = 422


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    quote: Quote

    @property
    def line_total(self) -> Decimal:
        return quantize_price(self.quote.unit_price * self.line.quantity)


def check_line_total(*, quote: Quote, quantity: int, name: str) -> Decimal:
    """The total of a line, if the shop may charge it (see ``money.ensure_chargeable``)."""
    return ensure_chargeable(quantize_price(quote.unit_price * quantity),
                             what=f"{quantity} x {name}", currency=quote.currency,
                             advice="Please choose a smaller quantity, or ask the shop.")


def _variant(repo: CartRepository, line: LineIn) -> Variant:
    variant = repo.variant(variant_id=line.variant_id, sku=line.sku)
    if variant is None:
        ref = line.sku if line.sku is not None else f"id {line.variant_id}"
        raise NotFound(f"There is no product variant {ref}.", code="variant_not_found")
    return variant


def _check_stock(variant: Variant, quantity: int) -> None:
    if quantity > variant.stock:
        if variant.stock == 0:
            raise OutOfStock(f"{variant.product.name} is sold out at the moment.")
        raise OutOfStock(f"Only {variant.stock} of {variant.product.name} left in stock.",
                         details={"available": variant.stock})


def open_cart(*, session: Session, customer: Customer) -> Cart:
    repo = CartRepository(session)
    cart = repo.open_cart(customer.id)
    if cart is None:
        cart = Cart(customer_id=customer.id, currency=get_settings().default_currency,
                    lines=[])
        repo.add(cart)
        session.flush()
    return cart


def add_line(*, session: Session, customer: Customer, line: LineIn, today: date) -> Cart:
    """Add a variant with its customisation; the same choice again adds to its quantity."""
    repo = CartRepository(session)
    variant = _variant(repo, line)
    cart = open_cart(session=session, customer=customer)
    if variant.currency != cart.currency:
        raise CurrencyMismatch(f"{variant.product.name} is priced in {variant.currency}, "
                               f"the cart in {cart.currency}.")
    quote = quote_variant(session=session, product=variant.product, variant=variant,
                          chosen=line.options, today=today)
    options = {q.option: q.value for q in quote.lines}
    existing = next((x for x in cart.lines
                     if x.variant_id == variant.id and x.options == options), None)
    quantity = line.quantity + (existing.quantity if existing else 0)
    if quantity > MAX_QUANTITY:
        raise CommerceError(f"At most {MAX_QUANTITY} of one item per order.",
                            code="quantity_too_large", http_status=422)
    _check_stock(variant, quantity)
    check_line_total(quote=quote, quantity=quantity, name=variant.product.name)
    if existing:
        existing.quantity = quantity
    else:
        cart.lines.append(CartLine(variant_id=variant.id, variant=variant, quantity=quantity,
                                   options=options))
    session.flush()
    return cart


def _line(cart: Cart, line_id: int) -> CartLine:
    for line in cart.lines:
        if line.id == line_id:
            return line
    raise NotFound(f"There is no line {line_id} in this cart.", code="cart_line_not_found")


def set_quantity(*, session: Session, customer: Customer, line_id: int, quantity: int,
                 today: date) -> Cart:
    cart = open_cart(session=session, customer=customer)
    line = _line(cart, line_id)
    _check_stock(line.variant, quantity)
    quote = quote_variant(session=session, product=line.variant.product, variant=line.variant,
                          chosen=line.options, today=today)
    check_line_total(quote=quote, quantity=quantity, name=line.variant.product.name)
    line.quantity = quantity
    session.flush()
    return cart


def remove_line(*, session: Session, customer: Customer, line_id: int) -> Cart:
    cart = open_cart(session=session, customer=customer)
    cart.lines.remove(_line(cart, line_id))
    session.flush()
    return cart


def price_lines(*, session: Session, cart: Cart, today: date) -> list[PricedLine]:
    """Re-quote every line with today's prices and rules (what checkout will charge)."""
    return [PricedLine(line=line, quote=quote_variant(
        session=session, product=line.variant.product, variant=line.variant,
        chosen=line.options, today=today)) for line in cart.lines]


def view_for(*, session: Session, customer_id: int, country: str) -> CartOut:
    """The customer's open cart as shoppers see it (an empty one when they have none)."""
    cart = CartRepository(session).open_cart(customer_id)
    return view(session=session, cart=cart,
                currency=cart.currency if cart else get_settings().default_currency,
                country=country, today=clock.now().date())


def view(*, session: Session, cart: Cart | None, currency: str, country: str,
         today: date) -> CartOut:
    priced = price_lines(session=session, cart=cart, today=today) if cart else []
    subtotal = sum((p.line_total for p in priced), Decimal("0.00"))
    weight = sum(p.line.variant.weight_grams * p.line.quantity for p in priced)
    shipping = shipping_cost(country=country, weight_grams=weight, subtotal=subtotal)
    total = totals(subtotal=subtotal, shipping=shipping, tax_rate=get_settings().tax_rate,
                   currency=currency)
    return CartOut(
        id=cart.id if cart else None, currency=currency,
        lines=[CartLineOut(
            id=p.line.id, product_id=p.line.variant.product_id, variant_id=p.line.variant_id,
            sku=p.line.variant.sku, name=p.line.variant.product.name,
            quantity=p.line.quantity, options=p.line.options, unit_price=p.quote.unit_price,
            line_total=p.line_total, ready_by=p.quote.ready_by.isoformat(),
            in_stock=p.line.variant.stock >= p.line.quantity) for p in priced],
        item_count=sum(p.line.quantity for p in priced), subtotal=total.subtotal,
        shipping=total.shipping, shipping_country=country.upper(), tax=total.tax,
        total=total.total)
