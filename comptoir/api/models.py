"""API clients, authorization codes and access tokens, all owned by one tenant.

Secrets, authorization codes, access and refresh tokens are kept as SHA-256 digests, never in
clear: a copy of the database gives no one a way into a shop's API. SHA-256 (not a slow
password hash) is enough here because all are long random strings (:mod:`secrets`,
Authlib's ``generate_token``), which no dictionary can guess, and a fast digest keeps every
API request's token lookup a single indexed query.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    DateTime,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.core.db import db
from comptoir.core.scoping import TenantScoped
from comptoir.customers.models import User
from comptoir.shop_settings.access import ADMIN_ROLE

#: An authorization code is worth something for this long (RFC 6749 4.1.2 recommends at most
#: ten minutes); it is redeemed once, seconds after it is issued, by a working client.
CODE_LIFETIME = timedelta(minutes=10)
#: A refresh token is rotated at every use; unused for this long, it lapses and the admin
#: authorizes the tool again.
REFRESH_TOKEN_LIFETIME = timedelta(days=30)


def _now() -> datetime:
    return datetime.now(UTC)


def digest(secret: str) -> str:
    """The hex SHA-256 of a client secret or access token, as stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def may_authorize(user: User | None) -> bool:
    """Whether ``user`` may let a program read the shop through the API.

    The API exposes the whole shop's data, so the rule is the one of ``/settings/api-clients``
    (:func:`comptoir.shop_settings.access.admins_only`): an active tenant admin. It is checked
    when consent is given, when the code is redeemed, at every refresh and on every request
    made with a token the user authorized, so a demoted or disabled admin's grants stop at once.
    """
    return user is not None and user.active and user.role == ADMIN_ROLE


class ApiClient(TenantScoped, db.Model):
    """A program a tenant admin let read the shop's data (an ERP, a VAR's tooling...).

    Implements what Authlib's server asks of a client (``ClientMixin``), but with the secret
    stored hashed rather than in the mixin's plaintext column.
    """

    __tablename__ = "api_clients"
    __table_args__ = (
        UniqueConstraint("tenant_id", "client_id"),
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    #: Empty for a public client, which has no secret (a native or single-page tool cannot
    #: keep one); no digest equals the empty string, so no secret ever matches.
    secret_digest: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    #: A public client authenticates with its ``client_id`` alone and proves with PKCE that it
    #: started the authorization; it may use the authorization-code grant only.
    public: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Registered redirect URIs, one per line, compared exactly; none = client credentials only.
    redirect_uris: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Space-separated scopes the client may ask for (``orders:read catalog:read``).
    scopes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="client", primaryjoin="ApiClient.id == ApiToken.client_pk",
        foreign_keys="ApiToken.client_pk", cascade="all, delete-orphan",
    )

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()

    @property
    def token_endpoint_auth_method(self) -> str:
        """How the client authenticates at the token endpoint (RFC 7591's names)."""
        return "none" if self.public else "client_secret_basic"

    @property
    def grant_types(self) -> list[str]:
        """The grants this client may use: client credentials needs a secret, the
        authorization code a redirect URI (and brings refresh tokens along)."""
        kinds = [] if self.public else ["client_credentials"]
        if self.redirect_uri_list:
            kinds += ["authorization_code", "refresh_token"]
        return kinds

    # --- Authlib ClientMixin -------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """None: every authorization request names its ``redirect_uri``, which is then
        compared exactly with the registered ones (and sent again to the token endpoint)."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """All the client's scopes when none is asked; ``None`` (Authlib: ``invalid_scope``)
        when one asked for is not the client's.

        A blank ``scope`` (``scope=%20``) asks for nothing, like a missing one: it must not
        pass as "" (an empty consent page) and widen to every scope once the token is made.
        """
        allowed = self.scope_list
        asked = (scope or "").split()
        if not asked:
            return " ".join(allowed)
        if not set(asked) <= set(allowed):
            return None
        return " ".join(dict.fromkeys(asked))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string comparison (RFC 9700 2.1): no prefix, no wildcard, no normalisation."""
        return any(hmac.compare_digest(redirect_uri.encode(), uri.encode())
                   for uri in self.redirect_uri_list)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.public or not self.secret_digest:
            return False
        return hmac.compare_digest(self.secret_digest, digest(client_secret or ""))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint in ("token", "revocation", "revoke"):
            if self.public:
                return method == "none"
            return method in ("client_secret_basic", "client_secret_post")
        return False

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and self.active and bool(self.redirect_uri_list)

    def check_grant_type(self, grant_type: str) -> bool:
        return self.active and grant_type in self.grant_types


