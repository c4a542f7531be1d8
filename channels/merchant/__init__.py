"""The shop owner's back office at ``/merchant``: orders, returns, products and stock, the
workshop's planning, the conversation funnel and how well the bot understood, reviews,
and the audit log of what was done there."""

from __future__ import annotations

from fastapi import FastAPI

from channels.merchant import (
    audit,
    funnel,
    orders,
    planning,
    questions,
    returns,
    reviews,
    signin,
    stock,
    understanding,
)
from channels.merchant.auth import OwnersOnly, SignInRequired, refusal


def include(app: FastAPI) -> None:
    """The back office's pages (it signs in with the agent console's accounts: the console
    must be included too)."""
    app.add_exception_handler(SignInRequired, refusal)
    app.add_exception_handler(OwnersOnly, refusal)
    for module in (signin, orders, returns, stock, planning, funnel, understanding, questions,
                   reviews, audit):
        app.include_router(module.router)
