"""Pages of the accounts: forgotten password, set-password (reset and invitation links),
e-mail verification. Every answer about an e-mail address is the same whether an account
exists or not, so the pages tell nobody who has an account."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from comptoir.accounts import clock, throttle
from comptoir.accounts.invitations import send_reset, send_verification
from comptoir.accounts.login import log_in
from comptoir.accounts.passwords import MAX_LENGTH, password_problems
from comptoir.accounts.tokens import TokenError, read_token, still_fresh
from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.customers.models import User

bp = Blueprint("accounts", __name__)


@bp.before_request
def _storefront_only() -> None:
    if g.get("tenant") is None:
        abort(404)


def _bad_link(reason: str) -> Any:
    messages = {
        "expired": _("This link has expired. Ask for a new one."),
        "used": _("This link was already used. Ask for a new one if you need it."),
        "invalid": _("This link is not valid for this shop."),
    }
    return render("accounts/bad_link.html", message=messages.get(reason, messages["invalid"])), 400


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Any:
    """Ask for a reset link; the answer never says whether the account exists."""
    if request.method == "GET":
        return render("accounts/forgot.html", sent=False, error=None)
    email = request.form.get("email", "").strip().lower()
    if "@" not in email or len(email) > 254:
        return render("accounts/forgot.html", sent=False,
                      error=_("Enter the e-mail address of your account.")), 400
    user = db.session.scalars(select(User).where(User.email == email)).first()
    if user is not None and user.active and throttle.reset_mail_allowed(g.tenant.id, email):
        send_reset(user)
    return render("accounts/forgot.html", sent=True, error=None)


@bp.route("/password/set/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Any:
    """Choose a password through a reset or invitation link (each works once)."""
    user, purpose, reason = None, None, "invalid"
    for candidate in ("reset", "invite"):
        try:
            user_id = read_token(token, candidate, tenant_id=g.tenant.id)
        except TokenError as exc:
            if exc.reason == "expired":
                reason = "expired"
            continue
        user = db.session.get(User, user_id)
        purpose = candidate
        break
    if user is None or purpose is None:
        return _bad_link(reason)
    if not still_fresh(token, user, purpose):
        return _bad_link("used")
    if not user.active:
        return _bad_link("invalid")
    problems: list[str] = []
    if request.method == "POST":
        password = request.form.get("password", "")
        confirm = request.form.get("confirm", "")
        problems = password_problems(password, user_inputs=(user.email, user.name))
        if password != confirm:
            problems.append(_("The two passwords differ."))
        if not problems:
            user.set_password(password)
            if user.email_verified_at is None:
                user.email_verified_at = clock.now()  # the link reached their mailbox
            log_in(user, method=purpose)
            db.session.commit()
            flash(_("Your password is set. Welcome, %(name)s.", name=user.name), "success")
            return redirect(url_for("index"))
    status = 400 if problems else 200
    return render("accounts/set_password.html", user=user, purpose=purpose, problems=problems,
                  max_length=MAX_LENGTH), status


@bp.route("/email/verify/<token>")
def verify_email(token: str) -> Any:
    """Follow the verification link: the address is marked as verified."""
    try:
        user_id = read_token(token, "verify", tenant_id=g.tenant.id)
    except TokenError as exc:
        return _bad_link(exc.reason)
    user = db.session.get(User, user_id)
    if user is None or not still_fresh(token, user, "verify"):
        return _bad_link("invalid")
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
        db.session.commit()
    flash(_("Your e-mail address is verified."), "success")
    return redirect(url_for("index"))


@bp.route("/email/verify", methods=["POST"])
@login_required
def resend_verification() -> Any:
    """Send the verification link again to the logged-in user (the banner's button), and
    come back to the page it was pressed on."""
    from comptoir.core.mail import MailError
    from comptoir.customers.auth import safe_next

    back = safe_next(request.form.get("next", "")) or url_for("index")
    if current_user.email_verified_at is not None:
        return redirect(back, 303)
    if not throttle.verification_mail_allowed(g.tenant.id, current_user.email):
        flash(_("We already sent several links this hour; please look in your mailbox "
                "(and its spam folder) or try again later."), "error")
        return redirect(back, 303)
    try:
        send_verification(current_user)
    except MailError:
        flash(_("The link could not be sent just now; please try again in a few minutes."),
              "error")
        return redirect(back, 303)
    flash(_("We sent a verification link to %(email)s.", email=current_user.email), "info")
    return redirect(back, 303)
