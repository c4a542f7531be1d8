"""The gateway's refusals: one base error carrying what the caller is told and the HTTP
status that says it, rendered by one handler (the same JSON body as the commerce API's
errors). WebSocket and Telegram paths read ``code`` and ``message`` of the same errors."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from commerce_core.errors import error_body


class GatewayError(Exception):
    """A refused gateway call; nothing of it was recorded or sent to the bot.

    Attributes:
        code: machine-readable reason, the ``code`` of the error body.
        message: what the caller (often a shopper) is told.
        http_status: the status of an HTTP answer.
        retry_after: seconds to wait before trying again (``Retry-After``), if it helps.
    """

    http_status = 422

    def __init__(self, code: str, message: str, *, http_status: int | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        if http_status is not None:
            self.http_status = http_status
        self.retry_after = retry_after


def error_response(exc: GatewayError) -> JSONResponse:
    headers = None if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(exc.code, exc.message), status_code=exc.http_status,
                        headers=headers)


def install_gateway_error_handler(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(_request: Request, exc: GatewayError) -> JSONResponse:
        return error_response(exc)
