"""Talking to a company's OpenID provider: discovery, the authorization request, the code
exchange and the ID token checks, with Authlib's requests client and joserfc.

Why a client built per request from the database row instead of ``flask_client.OAuth``'s
registry: the registry is process-wide and keyed by name, so a client registered for one
shop would be found by another. Here nothing outlives the request, and every check a
library does for us is spelled out (issuer, audience, expiry, nonce, signature by a key of
the provider's JWKS, PKCE S256) so a reviewer sees it.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from flask import current_app
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from comptoir.sso import secrets

#: Seconds we wait for the provider on each call; a login page must not hang.
TIMEOUT = 8
#: Largest discovery or JWKS document read; real ones are a few kilobytes.
MAX_DOCUMENT = 512 * 1024
#: Asymmetric algorithms only: an HS256 ID token would be signed with the client secret,
#: which the shop also holds, so it proves nothing about the provider.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA"]
SCOPE = "openid email profile"
#: Clock skew tolerated on exp/iat, in seconds.
LEEWAY = 60


class SSOError(Exception):
    """A log-in or discovery failure; ``str(exc)`` is a translated sentence for the user."""


@dataclass(frozen=True)
class Pending:
    """What the shop remembers between the redirect to the provider and the callback."""

    sso_id: int
    tenant_id: int
    state: str
    nonce: str
    verifier: str
    next: str | None = None

    def to_session(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_session(cls, data: Any) -> Pending | None:
        try:
            return cls(**data)
        except TypeError:
            return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be an issuer or provider endpoint, or None.

    HTTPS only: the provider's answers decide who logs in. Plain HTTP is accepted for a
    loopback provider while testing or debugging (the test provider runs there).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("%(url)s is not a web address.", url=url)
    if parts.query or parts.fragment:
        return _("%(url)s must not contain a query or fragment.", url=url)
    if parts.scheme == "http" and not (
        _loopback(parts.hostname) and (current_app.testing or current_app.debug)
    ):
        return _("%(url)s must use https.", url=url)
    return None


def address_problem(url: str) -> str | None:
    """Why the shop must not fetch ``url``, once its host is resolved, or None.

    A company admin types the issuer, and the provider's own discovery document names the
    other endpoints, so without this check either could make the shop's servers fetch from
    their own network (a cloud metadata service, an internal admin page): server-side request
    forgery. Every address the name resolves to must be public, unless the deployment allows
    private providers (``COMPTOIR_SSO_PRIVATE_PROVIDERS``) or it is the loopback test
    provider. The check runs before every fetch; a name that changes its answer between the
    check and the connection (DNS rebinding) remains a residual risk, documented in docs/sso.md.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if current_app.config.get("SSO_PRIVATE_PROVIDERS") or (
        _loopback(host) and (current_app.testing or current_app.debug)
    ):
        return None
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return _("The name %(host)s cannot be resolved.", host=host)
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return _("%(host)s is on a private or reserved network (%(address)s): the shop "
                     "only talks to providers on the public internet.",
                     host=host, address=str(address))
    return None


def _get_json(url: str, what: str, headers: dict[str, str] | None = None) -> Any:
    problem = url_problem(url) or address_problem(url)
    if problem:
        raise SSOError(problem)
    try:
        with requests.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True,
                          headers={"Accept": "application/json", **(headers or {})}) as answer:
            if answer.status_code != 200:
                raise SSOError(_("%(what)s at %(url)s answered HTTP %(status)s.",
                                 what=what, url=url, status=answer.status_code))
            body = answer.raw.read(MAX_DOCUMENT + 1, decode_content=True)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        # urllib3's own errors (a broken or badly compressed body) surface from raw.read().
        raise SSOError(_("%(what)s at %(url)s cannot be reached (%(reason)s).",
                         what=what, url=url, reason=type(exc).__name__)) from exc
    if len(body) > MAX_DOCUMENT:
        raise SSOError(_("%(what)s at %(url)s is too large.", what=what, url=url))
    try:
        return json.loads(body)
    except ValueError as exc:
        raise SSOError(_("%(what)s at %(url)s is not JSON.", what=what, url=url)) from exc


