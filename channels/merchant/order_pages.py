"""The markup of the orders pages: the list with its filters, and one order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.merchant.html import (
    Html,
    button_form,
    h,
    join,
    label,
    money,
    pager,
    table,
    url,
    when,
)
from commerce_core.models import (
    AuditEntry,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Shipment,
)
from commerce_core.payment.returns import ReturnState, return_state
from commerce_core.payment.service import REFUNDABLE

S = OrderStatus
CANCELLABLE = frozenset({S.PENDING_PAYMENT, S.PAID, S.IN_PRODUCTION})
SHIPPABLE = frozenset({S.PAID, S.IN_PRODUCTION})


def customer(order: Order) -> Html:
    name = order.shipping_address.get("name", "") if order.shipping_address else ""
    return h('{}<br><span class="muted">{}</span>', name, order.email)


def status_badge(status: str) -> Html:
    return h('<span class="badge s-{}">{}</span>', status, label(status))


def options(chosen: dict[str, Any]) -> str:
    """The personalisation of a line as the shop reads it: ``engraving: Anna · colour: blue``."""
    return " · ".join(f"{label(str(k))}: {v}" for k, v in chosen.items()) or "—"


def filters(status: OrderStatus | None, query: str, counts: dict[OrderStatus, int]) -> Html:
    choices = [h('<option value="">all ({})</option>', sum(counts.values()))]
    choices += [h('<option value="{}"{}>{} ({})</option>', s.value,
                  Html(" selected") if s is status else Html(""), label(s.value),
                  counts.get(s, 0)) for s in OrderStatus]
    return h('<form method="get" action="/merchant" class="filters" role="search">'
             '<label>Status <select name="status" id="filter-status">{}</select></label>'
             '<label>Search <input type="search" name="q" id="filter-q" value="{}" '
             'maxlength="100" placeholder="order number, email or name"></label>'
             '<button type="submit" id="filter-go">Show</button></form>', join(choices), query)


def order_list(orders: Sequence[Order], *, status: OrderStatus | None, query: str,
               page_number: int, pages: int, total: int,
               counts: dict[OrderStatus, int]) -> Html:
    rows = [(h('<a href="/merchant/orders/{0}" class="order-link">{0}</a>', o.number),
             when(o.created_at), customer(o), status_badge(o.status.value),
             label(o.payment_status.value), money(o.total, o.currency)) for o in orders]
    listing = table(["Order", "Placed", "Customer", "Status", "Payment", "Total"], rows,
                    empty="No order matches.", css="orders")
    here = {"status": status.value if status else None, "q": query}
    return join([filters(status, query, counts), listing,
                 pager(lambda n: url("/merchant", **here, page=n), page_number=page_number,
                       pages=pages, total=total, what="orders")])


def _actions(order: Order) -> Html:
    base = f"/merchant/orders/{order.number}"
    forms = []
    if order.status is S.PAID:
        forms.append(button_form(base + "/production", "Mark in production"))
    if order.status in SHIPPABLE:
        forms.append(button_form(base + "/ship", "Ship", fields=h(
            '<label>Tracking number <input name="tracking_number" id="tracking-number" '
            'maxlength="40" placeholder="empty: book a label with the carrier"></label>')))
    if order.status in REFUNDABLE and order.payment_status is PaymentStatus.PAID:
        forms.append(button_form(base + "/refund", "Refund in full", css="danger"))
    if order.status in CANCELLABLE:
        forms.append(button_form(base + "/cancel", "Cancel order", css="danger"))
    if not forms:
        return h('<p class="muted">Nothing left to do: the order is {}.</p>',
                 label(order.status.value))
    return join(forms)


def _return(order: Order) -> Html:
    state = return_state(order)
    if state is None:
        return Html("")
    asked = next(e for e in order.events if e.type == "return_requested")
    text = h('<p id="return-state">Return {}: “{}”</p>', label(state.value),
             asked.data.get("reason", ""))
    if state is ReturnState.REQUESTED:
        text = join([text, h('<p><a href="/merchant/returns">Answer it in the returns '
                             'queue</a></p>')])
    return h('<section><h2>Return</h2>{}</section>', text)


def _event_details(data: dict[str, Any]) -> str:
    return " · ".join(f"{label(str(k))}: {v}" for k, v in data.items())


def order_detail(order: Order, *, payments: Sequence[Payment], shipment: Shipment | None,
                 audit: Sequence[AuditEntry]) -> Html:
    address = order.shipping_address or {}
    summary = h(
        '<dl class="summary"><dt>Status</dt><dd id="order-status">{}</dd>'
        "<dt>Payment</dt><dd id=\"payment-status\">{}</dd><dt>Placed</dt><dd>{}</dd>"
        "<dt>Ready by</dt><dd>{}</dd><dt>Customer</dt><dd>{}</dd>"
        "<dt>Ship to</dt><dd>{}</dd></dl>",
        status_badge(order.status.value), label(order.payment_status.value),
        when(order.created_at), order.ready_by, customer(order),
        ", ".join(str(address[k]) for k in ("name", "line1", "line2", "postal_code", "city",
                                            "country") if address.get(k)))
    lines = table(
        ["Product", "SKU", "Personalisation", "Unit price", "Qty", "Total"],
        [(x.name, x.sku, options(x.options), money(x.unit_price, order.currency), x.quantity,
          money(x.line_total, order.currency)) for x in order.lines],
        empty="No lines.", css="lines")
    totals = h('<p class="totals">Subtotal {} · shipping {} · tax {} · <strong id="order-total">'
               "total {}</strong></p>", money(order.subtotal, order.currency),
               money(order.shipping, order.currency), money(order.tax, order.currency),
               money(order.total, order.currency))
    paid = table(["Provider", "Amount", "State", "Reference", "Created"],
                 [(p.provider, money(p.amount, p.currency), label(p.state.value),
                   p.provider_ref or "", when(p.created_at)) for p in payments],
                 empty="No payment link yet.", css="payments")
    parcel = (h('<p id="shipment">{} parcel <strong id="tracking">{}</strong>, shipped {}{}</p>',
                shipment.carrier, shipment.tracking_number, when(shipment.shipped_at),
                f", delivered {when(shipment.delivered_at)}" if shipment.delivered_at else "")
              if shipment else h('<p class="muted" id="shipment">Not shipped.</p>'))
    history = table(["When", "Event", "Status", "Details"],
                    [(when(e.created_at), label(e.type),
                      f"{label(e.from_status)} → {label(e.to_status)}" if e.to_status else "",
                      _event_details(e.data)) for e in order.events],
                    empty="No events.", css="events")
    done_by = table(["When", "Who", "Action", "Before", "After"],
                    [(when(a.created_at), a.actor_email, a.action, _event_details(a.before),
                      _event_details(a.after)) for a in audit],
                    empty="Nobody of the shop has acted on this order yet.", css="audit")
    return h('<div class="order">{}<section class="actions" id="actions"><h2>Actions</h2>{}'
             '</section><section><h2>Lines</h2>{}{}</section><section><h2>Payment</h2>{}'
             '</section><section><h2>Shipment</h2>{}</section>{}<section><h2>History</h2>{}'
             '</section><section><h2>Done in the back office</h2>{}</section></div>',
             summary, _actions(order), lines, totals, paid, parcel, _return(order), history,
             done_by)
