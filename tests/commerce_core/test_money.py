from decimal import Decimal

import pytest

from commerce_core.money import parse_amount, quantize_price


@pytest.mark.parametrize(("raw", "expected"), [
    ("34", Decimal("34.00")), ("34.5", Decimal("34.50")), (" 0.10 ", Decimal("0.10")),
    ("999999.99", Decimal("999999.99")),
])
def test_parse_amount_accepts_plain_amounts(raw: str, expected: Decimal) -> None:
    value = parse_amount(raw)
    assert value == expected
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize("raw", ["", "abc", "-1", "1,50", "12.345", "NaN", "Infinity",
                                 "1000000", "1e3x"])
def test_parse_amount_rejects_what_is_not_a_price(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(raw)


def test_quantize_rounds_half_up_to_cents() -> None:
    assert quantize_price(Decimal("2.345")) == Decimal("2.35")
    assert quantize_price(Decimal("2.344")) == Decimal("2.34")
    assert quantize_price(Decimal("-2.345")) == Decimal("-2.35")
