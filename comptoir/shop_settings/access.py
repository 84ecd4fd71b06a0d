"""Who may change a shop's settings: its ``tenant_admin`` users, nobody else."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

ADMIN_ROLE = "tenant_admin"


def admins_only() -> Any:
    """``before_request`` of the settings pages: a visitor logs in, anyone else gets a 403."""
    if g.get("tenant") is None:
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role != ADMIN_ROLE:
        abort(403)
    return None


def actor() -> str:
    return current_user.email
