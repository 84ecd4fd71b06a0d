"""OAuth 2.0 for the REST API, with Authlib's Flask server: client credentials, the
authorization code with PKCE (a tenant admin consents on the shop's page), refresh tokens
(rotated at every use), bearer tokens.

A token is issued by one tenant's token endpoint (its host, or ``/s/<slug>/`` in development)
and is only ever looked up in that tenant's scope: the ORM scoping and, on PostgreSQL, row-level
security make tenant A's token simply absent on tenant B's host (``invalid_token``), and the
tenant ids are compared once more explicitly in :meth:`TenantBearerValidator.authenticate_token`.
Authorization codes and refresh tokens are bound to their tenant the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select, update
from werkzeug.exceptions import HTTPException

from comptoir.api import service
from comptoir.api.errors import api_abort
from comptoir.api.models import (
    CODE_LIFETIME,
    ApiAuthorizationCode,
    ApiClient,
    ApiToken,
    digest,
    find_code,
    may_authorize,
)
from comptoir.api.service import SCOPES
from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.shop_settings.access import login_next

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
    """Store the digests of the new access (and refresh) token, with the admin who authorized
    it and the code it descends from (both ``None`` for client credentials)."""
    client: ApiClient = oauth_request.client
    user = oauth_request.user
    code: ApiAuthorizationCode | None = getattr(oauth_request, "authorization_code", None)
    previous: ApiToken | None = getattr(oauth_request, "refresh_token", None)
    code_pk = code.id if code is not None else previous.code_pk if previous is not None else None
    refresh = token.get("refresh_token")
    db.session.add(ApiToken(
        client_pk=client.id, token_digest=digest(token["access_token"]),
        scope=token.get("scope", ""), expires_in=int(token["expires_in"]),
        user_id=user.id if user is not None else None, code_pk=code_pk,
        refresh_digest=digest(refresh) if refresh else None,
    ))
    db.session.commit()


def _revoke_grant(code_pk: int | None) -> None:
    """Revoke every token descending from one authorization (a replayed code, a reused
    refresh token: someone else holds a copy, so nothing issued from it is trusted)."""
    if code_pk is None:
        return
    db.session.execute(
        update(ApiToken).where(ApiToken.code_pk == code_pk, ApiToken.revoked.is_(False))
        .values(revoked=True).execution_options(synchronize_session=False))
    db.session.commit()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """Client credentials, the secret in HTTP Basic (preferred) or in the form body."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class S256CodeChallenge(CodeChallenge):
    """PKCE (RFC 7636), required on every authorization request, S256 only.

    ``plain`` protects nothing once the request is seen (the challenge *is* the verifier), and
    RFC 9700 2.1.1 asks for S256; a request without ``code_challenge_method`` would mean
    ``plain``, so it is refused too, with a message saying what to send.
    """

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' (the S256 hash "
                                      "of your code_verifier) and 'code_challenge_method=S256'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only 'code_challenge_method=S256' is accepted ('plain' "
                                      "and a missing method are refused).")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 section 4.1 with PKCE: confidential clients authenticate with their secret,
    public ones (``token_endpoint_auth_method`` "none") with their ``client_id`` and PKCE."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def validate_authorization_request(self) -> str:
        redirect_uri = super().validate_authorization_request()
        # A plugin's scope is grantable only while the shop enables that plugin.
        grantable = service.grantable_scopes(g.tenant.plugins)
        asked = (self.request.scope or "").split()
        # What the admin sees on the consent page is what the code carries: never nothing,
        # which Authlib would widen to every scope of the client when making the token.
        if not asked or any(scope not in grantable for scope in asked):
            raise InvalidScopeError(redirect_uri=redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        db.session.add(ApiAuthorizationCode(
            code_digest=digest(code), client_pk=request.client.id, user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri, scope=request.scope or "",
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            expires_at=datetime.now(UTC) + CODE_LIFETIME,
        ))
        db.session.commit()

    def query_authorization_code(self, code: str, client: ApiClient
                                 ) -> ApiAuthorizationCode | None:
        found = find_code(code)
        if found is None or found.tenant_id != g.tenant.id or found.client_pk != client.id:
            return None
        if found.used_at is not None:
            _revoke_grant(found.id)
            raise InvalidGrantError("This authorization code was already used; the tokens "
                                    "issued from it are revoked.")
        if found.is_expired():
            raise InvalidGrantError("This authorization code has expired; authorize again.")
        return found

    def create_token_response(self) -> Any:
        code: ApiAuthorizationCode = self.request.authorization_code
        # Spent before anything is issued, in one UPDATE: of two requests racing with the
        # same code, one wins and the other is a replay.
        if not code.claim():
            db.session.rollback()
            _revoke_grant(code.id)
            raise InvalidGrantError("This authorization code was already used; the tokens "
                                    "issued from it are revoked.")
        return super().create_token_response()

    def authenticate_user(self, authorization_code: ApiAuthorizationCode) -> Any:
        user = authorization_code.user
        return user if may_authorize(user) else None

    def delete_authorization_code(self, authorization_code: ApiAuthorizationCode) -> None:
        """Kept, marked used (:meth:`ApiAuthorizationCode.claim`): it is the record of the grant
        that a replay revokes."""


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 section 6, with rotation (RFC 9700 4.14.2): each refresh token works once and
    comes back as a new pair; a spent one presented again revokes the whole grant."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> ApiToken | None:
        token = db.session.scalar(
            select(ApiToken).where(ApiToken.refresh_digest == digest(refresh_token)))
        if token is None or token.tenant_id != g.tenant.id:
            return None
        if token.revoked:
            _revoke_grant(token.code_pk)
            return None
        if datetime.now(UTC) >= token.refresh_expires_at() or not token.client.active:
            return None
        return token

    def authenticate_user(self, refresh_token: ApiToken) -> Any:
        user = refresh_token.user
        return user if may_authorize(user) else None

    def create_token_response(self) -> Any:
        previous: ApiToken = self.request.refresh_token
        if self.authenticate_user(previous) is None:
            raise InvalidGrantError("The admin who authorized this client may no longer do so.")
        if not previous.spend_refresh():
            db.session.rollback()
            _revoke_grant(previous.code_pk)
            raise InvalidGrantError()
        return super().create_token_response()

    def revoke_old_credential(self, refresh_token: ApiToken) -> None:
        """Already spent, with the new pair, in :meth:`create_token_response`."""


class TokenRevocation(RevocationEndpoint):
    """RFC 7009: a client revokes one of its own tokens; unknown tokens are answered 200.

    Access and refresh token share a row, so revoking either ends both; revoking a refresh
    token also ends every token of the same authorization (RFC 7009 section 2.1).
    """

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> ApiToken | None:
        hashed = digest(token_string)
        return db.session.scalar(select(ApiToken).where(
            or_(ApiToken.token_digest == hashed, ApiToken.refresh_digest == hashed)))

    def revoke_token(self, token: ApiToken, request: Any) -> None:
        token.revoked = True
        is_refresh = token.refresh_digest == digest(request.form.get("token", ""))
        db.session.commit()
        if is_refresh:
            _revoke_grant(token.code_pk)


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
    in_url = sorted(k for k in request.args if k in (
        "client_secret", "client_id", "grant_type", "scope", "token", "code", "code_verifier",
        "redirect_uri", "refresh_token"))
    if in_url:
        return _oauth_error(400, "invalid_request",
                            f"Parameters belong in the body, not the URL: {', '.join(in_url)}.")
    return None


@bp.post("/token")
def token() -> Any:
    """Exchange client credentials (RFC 6749 section 4.4), an authorization code with its PKCE
    verifier (4.1.3) or a refresh token (6) for a bearer token."""
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
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {
        "client_credentials": DEFAULT_TOKEN_LIFETIME,
        "authorization_code": DEFAULT_TOKEN_LIFETIME,
        "refresh_token": DEFAULT_TOKEN_LIFETIME,
    })
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", list(SCOPES))
    # Issued only where the grant asks (the authorization code; never client credentials).
    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    server = AuthorizationServer()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(TokenRevocation)
    app.extensions["comptoir.oauth_server"] = server
    app.register_blueprint(authorize_bp)


