"""Who may change a shop's settings: its ``tenant_admin`` users, nobody else."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

ADMIN_ROLE = "tenant_admin"


def login_next() -> str:
    """The page asked for, as the login form's ``next``: the full path *with* the script
    root, so that in ``/s/<slug>/`` mode it is ``/s/<slug>/settings/...`` and passes
    :func:`comptoir.customers.auth.safe_next` (without it the admin landed on the home
    page after logging in)."""
    return request.script_root + request.full_path.rstrip("?")


def admins_only() -> Any:
    """``before_request`` of the settings pages: a visitor logs in, anyone else gets a 403."""
    if g.get("tenant") is None:
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    if current_user.role != ADMIN_ROLE:
        abort(403)
    return None


def actor() -> str:
    return current_user.email
