"""One error shape for every 4xx and 5xx the REST API answers.

``{"error": {"code": "not_found", "message": "...", "status": 404, "details": {...}}}``:
``code`` is stable and machine-readable (integrators branch on it), ``message`` is for people,
``details`` names the fields or parameters at fault. The app's ``HTTPException`` handler sends
every error under ``/api/`` here, and the API's own checks (bearer token, scopes, query
parameters) raise through :func:`api_abort`, so no route can answer in another shape.

The OAuth endpoints (``/api/v1/oauth/token``, ``/revoke``) are the exception by design: RFC
6749 section 5.2 fixes their error body (``{"error": "invalid_client", "error_description":
...}``) and every OAuth client library parses that.
"""

from __future__ import annotations

from typing import Any, NoReturn

import marshmallow as ma
from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

#: Stable codes for plain HTTP errors; the API's own refusals pass their own code.
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}


class ApiError(HTTPException):
    """An HTTP error carrying the API's code and details."""

    def __init__(self, status: int, code: str, message: str,
                 details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = status
        self.api_code = code
        self.details = details or {}
        self.extra_headers = headers or {}


def api_abort(status: int, code: str, message: str, details: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> NoReturn:
    """Stop the request with the API's error shape (raise, so transactions roll back)."""
    raise ApiError(status, code, message, details, headers)


def _validation_details(messages: Any) -> dict[str, Any]:
    """webargs' ``{"query": {"limit": ["..."]}}`` flattened to ``{"limit": ["..."]}``."""
    if isinstance(messages, dict) and len(messages) == 1:
        (location, inner), = messages.items()
        if location in ("query", "json", "form", "headers", "view_args") and isinstance(inner,
                                                                                       dict):
            return inner
    return messages if isinstance(messages, dict) else {"errors": messages}


def error_body(status: int, code: str, message: str,
               details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status,
                      "details": details or {}}}


def error_response(exc: HTTPException) -> Response:
    """The API's answer to ``exc`` (``app.py`` calls this for every path under ``/api/``)."""
    status = exc.code or 500
    if status == 304:  # flask-smorest's NotModified: no body, the validator again
        response = Response(status=304)
        tags = request.if_none_match.as_set() if request.if_none_match else set()
        if len(tags) == 1:  # "*" matches too and names no tag
            response.set_etag(next(iter(tags)))
        return response
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        code, message, details = exc.api_code, exc.description or "", exc.details
        headers.update(exc.extra_headers)
    else:
        code = CODES.get(status, "error")
        message = exc.description or exc.name
        details = {}
        data = getattr(exc, "data", None)  # webargs' abort: the fields at fault
        if isinstance(data, dict) and "messages" in data:
            details = _validation_details(data["messages"])
            code = "invalid_parameters"
            fields = ", ".join(sorted(str(k) for k in details))
            message = f"Invalid or unknown parameters: {fields}."
        if status == 405 and exc.response is None:
            allow = exc.get_headers()
            headers.update({k: v for k, v in allow if k.lower() == "allow"})
    response = jsonify(error_body(status, code, message, details))
    response.status_code = status
    for name, value in headers.items():
        response.headers[name] = value
    return response


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable error code."})
    message = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    details = ma.fields.Dict(required=True, metadata={
        "description": "The fields or parameters at fault, when there are any."})


class ErrorSchema(ma.Schema):
    """The error body of every API route (documentation only)."""

    error = ma.fields.Nested(ErrorDetailSchema, required=True)