def _server() -> AuthorizationServer:
    """This app's authorization server (one per app: tests build many apps)."""
    return current_app.extensions["comptoir.oauth_server"]


# --- The authorization endpoint: a tenant admin's consent page ----------------------------
# A browser page, not a machine endpoint: CSRF-protected like every form of the app (this
# blueprint is not exempted) and its errors are pages, not the API's JSON.

authorize_bp = Blueprint("api_authorize", __name__, url_prefix="/api/v1/oauth")

#: The only fields the consent form posts; the authorization request stays in the URL.
CONSENT_FIELDS = frozenset({"csrf_token", "decision"})


def _refused_page(problem: str) -> tuple[str, int, dict[str, str]]:
    """An error shown to the admin, never sent to a redirect URI the shop cannot vouch for
    (RFC 6749 section 4.1.2.1): that would make the shop an open redirector."""
    return (render("api/authorize_error.html", problem=problem), 400,
            {"Cache-Control": "no-store"})


def _untrusted(client: ApiClient | None) -> str | None:
    """What is wrong before the redirect URI can be trusted, or ``None``."""
    args = request.args
    if request.method == "POST" and set(request.form) - CONSENT_FIELDS:
        return _("Send the authorization request in the address; the consent form posts only "
                 "the decision.")
    if len(args.getlist("client_id")) > 1 or len(args.getlist("redirect_uri")) > 1:
        return _("The request names client_id or redirect_uri more than once.")
    if not args.get("client_id"):
        return _("The request names no application (client_id is missing).")
    if client is None or not client.active:
        return _("No application with this client_id is registered in this shop.")
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri:
        return _("The request has no redirect_uri: the application must name one of its "
                 "registered redirect URIs.")
    if not client.check_redirect_uri(redirect_uri):
        return _("The redirect_uri %(uri)s is not registered for %(name)s (it must match a "
                 "registered URI exactly).", uri=redirect_uri, name=client.name)
    return None


