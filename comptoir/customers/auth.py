"""Password log-in to a tenant's storefront (Flask-Login, Flask-WTF forms with CSRF).

The session names ``<tenant id>:<user id>``; the loader refuses an id of another tenant, and
looks the user up through the scoped session anyway, so a cookie carried from one shop to
another logs nobody in.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_required, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.customers.models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    tenant = g.get("tenant")
    tenant_part, _sep, user_part = user_id.partition(":")
    if tenant is None or tenant_part != str(tenant.id) or not user_part.isdigit():
        return None
    from comptoir.accounts.login import checked_user

    # Inactive users, changed passwords and timed-out staff sessions end here.
    return checked_user(db.session.get(User, int(user_part)))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


@bp.before_request
def _storefront_only() -> None:
    if g.get("tenant") is None:
        abort(404)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        from comptoir.accounts import throttle
        from comptoir.accounts.login import log_in
        from comptoir.accounts.passwords import verify_password

        wait = throttle.retry_after(g.tenant.id, email)
        if wait is not None:  # throttled: the password is not even checked
            minutes = max(1, -(-wait // 60))
            return render("accounts/throttled.html", minutes=minutes), 429, \
                {"Retry-After": str(wait)}
        user = db.session.scalars(select(User).where(User.email == email)).first()
        if user is None:
            # Spend the same time as for a real account, so timing tells no e-mail apart.
            verify_password(_unused_hash(), form.password.data)
        elif user.check_password(form.password.data):
            throttle.record_success(g.tenant.id, email)
            if not user.active:  # said only to whoever knows the password
                db.session.commit()
                form.password.errors.append(_("This account is disabled."))
                return render("auth/login.html", form=form), 403
            log_in(user)
            db.session.commit()
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(_safe_next() or url_for("index"))
        throttle.record_failure(g.tenant.id, email)
        form.password.errors.append(_("Unknown e-mail or wrong password."))
    return render("auth/login.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    logout_user()
    return redirect(url_for("index"))


def _safe_next() -> str | None:
    return safe_next(request.args.get("next", ""))


def safe_next(target: str) -> str | None:
    """``target`` if it is a path of this storefront, else ``None``.

    Control characters are refused outright: browsers and Werkzeug drop some of them, which
    turns ``/\t/evil.example`` into the protocol-relative ``//evil.example``.
    """
    if not target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(request.script_root + "/"):
        return None
    return target


@functools.cache
def _unused_hash() -> str:
    from comptoir.accounts.passwords import hash_password

    return hash_password("no account has this password")
