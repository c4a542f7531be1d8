from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from commerce_core import clock
from commerce_core.auth import MerchantDep, ServiceDep
from commerce_core.db import SessionDep
from commerce_core.errors import error_responses
from commerce_core.params import ProductId, id_path
from commerce_core.review import service
from commerce_core.review.schemas import (
    HideIn,
    ProductReviewsOut,
    ReviewableLineOut,
    ReviewIn,
    ReviewOut,
)
from commerce_core.shopper import ShopperDep

router = APIRouter(tags=["reviews"], responses=error_responses(401, 422))
ReviewId = Annotated[int, id_path("review")]


@router.put("/shoppers/{channel}/{external_id}/orders/{number}/review", status_code=201,
            response_model=ReviewOut,
            responses={200: {"model": ReviewOut, "description": "the shopper's review of "
                             "this product of this order, changed"},
                       **error_responses(404, 409, 413)})
def write_review(_: ServiceDep, session: SessionDep, customer: ShopperDep, number: str,
                 body: ReviewIn, response: Response) -> ReviewOut:
    """Rate one product of the shopper's delivered order (201), or change that rating
    (200). One review per order line; only the order's owner may write it."""
    review, created = service.write_review(session=session, customer=customer,
                                           number=number[:16], body=body)
    session.commit()
    if not created:
        response.status_code = 200
    return review


@router.get("/shoppers/{channel}/{external_id}/reviews", response_model=list[ReviewableLineOut])
def my_reviewable(_: ServiceDep, session: SessionDep, customer: ShopperDep,
                  limit: Annotated[int, Query(ge=1, le=50)] = 20) -> list[ReviewableLineOut]:
    """The products of the shopper's delivered orders, with the review of each if written."""
    return service.reviewable(session=session, customer=customer, limit=limit)


@router.get("/products/{product_id:int}/reviews", response_model=ProductReviewsOut,
            responses=error_responses(404))
def product_reviews(_: ServiceDep, session: SessionDep, product_id: ProductId,
                    limit: Annotated[int, Query(ge=1, le=50)] = 10) -> ProductReviewsOut:
    return service.product_reviews(session=session, product_id=product_id, limit=limit)


@router.get("/merchant/reviews", response_model=list[ReviewOut], tags=["merchant"])
def merchant_reviews(_: MerchantDep, session: SessionDep,
                     status: Literal["all", "visible", "hidden"] = "all",
                     limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0
                     ) -> list[ReviewOut]:
    hidden = {"all": None, "visible": False, "hidden": True}[status]
    return service.listing(session=session, hidden=hidden, limit=limit, offset=offset)


@router.post("/merchant/reviews/{review_id}/hide", response_model=ReviewOut, tags=["merchant"],
             responses=error_responses(404))
def hide_review(_: MerchantDep, session: SessionDep, review_id: ReviewId,
                body: HideIn) -> ReviewOut:
    """Take a review off the shop, with the reason (kept for its author and the team)."""
    review = service.hide(session=session, review_id=review_id, reason=body.reason,
                          now=clock.now())
    session.commit()
    return review


@router.post("/merchant/reviews/{review_id}/show", response_model=ReviewOut, tags=["merchant"],
             responses=error_responses(404))
def show_review(_: MerchantDep, session: SessionDep, review_id: ReviewId) -> ReviewOut:
    review = service.show(session=session, review_id=review_id)
    session.commit()
    return review
