"""API clients and their access tokens, both owned by one tenant.

Secrets and tokens are kept as SHA-256 digests, never in clear: a copy of the database gives
no one a way into a shop's API. SHA-256 (not a slow password hash) is enough here because
both are 256-bit random strings made by :mod:`secrets`, which no dictionary can guess, and a
fast digest keeps every API request's token lookup a single indexed query.
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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.core.db import db
from comptoir.core.scoping import TenantScoped


def _now() -> datetime:
    return datetime.now(UTC)


def digest(secret: str) -> str:
    """The hex SHA-256 of a client secret or access token, as stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    secret_digest: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
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

    # --- Authlib ClientMixin -------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """All the client's scopes when none is asked; ``None`` (Authlib: ``invalid_scope``)
        when one asked for is not the client's."""
        allowed = self.scope_list
        if not scope:
            return " ".join(allowed)
        asked = scope.split()
        if not set(asked) <= set(allowed):
            return None
        return " ".join(dict.fromkeys(asked))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.secret_digest, digest(client_secret or ""))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint in ("token", "revocation", "revoke"):
            return method in ("client_secret_basic", "client_secret_post")
        return False

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials" and self.active


class ApiToken(TenantScoped, db.Model):
    """A bearer token issued to a client by one tenant: valid on that tenant's host only."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_digest"),
        ForeignKeyConstraint(["tenant_id", "client_pk"],
                             ["api_clients.tenant_id", "api_clients.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(Integer, index=True)
    token_digest: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_in: Mapped[int] = mapped_column(Integer)
    revoked: Mapped[bool] = mapped_column(default=False)

    client: Mapped[ApiClient] = relationship(
        back_populates="tokens", primaryjoin="ApiClient.id == ApiToken.client_pk",
        foreign_keys=[client_pk],
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

    def is_revoked(self) -> bool:
        return self.revoked or not self.client.active