class ApiAuthorizationCode(TenantScoped, db.Model):
    """What a tenant admin granted on the consent page: the code (as a digest) and its bindings.

    The code is redeemed once, within :data:`CODE_LIFETIME`, at the token endpoint of the same
    tenant, by the same client, with the same ``redirect_uri`` and the PKCE verifier matching
    ``code_challenge``. The row outlives its redemption (``used_at``) as the record of the grant:
    the tokens issued from it (and their refreshes) point at it, so a replayed code revokes
    them all (RFC 6749 section 4.1.2).
    """

    __tablename__ = "api_authorization_codes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code_digest"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "client_pk"],
                             ["api_clients.tenant_id", "api_clients.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "user_id"],
                             ["users.tenant_id", "users.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    client_pk: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    client: Mapped[ApiClient] = relationship(
        primaryjoin="ApiClient.id == ApiAuthorizationCode.client_pk",
        foreign_keys=[client_pk], viewonly=True,
    )
    user: Mapped[User] = relationship(
        primaryjoin=lambda: User.id == ApiAuthorizationCode.user_id,
        foreign_keys=[user_id], viewonly=True,
    )

    def is_expired(self) -> bool:
        return _now() >= _aware(self.expires_at)

    def claim(self) -> bool:
        """Mark the code used, atomically: ``False`` when it already was, even by a request
        running at the same moment (one ``UPDATE ... WHERE used_at IS NULL`` decides)."""
        result = db.session.execute(
            update(ApiAuthorizationCode)
            .where(ApiAuthorizationCode.id == self.id, ApiAuthorizationCode.used_at.is_(None))
            .values(used_at=_now())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def revoke_tokens(self) -> int:
        """Revoke every token issued from this code, refreshed ones included."""
        result = db.session.execute(
            update(ApiToken).where(ApiToken.code_pk == self.id, ApiToken.revoked.is_(False))
            .values(revoked=True).execution_options(synchronize_session=False)
        )
        return result.rowcount

    # --- Authlib AuthorizationCodeMixin ---------------------------------------------------
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class ApiToken(TenantScoped, db.Model):
    """A bearer token issued to a client by one tenant: valid on that tenant's host only."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_digest"),
        UniqueConstraint("tenant_id", "refresh_digest"),
        ForeignKeyConstraint(["tenant_id", "client_pk"],
                             ["api_clients.tenant_id", "api_clients.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "user_id"],
                             ["users.tenant_id", "users.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "code_pk"],
                             ["api_authorization_codes.tenant_id", "api_authorization_codes.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(Integer, index=True)
    token_digest: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_in: Mapped[int] = mapped_column(Integer)
    revoked: Mapped[bool] = mapped_column(default=False)
    #: The tenant admin who authorized the client (authorization-code grant); ``None`` for a
    #: client-credentials token, which acts for the client alone.
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: The authorization code this token descends from (directly or through refreshes).
    code_pk: Mapped[int | None] = mapped_column(Integer, index=True)
    #: Digest of the refresh token issued with this access token, if any; spent (the row
    #: revoked) when it is exchanged for a new pair.
    refresh_digest: Mapped[str | None] = mapped_column(String(64))

    client: Mapped[ApiClient] = relationship(
        back_populates="tokens", primaryjoin="ApiClient.id == ApiToken.client_pk",
        foreign_keys=[client_pk],
    )
    user: Mapped[User | None] = relationship(
        primaryjoin=lambda: User.id == ApiToken.user_id, foreign_keys=[user_id], viewonly=True,
    )

    # --- Authlib TokenMixin --------------------------------------------------------------
    def check_client(self, client: ApiClient) -> bool:
        return self.client_pk == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def expires_at(self) -> datetime:
        return _aware(self.issued_at) + timedelta(seconds=self.expires_in)

    def is_expired(self) -> bool:
        return _now() >= self.expires_at()

    def refresh_expires_at(self) -> datetime:
        return _aware(self.issued_at) + REFRESH_TOKEN_LIFETIME

    def is_revoked(self) -> bool:
        """Revoked, or its client is, or the admin who authorized it no longer may."""
        if self.revoked or not self.client.active:
            return True
        return self.user_id is not None and not may_authorize(self.user)

    def spend_refresh(self) -> bool:
        """Retire this row for its refresh token, atomically: ``False`` when it was retired
        already (the token was used before, or is being used right now by someone else)."""
        result = db.session.execute(
            update(ApiToken).where(ApiToken.id == self.id, ApiToken.revoked.is_(False))
            .values(revoked=True).execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def find_code(code: str) -> ApiAuthorizationCode | None:
    """The current tenant's authorization code ``code`` (looked up by digest)."""
    return db.session.scalar(
        select(ApiAuthorizationCode).where(ApiAuthorizationCode.code_digest == digest(code)))
