"""How errors leave the server: JSON ``{"error": {"type", "message", "field"}}`` with a 4xx status.

``type`` is the exception's class name from ``mlineage.errors`` so a remote client raises the same class
(``detail`` carries what a class needs besides its message: an ambiguous ref's candidates); a 500 is a bug.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..errors import (
    AmbiguousRefError,
    AuthError,
    ConfigError,
    CycleError,
    ForbiddenError,
    LedgerError,
    MlineageError,
    NotFoundError,
    PayloadTooLarge,
    StoreUnavailableError,
    ValidationError,
)

STATUS: list[tuple[type[Exception], int]] = [
    (AuthError, 401), (ForbiddenError, 403), (PayloadTooLarge, 413), (ValidationError, 400),
    (AmbiguousRefError, 409),
    (NotFoundError, 404), (CycleError, 409), (LedgerError, 409), (ConfigError, 400),
    (StoreUnavailableError, 503),
]


def error_response(status: int, type_: str, message: str, field: str | None = None,
                   detail: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "message": message, "field": field}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse({"error": body}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MlineageError)
    async def _mlineage(_request: Request, exc: MlineageError) -> JSONResponse:
        status = next((code for cls, code in STATUS if isinstance(exc, cls)), 400)
        field = exc.field if isinstance(exc, ValidationError) else None
        response = error_response(status, type(exc).__name__, str(exc), field)
        if isinstance(exc, AmbiguousRefError):  # what the client needs to raise the same error
            response = error_response(status, type(exc).__name__, str(exc), field,
                                      {"ref": exc.ref, "candidates": exc.candidates})
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    import rfc8785

    @app.exception_handler(rfc8785.CanonicalizationError)
    async def _canonical(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(400, "ValidationError",
                              f"payload: {exc} (numbers must fit an IEEE double exactly)", "payload")

    @app.exception_handler(OverflowError)
    async def _overflow(_request: Request, exc: OverflowError) -> JSONResponse:
        return error_response(400, "ValidationError", f"a number is too large for the store: {exc}")

    from sqlalchemy.exc import DataError

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> JSONResponse:
        return error_response(400, "ValidationError",
                              f"the store refused a value: {str(exc.orig).splitlines()[0]}")

    @app.exception_handler(LookupError)
    async def _lookup(_request: Request, exc: LookupError) -> JSONResponse:
        return error_response(404, "NotFoundError", str(exc).strip("'\""))

    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        # what FastAPI raises itself (a body it cannot parse, a route that does not exist, a wrong method),
        # in the same shape as every other error
        type_ = "ValidationError" if exc.status_code == 400 else "NotFoundError" if exc.status_code == 404 \
            else "HTTPError"
        message = str(exc.detail)
        if message == "There was an error parsing the body":
            message = "the body is not JSON that can be parsed (malformed, or nested too deep)"
        response = error_response(exc.status_code, type_, message, "body" if exc.status_code == 400 else None)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return error_response(400, "ValidationError",
                                  f"malformed JSON: {first.get('ctx', {}).get('error', '')}", "body")
        loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(
            422, "ValidationError", f"{loc or 'body'}: {first.get('msg', 'invalid request')}", loc or None
        )
