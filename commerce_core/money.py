"""Money helpers. Prices are Decimal, rounded in one place."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from commerce_core.config import get_settings
from commerce_core.errors import CommerceError

CENT = Decimal("0.01")
MAX_PRICE = Decimal("1000000")


def quantize_price(amount: Decimal) -> Decimal:
    """Round an amount to cents, half up, the way a shopper's receipt does."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(text: str) -> Decimal:
    """Parse an amount written with a dot as decimal separator ("34", "34.5") to Decimal.

    Raises:
        ValueError: the text is not a finite, non-negative amount below MAX_PRICE
            with at most two decimal places.
    """
    cleaned = text.strip()
    if not cleaned or "," in cleaned:
        raise ValueError(f"{text!r} is not an amount (write it like 34.50)")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount")
    if value < 0:
        raise ValueError("an amount cannot be negative")
    if value >= MAX_PRICE:
        raise ValueError(f"an amount must be below {MAX_PRICE}")
    if value != value.quantize(CENT):
        raise ValueError(f"{text!r} has more than two decimal places")
    return quantize_price(value)


class AmountNotPositive(CommerceError):
    """A price, line, order or payment that would be zero or less: never charged."""

    code = "amount_not_positive"
    http_status = 422


class AmountTooLarge(CommerceError):
    """Above the shop's maximum for one order (``ATELIER_MAX_ORDER_TOTAL``)."""

    code = "amount_too_large"
    http_status = 422


def ensure_chargeable(amount: Decimal, *, what: str, currency: str, advice: str) -> Decimal:
    """``amount`` if the shop may charge it: more than zero, at most the maximum total.

    This holds whatever the customisation rules say, so a rule that slipped past its
    checks (written to the database by hand, or before they existed) cannot make an order
    free, negative or absurd. ``what`` names the amount ("Order AT-XYZ"), ``advice`` says
    what the shopper can do.

    Raises:
        AmountNotPositive: zero or less (or not a number at all).
        AmountTooLarge: above ``ATELIER_MAX_ORDER_TOTAL``.
    """
    details = {"amount": str(amount), "currency": currency}
    if not amount.is_finite() or amount <= 0:
        raise AmountNotPositive(
            f"{what} would come to {amount} {currency}, which the shop cannot charge; the "
            f"shop has to correct its prices first. {advice}", details=details)
    limit = get_settings().max_order_total
    if amount > limit:
        raise AmountTooLarge(
            f"{what} would come to {amount} {currency}, more than the {limit} {currency} the "
            f"shop takes in one order. {advice}", details={**details, "limit": str(limit)})
    return amount
