"""Shipping and tax: a zone/weight table and one tax rate, all Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from commerce_core.errors import CommerceError
from commerce_core.money import quantize_price

# Countries by shipping zone; the shop ships from France.
DOMESTIC = {"FR"}
EU = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "DE", "GR", "HU", "IE", "IT", "LV",
      "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
WORLD = {"GB", "CH", "NO", "US", "CA", "AU", "NZ", "JP", "IS"}
SHIPPING_TABLE: dict[str, list[tuple[int, Decimal]]] = {
    # zone: [(up to grams, price), …]
    "domestic": [(500, Decimal("4.90")), (2000, Decimal("7.90")), (10000, Decimal("12.90"))],
    "eu": [(500, Decimal("9.50")), (2000, Decimal("14.50")), (10000, Decimal("24.00"))],
    "world": [(500, Decimal("16.00")), (2000, Decimal("28.00")), (10000, Decimal("45.00"))],
}
FREE_SHIPPING_FROM = {"domestic": Decimal("80.00")}


class NotShippable(CommerceError):
    code = "not_shippable"
    http_status = 422


def zone_of(country: str) -> str:
    country = country.upper()
    if country in DOMESTIC:
        return "domestic"
    if country in EU:
        return "eu"
    if country in WORLD:
        return "world"
    raise NotShippable(f"Sorry, we don't ship to {country} yet.")


def shipping_cost(*, country: str, weight_grams: int, subtotal: Decimal) -> Decimal:
    zone = zone_of(country)
    if weight_grams <= 0:
        return Decimal("0.00")
    free_from = FREE_SHIPPING_FROM.get(zone)
    if free_from is not None and subtotal >= free_from:
        return Decimal("0.00")
    for limit, price in SHIPPING_TABLE[zone]:
        if weight_grams <= limit:
            return price
    raise NotShippable(f"This order weighs {weight_grams / 1000:.1f} kg, more than one parcel "
                       "can carry. Please split it or contact the shop.")


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    """The tax included in the total (prices are tax-inclusive)."""
    total: Decimal
    currency: str


def totals(*, subtotal: Decimal, shipping: Decimal, tax_rate: Decimal, currency: str) -> Totals:
    total = quantize_price(subtotal + shipping)
    tax = quantize_price(total - total / (1 + tax_rate)) if tax_rate else Decimal("0.00")
    return Totals(subtotal=quantize_price(subtotal), shipping=quantize_price(shipping),
                  tax=tax, total=total, currency=currency)
