"""Every edge of the order state machine: allowed moves pass, others are refused."""

import itertools

import pytest

from commerce_core.models import OrderStatus as S
from commerce_core.order.state import ALLOWED, InvalidTransition, check_move

ALLOWED_MOVES = {
    (S.PENDING_PAYMENT, S.PAID), (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PAID, S.IN_PRODUCTION), (S.PAID, S.SHIPPED), (S.PAID, S.REFUNDED),
    (S.IN_PRODUCTION, S.SHIPPED), (S.IN_PRODUCTION, S.REFUNDED),
    (S.SHIPPED, S.DELIVERED), (S.DELIVERED, S.REFUNDED),
}


@pytest.mark.parametrize(("current", "target"), sorted(itertools.product(S, S)))
def test_move(current: S, target: S) -> None:
    if (current, target) in ALLOWED_MOVES:
        check_move(current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_move(current, target)


def test_the_table_is_exactly_the_documented_moves() -> None:
    assert {(a, b) for a, targets in ALLOWED.items() for b in targets} == ALLOWED_MOVES
    assert not ALLOWED[S.CANCELLED] and not ALLOWED[S.REFUNDED]
