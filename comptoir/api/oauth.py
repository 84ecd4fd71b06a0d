"""OAuth 2.0 for the REST API, with Authlib's Flask server: client credentials, bearer tokens.

A token is issued by one tenant's token endpoint (its host, or ``/s/<slug>/`` in development)
and is only ever looked up in that tenant's scope: the ORM scoping and, on PostgreSQL, row-level
security make tenant A's token simply absent on tenant B's host (``invalid_token``), and the
tenant ids are compared once more explicitly in :meth:`TenantBearerValidator.authenticate_token`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Error, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Blueprint, Flask, current_app, g, jsonify, request
from sqlalchemy import select

from comptoir.api.errors import api_abort
from comptoir.api.models import ApiClient, ApiToken, digest
from comptoir.api.service import SCOPES
from comptoir.core.db import db

F = TypeVar("F", bound=Callable[..., Any])

#: What the token endpoint accepts at most; a form with three short fields is far below.
TOKEN_BODY_LIMIT = 8 * 1024
DEFAULT_TOKEN_LIFETIME = 3600


def _query_client(client_id: str) -> ApiClient | None:
    if g.get("tenant") is None:
        return None
    client = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.tenant_id != g.tenant.id:
        return None
    return client


def _save_token(token: dict[str, Any], oauth_request: Any) -> None:
    client: ApiClient = oauth_request.client
    db.session.add(ApiToken(
        client_pk=client.id, token_digest=digest(token["access_token"]),
        scope=token.get("scope", ""), expires_in=int(token["expires_in"]),
    ))
    db.session.commit()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """Client credentials, the secret in HTTP Basic (preferred) or in the form body."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class TokenRevocation(RevocationEndpoint):
    """RFC 7009: a client revokes one of its own tokens; unknown tokens are answered 200."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> ApiToken | None:
        return db.session.scalar(
            select(ApiToken).where(ApiToken.token_digest == digest(token_string)))

    def revoke_token(self, token: ApiToken, request: Any) -> None:
        token.revoked = True
        db.session.commit()


class TenantBearerValidator(BearerTokenValidator):
    """Bearer tokens looked up by digest, in the current tenant only."""

    def authenticate_token(self, token_string: str) -> ApiToken | None:
        tenant = g.get("tenant")
        if tenant is None or not token_string:
            return None
        token = db.session.scalar(
            select(ApiToken).where(ApiToken.token_digest == digest(token_string)))
        if token is None or token.tenant_id != tenant.id:
            return None
        return token


protector = ResourceProtector()
protector.register_token_validator(TenantBearerValidator())

bp = Blueprint("api_oauth", __name__, url_prefix="/api/v1/oauth")


def _oauth_error(status: int, error: str, description: str) -> Any:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _refuse_bad_token_request() -> Any:
    """What Authlib would answer less clearly: JSON bodies, secrets in the URL, huge bodies."""
    if request.content_length is not None and request.content_length > TOKEN_BODY_LIMIT:
        return _oauth_error(413, "invalid_request",
                            f"The request body is larger than {TOKEN_BODY_LIMIT} bytes.")
    request.max_content_length = TOKEN_BODY_LIMIT
    if request.mimetype != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request",
                            "Send the parameters as application/x-www-form-urlencoded "
                            "(RFC 6749 section 4.4.2); this body is "
                            f"'{request.mimetype or 'missing'}'.")
    in_url = sorted(k for k in request.args if k in ("client_secret", "client_id", "grant_type",
                                                      "scope", "token"))
    if in_url:
        return _oauth_error(400, "invalid_request",
                            f"Parameters belong in the body, not the URL: {', '.join(in_url)}.")
    return None


@bp.post("/token")
def token() -> Any:
    """Exchange client credentials for a bearer token (RFC 6749 section 4.4)."""
    refused = _refuse_bad_token_request()
    if refused is not None:
        return refused
    return _server().create_token_response()


@bp.post("/revoke")
def revoke() -> Any:
    """Revoke an access token (RFC 7009)."""
    refused = _refuse_bad_token_request()
    if refused is not None:
        return refused
    return _server().create_endpoint_response(TokenRevocation.ENDPOINT_NAME)


@bp.before_request
def _tenant_only() -> Any:
    if g.get("tenant") is None:
        return _oauth_error(404, "invalid_request",
                            "The API lives on a shop's host (or under /s/<slug>/).")
    return None


def current_token() -> ApiToken:
    return g.api_token


def authenticate(scope: str | None = None) -> ApiToken:
    """The request's valid token, or an API error (401 ``invalid_token``, 403
    ``insufficient_scope``). Called by every resource route before any data is read."""
    if g.get("tenant") is None:
        api_abort(404, "not_found", "The API lives on a shop's host (or under /s/<slug>/).")
    try:
        token: ApiToken = protector.acquire_token([scope] if scope else None)
    except OAuth2Error as exc:
        error = exc.error or "invalid_token"
        realm = f'Bearer realm="api", error="{error}"'
        if error == "insufficient_scope":
            api_abort(403, "insufficient_scope",
                      f"This token lacks the scope '{scope}'.", {"required_scope": scope},
                      {"WWW-Authenticate": realm + f', scope="{scope}"'})
        if error == "missing_authorization":
            api_abort(401, "missing_token",
                      "Send a bearer token: 'Authorization: Bearer <token>'.", {},
                      {"WWW-Authenticate": 'Bearer realm="api"'})
        api_abort(401, "invalid_token",
                  "The access token is unknown, expired or revoked on this shop.", {},
                  {"WWW-Authenticate": realm})
    g.api_token = token
    return token


def requires(scope: str) -> Callable[[F], F]:
    """Declare a route's scope: no token, 401; a token without the scope, 403."""
    if scope not in SCOPES:
        raise ValueError(f"undeclared scope {scope!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authenticate(scope)
            return view(*args, **kwargs)

        wrapper._api_scope = scope  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def init_app(app: Flask) -> None:
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN",
                          {"client_credentials": DEFAULT_TOKEN_LIFETIME})
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", list(SCOPES))
    server = AuthorizationServer()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(TokenRevocation)
    app.extensions["comptoir.oauth_server"] = server


def _server() -> AuthorizationServer:
    """This app's authorization server (one per app: tests build many apps)."""
    return current_app.extensions["comptoir.oauth_server"]
