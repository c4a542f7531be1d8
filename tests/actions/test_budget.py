from decimal import Decimal

import pytest

from actions.budget import Budget, parse_budget


@pytest.mark.parametrize(("text", "expected"), [
    ("blue mugs under 60", Budget(None, Decimal("60"))),
    ("between 20 and 40 euros", Budget(Decimal("20"), Decimal("40"))),
    ("something €30-€50", Budget(Decimal("30"), Decimal("50"))),
    ("a ring over 100 eur", Budget(Decimal("100"), None)),
    ("less than 25.50 please", Budget(None, Decimal("25.50"))),
    ("no more than 45,90€", Budget(None, Decimal("45.90"))),
    ("a blue mug", Budget(None, None)),
])
def test_budget_phrases_become_decimal_bounds(text: str, expected: Budget) -> None:
    budget = parse_budget(text)
    assert budget == expected
    for bound in (budget.min_price, budget.max_price):
        assert bound is None or isinstance(bound, Decimal)
