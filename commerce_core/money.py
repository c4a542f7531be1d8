"""Money helpers. Prices are Decimal, rounded in one place."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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
