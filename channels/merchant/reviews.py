"""Reviews moderation: what shoppers wrote about what they received, newest first; the owner
hides one from the shop with a reason (kept with it) or shows it again, each audited."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from channels.merchant.auth import FormDep, OwnerDep
from channels.merchant.html import Html, button_form, h, join, page, table, url, when
from commerce_core import clock
from commerce_core.audit.service import record
from commerce_core.db import SessionDep
from commerce_core.errors import CommerceError
from commerce_core.params import CONTROL_RE
from commerce_core.review import service
from commerce_core.review.schemas import ReviewOut

router = APIRouter(include_in_schema=False)
SHOWN = 200
MAX_REASON = 300
DONE = {"hidden": "The review is hidden from the shop.",
        "shown": "The review is shown in the shop again."}
Show = Literal["all", "visible", "hidden"]


def _actions(review: ReviewOut) -> Html:
    base = f"/merchant/reviews/{review.id}"
    if review.hidden:
        return join([h('<span class="reason">Hidden: {}</span>', review.hidden_reason or ""),
                     button_form(base + "/show", "Show again")])
    return button_form(base + "/hide", "Hide", css="danger", fields=h(
        '<label>Why <input name="reason" required maxlength="{}" '
        'placeholder="kept with the review"></label>', MAX_REASON))


def reviews_page(session: SessionDep, actor: OwnerDep, *, show: Show = "all",
                 notice: str | None = None, error: str | None = None,
                 status: int = 200) -> HTMLResponse:
    hidden = {"all": None, "visible": False, "hidden": True}[show]
    rows = [(h('<a href="/merchant/orders/{0}">{0}</a>', r.order_number), r.product_name,
             h('<span class="stars" title="{} of 5">{}</span>', r.rating,
               "★" * r.rating + "☆" * (5 - r.rating)),
             r.comment, when(r.created_at), _actions(r))
            for r in service.listing(session=session, hidden=hidden, limit=SHOWN, offset=0)]
    switch = join(h('<a href="{}">{}</a> ', url("/merchant/reviews", show=key), text)
                  for key, text in (("all", "All"), ("visible", "In the shop"),
                                    ("hidden", "Hidden")))
    return page(title="Reviews", actor=actor, notice=notice, error=error, status=status,
                body=join([h('<p class="paging">{}</p>', switch), table(
                    ["Order", "Product", "Stars", "Comment", "Written", ""], rows,
                    empty="No review yet: shoppers are asked for one after a delivery.",
                    css="reviews")]))


@router.get("/merchant/reviews")
def reviews(actor: OwnerDep, session: SessionDep, show: Show = "all",
            done: str = "") -> HTMLResponse:
    return reviews_page(session, actor, show=show, notice=DONE.get(done))


@router.post("/merchant/reviews/{review_id:int}/hide")
def hide(actor: OwnerDep, session: SessionDep, review_id: int, form: FormDep) -> Response:
    reason = " ".join(form.get("reason", "").split())
    try:
        if not 3 <= len(reason) <= MAX_REASON or CONTROL_RE.search(reason):
            raise CommerceError(f"Say why in 3-{MAX_REASON} characters.", http_status=422)
        service.hide(session=session, review_id=review_id, reason=reason,
                              now=clock.now())
        record(session=session, actor=actor, action="review.hide", target_type="review",
               target=str(review_id), before={"hidden": False},
               after={"hidden": True, "reason": reason})
        session.commit()
    except CommerceError as exc:
        session.rollback()
        return reviews_page(session, actor, error=exc.message, status=exc.http_status)
    return RedirectResponse(url("/merchant/reviews", done="hidden"), status_code=303)


@router.post("/merchant/reviews/{review_id:int}/show")
def show(actor: OwnerDep, session: SessionDep, review_id: int) -> Response:
    try:
        service.show(session=session, review_id=review_id)
        record(session=session, actor=actor, action="review.show", target_type="review",
               target=str(review_id), before={"hidden": True}, after={"hidden": False})
        session.commit()
    except CommerceError as exc:
        session.rollback()
        return reviews_page(session, actor, error=exc.message, status=exc.http_status)
    return RedirectResponse(url("/merchant/reviews", done="shown"), status_code=303)
