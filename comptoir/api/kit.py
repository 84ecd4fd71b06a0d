"""The REST API as a plugin sees it, as ``comptoir.toolkit.api``: what a plugin needs to
serve its own read-only resources under ``/api/v1/`` the way the core serves its own.

Build a blueprint with :func:`blueprint` (``plugin=True``), decorate each route with
:func:`documented` (its scope, the shared error responses), then ``etag``, ``arguments``
(``ListArgs``/``SyncListArgs`` subclasses for lists, ``NoArgs`` for details) and
``response`` (``page_of`` for lists); answer with :func:`page` and :func:`one`, and filter
with :func:`updated_since`. Return them from ``comptoir_api_resources`` in an
:class:`ApiResources` with the scopes they require. Money is :class:`Money` (a decimal
string), date-times :class:`Utc`.
"""

from __future__ import annotations

from comptoir.api.resources import (
    ID,
    ApiResources,
    Blueprint,
    blueprint,
    documented,
    one,
    page,
    updated_since,
)
from comptoir.api.schemas import ListArgs, Money, NoArgs, Strict, SyncListArgs, Utc, page_of

__all__ = [
    "ID",
    "ApiResources",
    "Blueprint",
    "ListArgs",
    "Money",
    "NoArgs",
    "Strict",
    "SyncListArgs",
    "Utc",
    "blueprint",
    "documented",
    "one",
    "page",
    "page_of",
    "updated_since",
]
