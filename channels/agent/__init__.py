"""The agent console: sign-in, the live queue, transcripts, replies, hand-back."""

from __future__ import annotations

from fastapi import FastAPI


def include(app: FastAPI) -> None:
    """The console's routes (what they use comes from :mod:`channels.deps`)."""
    from channels.agent.routes import page_router, router
    from channels.agent.socket import router as socket_router

    app.include_router(router)
    app.include_router(socket_router)
    app.include_router(page_router)
