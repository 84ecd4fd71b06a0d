"""Who manages users: a tenant admin, every user of the shop (``/settings/users``); a
company admin, their own company's users (``/account/users``).

Every action checks its input first and changes nothing on a refusal; another shop's user
is a 404 (the scoped query cannot see them), another company's user too; a tenant admin
cannot deactivate or demote themselves, and the shop always keeps an active tenant admin.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from comptoir.accounts import AccountError
from comptoir.accounts.invitations import (
    COMPANY_ROLES,
    check_role,
    invite_user,
    role_label,
    send_invitation,
    usable_password,
)
from comptoir.core.db import db
from comptoir.core.mail import MailError
from comptoir.core.themes import render
from comptoir.customers.models import ROLES, Company, User
from comptoir.shop_settings.access import admins_only, login_next

PAGE_SIZE = 50

USER_ID = "int(max=2147483647)"
admin_bp = Blueprint("users_admin", __name__, url_prefix="/settings/users")
admin_bp.before_request(admins_only)
company_bp = Blueprint("company_users", __name__, url_prefix="/account/users")


@company_bp.before_request
def _company_admins_only() -> Any:
    if g.get("tenant") is None:
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    if current_user.role != "company_admin" or current_user.company_id is None:
        abort(403)
    return None


def _company_scope() -> int | None:
    return current_user.company_id if request.blueprint == "company_users" else None


def _roles() -> tuple[str, ...]:
    return COMPANY_ROLES if _company_scope() is not None else ROLES


def _target(user_id: int) -> User:
    user = db.session.get(User, user_id)
    scope = _company_scope()
    if user is None or (scope is not None and user.company_id != scope):
        abort(404)
    return user


def _active_admins() -> int:
    return db.session.scalar(select(func.count(User.id)).where(
        User.role == "tenant_admin", User.active.is_(True))) or 0


def _list() -> Any:
    query = select(User).order_by(User.email)
    scope = _company_scope()
    if scope is not None:
        query = query.where(User.company_id == scope)
    search = request.args.get("q", "").strip().lower()[:254]
    if search:
        query = query.where(User.email.contains(search, autoescape=True))
    page = request.args.get("page", "1")
    page_number = (int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 100000
                   else 1)
    users = db.session.scalars(query.limit(PAGE_SIZE + 1)
                               .offset((page_number - 1) * PAGE_SIZE)).all()
    companies = [] if scope is not None else \
        db.session.scalars(select(Company).order_by(Company.name)).all()
    return render("accounts/users.html", users=users[:PAGE_SIZE], more=len(users) > PAGE_SIZE,
                  page=page_number, search=search, roles=_roles(), role_label=role_label,
                  companies=companies, company_scope=scope, usable_password=usable_password,
                  endpoint=request.blueprint)


def _back() -> Any:
    return redirect(url_for(f"{request.blueprint}.index"), 303)


def _refuse(message: str) -> Any:
    db.session.rollback()
    flash(message, "error")
    return _list(), 400


def _invite() -> Any:
    role = request.form.get("role", "")
    scope = _company_scope()
    if role not in _roles():
        return _refuse(_("Unknown role “%(role)s”.", role=role[:40]))
    company_raw = request.form.get("company", "").strip()
    company_id = scope if scope is not None else (
        int(company_raw) if company_raw.isascii() and company_raw.isdigit()
        and len(company_raw) < 10 else None)
    try:
        user = invite_user(email=request.form.get("email", ""),
                           name=request.form.get("name", ""), role=role,
                           company_id=company_id, invited_by=current_user.name)
    except AccountError as exc:
        return _refuse(exc.message)
    except MailError:
        return _refuse(_("The invitation could not be sent; nobody was invited."))
    db.session.commit()
    flash(_("%(email)s is invited.", email=user.email), "success")
    return _back()


def _change_role(user_id: int) -> Any:
    user = _target(user_id)
    role = request.form.get("role", "")
    if role not in _roles():
        return _refuse(_("Unknown role “%(role)s”.", role=role[:40]))
    if user.id == current_user.id:
        return _refuse(_("You cannot change your own role."))
    try:
        company = check_role(role, user.company_id if role in COMPANY_ROLES else None)
    except AccountError as exc:
        return _refuse(exc.message)
    if user.role == "tenant_admin" and role != "tenant_admin" and user.active \
            and _active_admins() <= 1:
        return _refuse(_("The shop must keep at least one active tenant admin."))
    user.role = role
    user.company_id = company.id if company else (user.company_id if role == "customer"
                                                  else None)
    db.session.commit()
    flash(_("%(email)s is now %(role)s.", email=user.email, role=role_label(role)), "success")
    return _back()


def _set_active(user_id: int) -> Any:
    user = _target(user_id)
    wanted = request.form.get("active") == "yes"
    if user.id == current_user.id and not wanted:
        return _refuse(_("You cannot deactivate your own account."))
    if not wanted and user.role == "tenant_admin" and user.active and _active_admins() <= 1:
        return _refuse(_("The shop must keep at least one active tenant admin."))
    user.active = wanted
    db.session.commit()
    flash(_("%(email)s is reactivated.", email=user.email) if wanted
          else _("%(email)s is deactivated.", email=user.email), "success")
    return _back()


def _resend(user_id: int) -> Any:
    user = _target(user_id)
    if usable_password(user):
        return _refuse(_("%(email)s already chose a password.", email=user.email))
    try:
        send_invitation(user, invited_by=current_user.name)
    except MailError:
        return _refuse(_("The invitation could not be sent; nobody was invited."))
    flash(_("The invitation was sent again to %(email)s.", email=user.email), "success")
    return _back()


for _bp in (admin_bp, company_bp):
    _bp.add_url_rule("", "index", _list)
    _bp.add_url_rule("/invite", "invite", _invite, methods=["POST"])
    # Bounded ids: a larger number would overflow the database's integer (a 500).
    _bp.add_url_rule(f"/<{USER_ID}:user_id>/role", "role", _change_role, methods=["POST"])
    _bp.add_url_rule(f"/<{USER_ID}:user_id>/active", "active", _set_active, methods=["POST"])
    _bp.add_url_rule(f"/<{USER_ID}:user_id>/resend", "resend", _resend, methods=["POST"])
