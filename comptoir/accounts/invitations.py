"""Invitations and the links that let someone set a password or verify their e-mail.

An invited user exists at once (so a tenant admin sees them, with their role and company)
but holds no usable password: the invitation mail's link, signed and valid 7 days, lets
them choose one, which also proves the address is theirs. Password resets use the same
page with a 1-hour link. See :mod:`comptoir.accounts.tokens` for what the links carry.
"""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, g, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from comptoir.accounts import AccountError
from comptoir.accounts.passwords import UNUSABLE
from comptoir.accounts.tokens import make_token
from comptoir.core.db import db
from comptoir.customers.models import ROLES, Company, User

#: Roles that belong to a company, and those that must not.
COMPANY_ROLES = ("company_admin", "buyer", "approver")


def role_label(role: str) -> str:
    """The role's name in the reader's language."""
    labels = {
        "customer": _("Customer"),
        "company_admin": _("Company admin"),
        "buyer": _("Buyer"),
        "approver": _("Approver"),
        "staff": _("Staff"),
        "tenant_admin": _("Tenant admin"),
    }
    return labels.get(role, role)


def normalise_email(email: str) -> str:
    """``email`` checked and lower-cased; :class:`AccountError` naming it if it is no
    address."""
    raw = (email or "").strip()
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise AccountError("email", _("“%(email)s” is not a valid e-mail address.",
                                      email=raw[:254])) from None
    return checked.normalized.lower()


def check_role(role: str, company_id: int | None) -> Company | None:
    """The company a user of ``role`` belongs to, after checking the pair makes sense in
    the current tenant; :class:`AccountError` naming the field otherwise."""
    if role not in ROLES:
        raise AccountError("role", _("Unknown role “%(role)s”.", role=str(role)[:40]))
    if role in COMPANY_ROLES:
        if company_id is None:
            raise AccountError("company", _("A %(role)s must belong to a company.",
                                            role=role_label(role)))
        company = db.session.get(Company, company_id)
        if company is None:
            raise AccountError("company", _("Unknown company."))
        return company
    if company_id is not None and role != "customer":
        raise AccountError("company", _("A %(role)s does not belong to a company.",
                                        role=role_label(role)))
    return None


def invite_user(*, email: str, name: str, role: str, company_id: int | None = None,
                invited_by: str) -> User:
    """Create a user of the current tenant without a usable password and mail them a link
    to set one (valid 7 days).

    :param invited_by: who invites (an e-mail, "cli", "platform admin"), named in the mail.
    :raises AccountError: bad e-mail, name, role or company, or an e-mail already used in
        this tenant; nothing was created.
    :raises comptoir.core.mail.MailError: the mail could not be sent; the user was flushed,
        the caller decides whether to roll back.

    The caller commits.
    """
    address = normalise_email(email)
    clean_name = (name or "").strip()
    if not clean_name:
        raise AccountError("name", _("The name is required."))
    if len(clean_name) > 200:
        raise AccountError("name", _("The name must have at most 200 characters."))
    company = check_role(role, company_id)
    if db.session.scalars(select(User.id).where(User.email == address)).first() is not None:
        raise AccountError("email", _("An account with the e-mail %(email)s already exists "
                                      "in this shop.", email=address))
    user = User(email=address, name=clean_name, role=role,
                company_id=company.id if company else None, password_hash=UNUSABLE,
                active=True)
    db.session.add(user)
    db.session.flush()
    send_invitation(user, invited_by=invited_by)
    return user


def set_password_url(user: User, purpose: str) -> str:
    """The absolute link to the set-password page for ``user`` (purpose "invite" or
    "reset"); needs a request (or :func:`comptoir.toolkit.shop_context`) of their shop."""
    if purpose not in ("invite", "reset"):
        raise ValueError(f"purpose: expected 'invite' or 'reset', got {purpose!r}")
    return url_for("accounts.set_password", token=make_token(user, purpose), _external=True)


def verification_url(user: User) -> str:
    """The absolute link that marks ``user``'s e-mail as verified (valid 7 days)."""
    return url_for("accounts.verify_email", token=make_token(user, "verify"), _external=True)


def _shop_name() -> str:
    tenant = g.get("tenant")
    return tenant.name if tenant is not None else current_app.config["PLATFORM_NAME"]


def _send(to: str, subject: str, body: str) -> None:
    from comptoir.core.mail import send

    send(to, subject, body)


def send_invitation(user: User, *, invited_by: str) -> str:
    """Mail ``user`` their invitation link; returns the link (the CLI prints it)."""
    link = set_password_url(user, "invite")
    shop = _shop_name()
    body = "\n\n".join([
        _("Hello %(name)s,", name=user.name),
        _("%(who)s invited you to %(shop)s as %(role)s. Choose your password here (the link "
          "works for 7 days):", who=invited_by, shop=shop, role=role_label(user.role)),
        link,
    ]) + "\n"
    _send(user.email, _("Your account at %(shop)s", shop=shop), body)
    return link


def send_reset(user: User) -> None:
    """Mail ``user`` a link to choose a new password (works once, for 1 hour)."""
    link = set_password_url(user, "reset")
    shop = _shop_name()
    body = "\n\n".join([
        _("Hello %(name)s,", name=user.name),
        _("Someone asked to reset the password of your account at %(shop)s. Choose a new "
          "password here (the link works once, for 1 hour):", shop=shop),
        link,
        _("If it was not you, ignore this message: your password stays as it is."),
    ]) + "\n"
    _send(user.email, _("Reset your password at %(shop)s", shop=shop), body)


def send_verification(user: User) -> None:
    """Mail ``user`` a link proving the address is theirs (works for 7 days)."""
    link = verification_url(user)
    shop = _shop_name()
    body = "\n\n".join([
        _("Hello %(name)s,", name=user.name),
        _("Please confirm that this is your e-mail address at %(shop)s:", shop=shop),
        link,
    ]) + "\n"
    _send(user.email, _("Confirm your e-mail address at %(shop)s", shop=shop), body)


def usable_password(user: Any) -> bool:
    """Whether ``user`` has a password at all (an invited user has not chosen one yet)."""
    return bool(user.password_hash) and user.password_hash != UNUSABLE
