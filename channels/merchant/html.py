"""Server-rendered pages of the back office: every value is escaped unless it is markup
built here (:class:`Html`), so nothing a shopper typed (a name, an engraving) can run.

The pages need no script: forms post to the back office, which answers with a redirect
(or the page again with the refusal), and the pages' Content-Security-Policy allows none.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse

from channels.agent.routes import PAGE_HEADERS
from commerce_core.audit.service import Actor

NAV = (("/merchant", "Orders"), ("/merchant/returns", "Returns"),
       ("/merchant/products", "Products & stock"), ("/merchant/planning", "Planning"),
       ("/merchant/funnel", "Funnel"), ("/merchant/questions", "Unanswered"),
       ("/merchant/reviews", "Reviews"),
       ("/merchant/audit", "Audit log"))


class Html(str):
    """Markup that is safe as it is (built from escaped values)."""


def esc(value: Any) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def h(template: str, *args: Any, **kwargs: Any) -> Html:
    """``template`` (markup written here) with its ``{}`` fields filled in, escaped."""
    return Html(template.format(*(esc(a) for a in args),
                                **{k: esc(v) for k, v in kwargs.items()}))


def join(parts: Iterable[Html]) -> Html:
    return Html("".join(esc(p) for p in parts))


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def label(value: str) -> str:
    """``in_production`` → ``in production``."""
    return value.replace("_", " ")


def url(path: str, **query: Any) -> str:
    params = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(params) if params else "")


def table(headers: Iterable[str], rows: Iterable[Iterable[Any]], *, empty: str,
          css: str = "") -> Html:
    head = join(h("<th scope=\"col\">{}</th>", x) for x in headers)
    body = join(h("<tr>{}</tr>", join(h("<td>{}</td>", cell) for cell in row)) for row in rows)
    if not body:
        return h('<p class="muted empty">{}</p>', empty)
    return h('<table class="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', css, head,
             body)


def pager(link: Callable[[int], str], *, page_number: int, pages: int, total: int,
          what: str) -> Html:
    """The links to the newer and older pages of a list, and where this one stands."""
    links = []
    if page_number > 1:
        links.append(h('<a rel="prev" href="{}">← newer</a>', link(page_number - 1)))
    links.append(h('<span id="paging">page {} of {} · {} {}</span>', page_number,
                   max(pages, 1), total, what))
    if page_number < pages:
        links.append(h('<a rel="next" href="{}">older →</a>', link(page_number + 1)))
    return h('<p class="paging">{}</p>', join(links))


def button_form(action: str, text: str, *, fields: Html = Html(""), css: str = "") -> Html:
    """A form of one button (and its fields) that posts to ``action``."""
    return h('<form method="post" action="{}" class="act {}">{}<button type="submit">{}'
             "</button></form>", action, css, fields, text)


def page(*, title: str, body: Html, actor: Actor | None = None, status: int = 200,
         notice: str | None = None, error: str | None = None) -> HTMLResponse:
    nav = Html("")
    if actor is not None:
        links = join(h('<a href="{}">{}</a>', href, text) for href, text in NAV)
        nav = h('<nav>{}</nav><div class="who"><span id="owner-name">{}</span>'
                '<form method="post" action="/merchant/logout"><button type="submit" '
                'id="sign-out">Sign out</button></form></div>', links, actor.name)
    flash = Html("")
    if notice:
        flash = h('<p class="notice" id="notice" role="status">{}</p>', notice)
    if error:
        flash = h('<p class="problem" id="problem" role="alert">{}</p>', error)
    document = h(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} · Atelier back office</title>"
        '<link rel="stylesheet" href="/static/agent.css">'
        '<link rel="stylesheet" href="/static/merchant.css"></head>'
        '<body><header class="top"><strong>Atelier back office</strong>{nav}</header>'
        "<main><h1>{title}</h1>{flash}{body}</main></body></html>",
        title=title, nav=nav, flash=flash, body=body)
    return HTMLResponse(document, status_code=status, headers=PAGE_HEADERS)
