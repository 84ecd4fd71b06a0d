"""Registering, listing and revoking a tenant's API clients (admin pages and CLI share it).

Every function works inside the current tenant scope: the ORM scoping (and RLS on
PostgreSQL) keeps one tenant's clients out of another's lists and hands.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select, update

from comptoir.api.models import ApiClient, ApiToken, digest
from comptoir.core.db import db

#: Every scope a client may be granted: one per resource, read-only for now.
SCOPES: dict[str, str] = {
    "catalog:read": "Read products, variants and prices",
    "stock:read": "Read stock levels",
    "customers:read": "Read customer accounts",
    "companies:read": "Read companies",
    "orders:read": "Read orders",
    "quotes:read": "Read quotes",
    "returns:read": "Read return requests",
}

NAME_MAX = 120


class ApiClientError(ValueError):
    """A refused registration or revocation, with a message naming the problem."""


@dataclass(frozen=True)
class NewClient:
    """A client just registered: the only moment its secret exists in clear."""

    client: ApiClient
    secret: str


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise ApiClientError(_("Unknown scope: %(scopes)s.", scopes=", ".join(unknown)))
    if not chosen:
        raise ApiClientError(_("Choose at least one scope."))
    return chosen


def create_client(name: str, scopes: Iterable[str], *, created_by: str) -> NewClient:
    """Register a client in the current tenant; the caller commits and shows the secret once."""
    name = (name or "").strip()
    if not name:
        raise ApiClientError(_("Give the client a name."))
    if len(name) > NAME_MAX:
        raise ApiClientError(_("The name is too long (at most %(max)s characters).", max=NAME_MAX))
    chosen = _clean_scopes(scopes)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id="cpt_" + secrets.token_urlsafe(18), secret_digest=digest(secret), name=name,
        scopes=" ".join(chosen), created_by=created_by,
    )
    db.session.add(client)
    db.session.flush()
    return NewClient(client, secret)


def list_clients() -> list[ApiClient]:
    """The current tenant's clients, newest first."""
    return list(db.session.scalars(
        select(ApiClient).order_by(ApiClient.created_at.desc(), ApiClient.id.desc())))


def get_client(client_id: str) -> ApiClient | None:
    return db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def revoke_client(client_id: str) -> ApiClient:
    """Revoke a client and every token it holds; the caller commits. Idempotent."""
    client = get_client(client_id)
    if client is None:
        raise ApiClientError(_("No API client %(client_id)s in this shop.", client_id=client_id))
    if client.revoked_at is None:
        client.revoked_at = datetime.now(UTC)
    db.session.execute(
        update(ApiToken).where(ApiToken.client_pk == client.id).values(revoked=True)
    )
    return client
