"""SSO pages: the log-in by work e-mail and its callback (anyone), the company admin's
configuration (``company_admin`` of that company) and the shop admin's approval of claimed
domains (``tenant_admin``).

Who may use what: a visitor may start and finish an SSO log-in; ``/account/sso`` answers 403
to anyone but a company admin and only ever shows that admin's own company; the
``/staff/settings/sso`` pages answer 403 to anyone but the shop's admins, and 404 for an id of
another shop (scoped queries never find it).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField
from wtforms.validators import DataRequired, Email

from comptoir.accounts.login import log_in
from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.customers.auth import safe_next
from comptoir.customers.models import Company
from comptoir.shop_settings.access import actor, admins_only
from comptoir.sso import provider, service
from comptoir.sso.models import DEFAULT_ROLES, CompanySSO

bp = Blueprint("sso", __name__)
settings_bp = Blueprint("sso_settings", __name__, url_prefix="/staff/settings/sso")
settings_bp.before_request(admins_only)

#: Session key of the log-in in progress (state, nonce, PKCE verifier).
PENDING = "sso_pending"


@bp.before_request
def _storefront_only() -> None:
    if g.get("tenant") is None:
        abort(404)


class StartForm(FlaskForm):
    email = EmailField(_l("Work e-mail"), validators=[DataRequired(), Email()])


def _callback_url() -> str:
    # Per shop: /s/<slug>/auth/sso/callback in development, the shop's own host otherwise.
    return url_for("sso.callback", _external=True)


@bp.route("/auth/sso", methods=["GET", "POST"])
def start() -> Any:
    """Ask for the work e-mail, find the company's provider by domain, send the user there."""
    form = StartForm()
    if form.validate_on_submit():
        from comptoir.accounts.throttle import sso_start_allowed

        if not sso_start_allowed():
            form.email.errors.append(_("Too many attempts from your address. Please wait a "
                                       "minute and try again."))
            return render("sso/start.html", form=form), 429
        email = form.email.data.strip().lower()
        sso = service.config_for_email(email)
        if sso is None:
            form.email.errors.append(_("No company uses single sign-on for this e-mail "
                                       "domain here. Log in with your password instead."))
        else:
            try:
                url, pending = provider.authorization_url(
                    sso, redirect_uri=_callback_url(), login_hint=email,
                    next_url=safe_next(request.args.get("next", "")))
            except provider.SSOError as refused:
                form.email.errors.append(str(refused))
            else:
                session[PENDING] = pending.to_session()
                return redirect(url, 303)
    status = 200 if request.method == "GET" else 400
    return render("sso/start.html", form=form), status


def _failed(message: str) -> Any:
    db.session.rollback()
    return render("sso/error.html", message=message), 400


@bp.route("/auth/sso/callback")
def callback() -> Any:
    """The provider's answer: check it all, then log the user in (created on first visit)."""
    pending = provider.Pending.from_session(session.pop(PENDING, None) or {})
    if pending is None or pending.tenant_id != g.tenant.id:
        return _failed(_("This log-in has expired or was already used. Please start again."))
    sso = db.session.get(CompanySSO, pending.sso_id)
    if sso is None or not sso.enabled:
        return _failed(_("Single sign-on is turned off for this company."))
    try:
        claims = provider.finish(sso, pending, request.args, redirect_uri=_callback_url())
        user = service.user_for_claims(sso, claims)
    except provider.SSOError as refused:
        return _failed(str(refused))
    log_in(user, method="sso")
    db.session.commit()
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(pending.next or url_for("index"), 303)


@bp.route("/account/sso", methods=["GET", "POST"])
@login_required
def configure() -> Any:
    """The company admin's provider settings, with a discovery check."""
    if current_user.role != "company_admin" or current_user.company_id is None:
        abort(403)
    company = db.session.get(Company, current_user.company_id)
    sso = service.config_of(company)
    errors: dict[str, str] = {}
    discovery: dict[str, Any] | None = None
    form = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "POST" and request.form.get("action") == "discover":
        issuer = (request.form.get("issuer") or (sso.issuer if sso else "")).strip()
        try:
            if not issuer:
                raise provider.SSOError(_("Enter the issuer URL of your provider."))
            if problem := provider.url_problem(issuer):
                raise provider.SSOError(problem)
            discovery = {"ok": True, "document": provider.discover(issuer)}
        except provider.SSOError as wrong:
            discovery = {"ok": False, "problem": str(wrong)}
    elif request.method == "POST":
        try:
            service.save_config(company, request.form)
        except service.ConfigRefused as refused:
            db.session.rollback()
            errors = refused.errors
        else:
            db.session.commit()
            flash(_("Single sign-on settings saved."), "success")
            return redirect(url_for("sso.configure"), 303)
    status = 400 if errors or (discovery and not discovery["ok"]) else 200
    return render("sso/configure.html", company=company, sso=sso, form=form, errors=errors,
                  discovery=discovery, roles=DEFAULT_ROLES,
                  callback_url=_callback_url()), status


def _config_or_404(sso_id: int) -> CompanySSO:
    sso = db.session.get(CompanySSO, sso_id)
    if sso is None:
        abort(404)
    return sso


@settings_bp.route("/")
def overview() -> Any:
    """Every company's SSO configuration in this shop, with the domains awaiting approval."""
    rows = db.session.scalars(select(CompanySSO).order_by(CompanySSO.id)).all()
    companies = {c.id: c for c in db.session.scalars(
        select(Company).where(Company.id.in_([r.company_id for r in rows])))}
    return render("sso/settings.html", rows=rows, companies=companies)


@settings_bp.route("/<int(max=2147483647):sso_id>/domains/<int(max=2147483647):domain_id>"
                   "/approve", methods=["POST"])
def approve(sso_id: int, domain_id: int) -> Any:
    """Vouch that the company owns this domain; until then no log-in uses it."""
    sso = _config_or_404(sso_id)
    try:
        domain = service.approve_domain(sso, domain_id, actor())
    except LookupError:
        abort(404)
    db.session.commit()
    flash(_("%(domain)s approved.", domain=domain.domain), "success")
    return redirect(url_for("sso_settings.overview"), 303)


@settings_bp.route("/<int(max=2147483647):sso_id>/enabled", methods=["POST"])
def set_enabled(sso_id: int) -> Any:
    """Turn a company's single sign-on off (or back on) without touching its settings."""
    sso = _config_or_404(sso_id)
    sso.enabled = request.form.get("enabled") == "yes"
    db.session.commit()
    flash(_("Single sign-on turned on.") if sso.enabled else _("Single sign-on turned off."),
          "success")
    return redirect(url_for("sso_settings.overview"), 303)
