"""The hosted payment page of the sandbox provider, as small, accessible HTML.

Every value from the database or the form goes through ``html.escape``. The card number
and the CVC are never written back into the page.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from commerce_core.payment.sandbox import TEST_CARDS
from commerce_core.payment.service import PageView

SHOP = "Atelier"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f3ee;color:#222;line-height:1.5}
main{max-width:26rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.1rem;margin:0 0 .25rem;color:#6b4e2e}
h2{font-size:1.4rem;margin:.25rem 0 1rem}
label{display:block;font-weight:600;margin-top:1rem}
input{box-sizing:border-box;width:100%;font-size:1rem;padding:.55rem;margin-top:.25rem;
border:1px solid #888;border-radius:4px}
input[aria-invalid=true]{border-color:#b00020;border-width:2px}
.row{display:flex;gap:1rem}.row>div{flex:1}
.error{color:#b00020;font-size:.9rem;margin:.25rem 0 0}
.alert{border:2px solid #b00020;background:#fdecee;padding:.5rem .75rem;border-radius:4px}
.ok{border:2px solid #1b6e3a;background:#e8f5ec;padding:.5rem .75rem;border-radius:4px}
button{margin-top:1.5rem;width:100%;font-size:1.05rem;padding:.7rem;border:0;
border-radius:4px;background:#6b4e2e;color:#fff;cursor:pointer}
button:focus,input:focus{outline:3px solid #e0a84d;outline-offset:1px}
.note{font-size:.85rem;color:#444;margin-top:1.5rem;border-top:1px solid #ddd}
code{font-size:.95em}
"""


def amount_text(amount: Decimal, currency: str) -> str:
    """``€1,234.50`` for the currencies with a common sign, ``1,234.50 CHF`` otherwise."""
    symbol = {"EUR": "€", "GBP": "£", "USD": "$"}.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {escape(currency)}"


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)} · {SHOP}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _heading(view: PageView) -> str:
    return (f"<h1>{SHOP}</h1><h2>Order {escape(view.order_number)} · "
            f"{amount_text(view.payment.amount, view.payment.currency)}</h2>")


def _field(name: str, label: str, *, autocomplete: str, errors: dict[str, str],
           value: str = "", inputmode: str | None = None, maxlength: int,
           placeholder: str | None = None) -> str:
    error = errors.get(name)
    attrs = [f'id="{name}"', f'name="{name}"', 'type="text"', "required",
             f'autocomplete="{autocomplete}"', f'maxlength="{maxlength}"']
    if inputmode:
        attrs.append(f'inputmode="{inputmode}"')
    if placeholder:
        attrs.append(f'placeholder="{escape(placeholder)}"')
    if value:
        attrs.append(f'value="{escape(value)}"')
    if error:
        attrs += ['aria-invalid="true"', f'aria-describedby="{name}-error"']
    html = f'<div><label for="{name}">{escape(label)}</label><input {" ".join(attrs)}>'
    if error:
        html += f'<p class="error" id="{name}-error">{escape(error)}</p>'
    return html + "</div>"


def form_page(view: PageView, *, errors: dict[str, str] | None = None,
              values: dict[str, str] | None = None, notice: str | None = None) -> str:
    """The card form; ``notice`` (a decline) or ``errors`` (per field) are announced."""
    errors = errors or {}
    values = values or {}
    notice = notice or (f"Your last attempt did not go through: {view.last_failure} "
                        "You can try again." if view.last_failure else None)
    parts = [_heading(view)]
    if notice:
        parts.append(f'<p class="alert" role="alert">{escape(notice)}</p>')
    elif errors:
        parts.append('<p class="alert" role="alert">Please correct the '
                     f'{"field" if len(errors) == 1 else f"{len(errors)} fields"} '
                     "marked below.</p>")
    parts.append('<form method="post" novalidate>')
    parts.append(_field("name", "Name on card", autocomplete="cc-name", errors=errors,
                        value=values.get("name", ""), maxlength=100))
    parts.append(_field("number", "Card number", autocomplete="cc-number", errors=errors,
                        inputmode="numeric", maxlength=23,
                        placeholder="1234 1234 1234 1234"))
    parts.append('<div class="row">')
    parts.append(_field("expiry", "Expiry (MM/YY)", autocomplete="cc-exp", errors=errors,
                        value=values.get("expiry", ""), inputmode="numeric", maxlength=7,
                        placeholder="MM/YY"))
    parts.append(_field("cvc", "Security code (CVC)", autocomplete="cc-csc", errors=errors,
                        inputmode="numeric", maxlength=4))
    parts.append("</div>")
    parts.append(f"<button type=\"submit\">Pay "
                 f"{amount_text(view.payment.amount, view.payment.currency)}</button></form>")
    cards = "".join(f"<li><code>{' '.join(n[i:i + 4] for i in range(0, 16, 4))}</code>: "
                    f"{escape(what)}</li>" for n, what in TEST_CARDS)
    parts.append('<section class="note" aria-labelledby="sandbox-title">'
                 '<h3 id="sandbox-title">Sandbox test cards</h3>'
                 "<p>This is a test payment page; no real card is charged. Use any name, a "
                 "future expiry date and any 3-digit CVC with:</p>"
                 f"<ul>{cards}<li>any other valid number: declined as an unsupported test "
                 "card</li></ul></section>")
    return _document(f"Pay order {view.order_number}", "".join(parts))


def message_page(view: PageView, *, title: str, message: str, ok: bool = False) -> str:
    """A page that states where the payment stands, with no form."""
    css = "ok" if ok else "alert"
    return _document(title, f'{_heading(view)}<p class="{css}" role="status">'
                            f"{escape(message)}</p>")


def received_page(view: PageView) -> str:
    return message_page(view, title="Payment received", ok=True,
                        message="Payment received — you can go back to the chat.")


def not_found_page() -> str:
    return _document("Payment link not found",
                     f"<h1>{SHOP}</h1><h2>Payment link not found</h2>"
                     "<p>This payment link does not exist. Please ask for a new link in the "
                     "chat.</p>")


def problem_page(title: str, message: str) -> str:
    return _document(title, f"<h1>{SHOP}</h1><h2>{escape(title)}</h2>"
                            f'<p class="alert" role="alert">{escape(message)}</p>')
