"""One session cookie per storefront, even when shops share a host under ``/s/<slug>/``.

With a single cookie, logging in at one shop would log the shopper out of another, and a
flash message or CSRF token set by one shop would be read by the next. Shops reached by
path prefix get a cookie of their own name and path; shops on their own (sub)domain already
have their own cookie jar.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from comptoir.tenants.resolution import ENVIRON_SLUG


class ShopSessionInterface(SecureCookieSessionInterface):
    def _path_slug(self) -> str | None:
        return request.environ.get(ENVIRON_SLUG) if request else None

    def get_cookie_name(self, app: Flask) -> str:
        slug = self._path_slug()
        name = super().get_cookie_name(app)
        return f"{name}-{slug}" if slug else name

    def get_cookie_path(self, app: Flask) -> str:
        slug = self._path_slug()
        return f"{request.script_root}/" if slug else super().get_cookie_path(app)
