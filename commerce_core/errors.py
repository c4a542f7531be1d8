"""Typed errors of the commerce core, rendered by one handler into JSON."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from commerce_core.observability.metrics import ERRORS


class CommerceError(Exception):
    code = "commerce_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None,
                 details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status
        self.details = details


class NotFound(CommerceError):
    code = "not_found"
    http_status = 404


class InvalidInput(CommerceError):
    code = "invalid_input"
    http_status = 422


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """The body of every 4xx/5xx answer: ``{"error": {"code", "message", "details"?}}``."""

    error: ErrorDetail


ERROR_DESCRIPTIONS = {
    400: "the request cannot be read",
    401: "no valid merchant API key or service token",
    403: "not allowed from this site",
    404: "no such resource (or not yours)",
    409: "conflicts with the current state (a duplicate, an order that moved on)",
    413: "the body is too large",
    422: "invalid input; the message says which field and why",
    429: "too many requests; see Retry-After",
    502: "the payment provider refused or could not be reached",
    503: "try again later",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error statuses a route can answer."""
    return {code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]}
            for code in codes}


def error_response(code: int, description: str) -> dict[int | str, dict[str, Any]]:
    """One error status with a description of its own (what it means on this route)."""
    return {code: {"model": ErrorOut, "description": description}}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of every error answer; counted by ``code`` for ``/metrics``."""
    ERRORS.labels(code).inc()
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CommerceError)
    async def _commerce_error(_request: Request, exc: CommerceError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details),
                            status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"location": ".".join(str(p) for p in err.get("loc", ())), "reason": err.get("msg")}
            for err in exc.errors()
        ]
        first = details[0] if details else {"location": "request", "reason": "invalid"}
        message = f"Invalid {first['location'] or 'request'}: {first['reason']}"
        return JSONResponse(error_body("invalid_request", message, details), status_code=422)