def _error_redirect(error: OAuth2Error, redirect_uri: str) -> Response:
    """An error sent back to the (validated) client, with ``state`` (RFC 6749 4.1.2.1)."""
    error.redirect_uri = error.redirect_uri or redirect_uri
    error.state = request.args.get("state")
    response: Response = _server().handle_error_response(None, error)
    response.headers["Cache-Control"] = "no-store"
    return response


def _no_framing(response: Response) -> Response:
    """The consent page is never framed (a framed "Allow" button is clickjacking bait)."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@authorize_bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    """RFC 6749 section 4.1.1: GET asks the tenant admin, POST records the answer.

    Only a tenant admin of this shop may authorize (the API exposes all its data): the rule of
    ``/settings/api-clients``. A visitor logs in first and comes back here.
    """
    if g.get("tenant") is None:
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    if not may_authorize(current_user):
        abort(403)
    client_id = request.args.get("client_id", "")
    client = _query_client(client_id) if client_id else None
    problem = _untrusted(client)
    if problem is not None:
        return _refused_page(problem)
    redirect_uri = request.args["redirect_uri"]
    server = _server()
    try:
        grant = server.get_consent_grant(end_user=current_user)
    except OAuth2Error as error:
        return _error_redirect(error, redirect_uri)
    if request.method == "GET":
        labels = service.all_scopes()
        scopes = [(scope, labels.get(scope, scope)) for scope in grant.request.scope.split()]
        page = render("api/authorize.html", client=client, scopes=scopes,
                      redirect_uri=redirect_uri, action=request.script_root + request.full_path)
        return _no_framing(current_app.make_response(page))
    user = current_user._get_current_object() if request.form.get("decision") == "allow" \
        else None
    response: Response = server.create_authorization_response(grant=grant, grant_user=user)
    response.headers["Cache-Control"] = "no-store"
    return response


@authorize_bp.errorhandler(HTTPException)
def _page_error(exc: HTTPException) -> Any:
    """A 403, a missing CSRF token...: pages for a person, not the API's JSON."""
    db.session.rollback()
    return render("errors/http.html", error=exc), exc.code or 500
