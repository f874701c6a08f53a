"""Every error leaves the service as JSON `{"error": {"code", "message", "field"}}`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.errors import Conflict, Invalid, Merged, NotFound, ServiceError, Unavailable

_STATUS: dict[type[ServiceError], int] = {
    Invalid: 422,
    NotFound: 404,
    Conflict: 409,
    Merged: 308,
    Unavailable: 503,
}


class ApiError(Exception):
    """An error raised in the web layer with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if request_id:
        body["request_id"] = request_id
    return web.json_response({"error": body}, status=status, headers=headers)


def service_error_response(
    request: web.Request, exc: ServiceError, request_id: str | None
) -> web.Response:
    headers = None
    if isinstance(exc, Merged):
        old, new = f"/customers/{exc.merged_id}", f"/customers/{exc.survivor_id}"
        location = request.path.replace(old, new, 1)
        if request.query_string:
            location += "?" + request.query_string
        headers = {"Location": location}
    status = _STATUS.get(type(exc), 400)
    return error_response(status, exc.code, exc.message, exc.field, request_id, headers)


# Codes for the HTTP errors aiohttp raises itself (unknown route, wrong method, too large).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}