def discover(issuer: str) -> dict[str, Any]:
    """The provider's metadata, checked: an :class:`SSOError` says what is wrong with it."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _get_json(url, _("The discovery document"))
    if not isinstance(document, dict):
        raise SSOError(_("The discovery document at %(url)s is not a JSON object.", url=url))
    if document.get("issuer") != issuer:
        raise SSOError(_("The provider names itself %(found)s, not %(expected)s: the issuer "
                         "must match exactly.", found=document.get("issuer") or "-",
                         expected=issuer))
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(key)
        if not isinstance(value, str):
            raise SSOError(_("The discovery document has no %(name)s.", name=key))
        problem = url_problem(value) or address_problem(value)
        if problem:
            raise SSOError(problem)
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise SSOError(_("The provider does not support PKCE with S256."))
    return document


def _client(config: Any, redirect_uri: str) -> OAuth2Session:
    try:
        secret = secrets.decrypt(config.client_secret)
    except secrets.SecretUnreadable as exc:
        raise SSOError(_("The client secret must be entered again by the company "
                         "administrator.")) from exc
    session = OAuth2Session(config.client_id, secret, scope=SCOPE, redirect_uri=redirect_uri,
                            code_challenge_method="S256")
    # The token endpoint was checked at discovery; a redirect must not lead elsewhere.
    session.max_redirects = 0
    return session


def authorization_url(config: Any, *, redirect_uri: str, login_hint: str,
                      next_url: str | None) -> tuple[str, Pending]:
    """Where to send the user, and what to remember for the callback (state, nonce, PKCE)."""
    metadata = discover(config.issuer)
    pending = Pending(sso_id=config.id, tenant_id=config.tenant_id, state=generate_token(32),
                      nonce=generate_token(32), verifier=generate_token(64), next=next_url)
    url, _state = _client(config, redirect_uri).create_authorization_url(
        metadata["authorization_endpoint"], state=pending.state,
        code_verifier=pending.verifier, nonce=pending.nonce, login_hint=login_hint)
    return url, pending


def validate_id_token(id_token: str, *, jwks: Any, issuer: str, client_id: str, nonce: str,
                      access_token: str | None) -> dict[str, Any]:
    """The ID token's claims once its signature (a key of ``jwks``), iss, aud, exp, iat,
    nonce, azp and at_hash are checked; :class:`SSOError` otherwise."""
    try:
        keys = KeySet.import_key_set(jwks)
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        claims = CodeIDToken(
            token.claims, token.header,
            {"iss": {"essential": True, "value": issuer},
             "aud": {"essential": True, "value": client_id},
             "nonce": {"essential": True, "value": nonce}},
            {"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
        claims.validate(leeway=LEEWAY)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        current_app.logger.warning("sso: ID token refused: %r", exc)
        raise SSOError(_("The identity token from the provider is not valid (%(reason)s).",
                         reason=getattr(exc, "error", None) or type(exc).__name__)) from exc
    return dict(claims)


def finish(config: Any, pending: Pending, args: Any, *, redirect_uri: str) -> dict[str, Any]:
    """The verified claims of the user the provider sends back with ``args``."""
    if args.get("error"):
        raise SSOError(_("The provider refused the log-in: %(error)s.",
                         error=args.get("error_description") or args["error"]))
    if not hmac.compare_digest(str(args.get("state", "")), pending.state):
        raise SSOError(_("This log-in answer does not match the log-in you started."))
    if "iss" in args and args["iss"] != config.issuer:  # RFC 9207: mix-up defence
        raise SSOError(_("This log-in answer comes from another provider."))
    if not args.get("code"):
        raise SSOError(_("The provider sent no authorization code."))
    metadata = discover(config.issuer)
    client = _client(config, redirect_uri)
    try:
        token = client.fetch_token(metadata["token_endpoint"], grant_type="authorization_code",
                                   code=args["code"], code_verifier=pending.verifier,
                                   timeout=TIMEOUT)
    except OAuthError as exc:
        raise SSOError(_("The provider refused the authorization code: %(error)s.",
                         error=exc.description or exc.error)) from exc
    except (requests.RequestException, ValueError) as exc:
        raise SSOError(_("The provider's token endpoint cannot be used (%(reason)s).",
                         reason=type(exc).__name__)) from exc
    if not token.get("id_token"):
        raise SSOError(_("The provider sent no identity token."))
    claims = validate_id_token(
        token["id_token"], jwks=_get_json(metadata["jwks_uri"], _("The key set")),
        issuer=config.issuer, client_id=config.client_id, nonce=pending.nonce,
        access_token=token.get("access_token"))
    if ("email" not in claims or "email_verified" not in claims) \
            and metadata.get("userinfo_endpoint"):
        info = _userinfo(metadata["userinfo_endpoint"], token)
        if info.get("sub") != claims["sub"]:  # OIDC Core 5.3.2
            raise SSOError(_("The userinfo endpoint describes another user."))
        claims = {**info, **claims}
    return claims


def _userinfo(url: str, token: dict[str, Any]) -> dict[str, Any]:
    """The e-mail claims some providers put only in userinfo (OIDC Core 5.4)."""
    info = _get_json(url, _("The userinfo endpoint"),
                     headers={"Authorization": f"Bearer {token['access_token']}"})
    if not isinstance(info, dict):
        raise SSOError(_("The userinfo endpoint did not answer a JSON object."))
    return {k: info[k] for k in ("sub", "email", "email_verified", "name") if k in info}
