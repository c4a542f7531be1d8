"""The order state machine: the only moves an order may make."""

from __future__ import annotations

from commerce_core.errors import CommerceError
from commerce_core.models import OrderStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.IN_PRODUCTION, S.SHIPPED, S.REFUNDED}),
    S.IN_PRODUCTION: frozenset({S.SHIPPED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
NOT_YET_SHIPPED = frozenset({S.PENDING_PAYMENT, S.PAID, S.IN_PRODUCTION})


class InvalidTransition(CommerceError):
    code = "invalid_transition"
    http_status = 409


class OrderChanged(CommerceError):
    """Another request moved the order first; nothing was changed by this one."""

    code = "order_changed"
    http_status = 409


def check_move(current: S, target: S) -> None:
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"An order that is {current.value.replace('_', ' ')} cannot "
                                f"become {target.value.replace('_', ' ')}.")
