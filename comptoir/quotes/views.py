"""Quote pages: the customer's (list, quote, one-click acceptance from the e-mail's link, PDF)
and the reseller staff's (write, revise, send).

Another company's or another tenant's quote is a 404. The link of an e-mail accepts without
logging in, since its signature speaks for the person it was sent to; it opens a page with
one button (a GET never accepts: mail scanners follow links).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.customers.models import Company, User
from comptoir.quotes import documents, service
from comptoir.quotes.models import Quote
from comptoir.shop_settings.access import login_next

bp = Blueprint("quotes", __name__, url_prefix="/quotes")
staff_bp = Blueprint("staff_quotes", __name__, url_prefix="/staff/quotes")

STAFF_ROLES = ("staff", "tenant_admin")


@bp.before_request
@staff_bp.before_request
def _needs_tenant() -> None:
    if g.get("tenant") is None:
        abort(404)


def _explain(error: service.QuoteError) -> str:
    """The checkout's own words for what the checkout refused (stock, approval, VAT...)."""
    from comptoir.orders import views as checkout
    from comptoir.orders.service import CheckoutError

    if error.field in ("stock", "approval", "tax_class", "shipping_country", "quantity"):
        return checkout._explain(CheckoutError(error.field, error.problem))
    return _("Not done: %(field)s — %(problem)s", field=error.field, problem=error.problem)


def _today() -> Any:
    from comptoir.tax.basis import today

    return today(g.tenant)


def _by_number(number: int) -> Quote:
    quote = db.session.scalars(select(Quote).where(Quote.number == number)).first()
    if quote is None:
        abort(404)
    return quote


def _mine(number: int) -> Quote:
    quote = _by_number(number)
    if current_user.company_id is None or quote.company_id != current_user.company_id:
        abort(404)
    return quote


def _send(quote: Quote) -> None:
    """E-mail the offer's recipient a signed link, valid as long as the quote."""
    from comptoir.core.i18n import money
    from comptoir.core.mail import MailError, send

    recipient = db.session.get(User, quote.recipient_id)
    link = url_for("quotes.by_link", token=service.link_token(quote), _external=True)
    try:
        send(recipient.email,
             _("Quote %(number)s from %(shop)s", number=quote.number, shop=g.tenant.name),
             _("Your quote %(number)s (version %(version)s) amounts to %(amount)s excluding "
               "VAT, valid until %(date)s.\nSee it and accept it in one click:\n%(link)s\n",
               number=quote.number, version=quote.version,
               amount=money(quote.total_net, quote.currency),
               date=quote.valid_until.isoformat(), link=link))
    except (MailError, ValueError):
        flash(_("The quote is saved but its e-mail could not be sent; the customer finds it "
                "in their account."), "error")


def _tell_staff(quote: Quote, what: str) -> None:
    from comptoir.core.mail import MailError, send

    staff = db.session.scalars(select(User.email).where(User.role.in_(STAFF_ROLES))).all()
    link = url_for("staff_quotes.show", number=quote.number, _external=True)
    for email in staff:
        try:
            send(email, _("Quote %(number)s: %(what)s", number=quote.number, what=what), link)
        except (MailError, ValueError):
            continue


# -- customers ------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index() -> str:
    if current_user.company_id is None:
        abort(403)
    quotes = db.session.scalars(select(Quote).where(
        Quote.company_id == current_user.company_id).order_by(Quote.number.desc())).all()
    return render("quotes/list.html", quotes=quotes, today=_today())


@bp.route("/request", methods=["POST"])
@login_required
def ask() -> Any:
    try:
        quote = service.request_from_cart(g.tenant, current_user, request.form.get("note", ""))
        db.session.commit()
    except service.QuoteError as refused:
        db.session.rollback()
        flash(_explain(refused), "error")
        return redirect(url_for("orders.cart"), 303)
    _tell_staff(quote, _("a customer asks for a quote"))
    flash(_("Your request was sent to the shop; you will receive its quote by e-mail."),
          "success")
    return redirect(url_for("quotes.show", number=quote.number), 303)


@bp.route("/<int(max=2147483647):number>", methods=["GET", "POST"])
@login_required
def show(number: int) -> Any:
    quote = _mine(number)
    error = None
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action == "accept":
                order = service.accept(g.tenant, quote, current_user)
                flash(_("Quote accepted: order %(number)s.", number=order.number), "success")
                return redirect(url_for("orders.show", number=order.number), 303)
            if action == "changes":
                service.ask_changes(quote, current_user, request.form.get("note", ""))
            elif action == "decline":
                service.decline(quote, current_user, request.form.get("note", ""))
            else:
                abort(400)
            db.session.commit()
        except service.QuoteError as refused:
            db.session.rollback()
            error = _explain(refused)
            quote = _mine(number)
        else:
            _tell_staff(quote, _("the customer asks for changes") if action == "changes"
                        else _("the customer declined it"))
            return redirect(url_for("quotes.show", number=number), 303)
    return render("quotes/show.html", quote=quote, error=error, token=None,
                  expired=service.expired(g.tenant, quote)), 200 if error is None else 400


@bp.route("/<int(max=2147483647):number>.pdf")
@login_required
def pdf(number: int) -> Response:
    quote = _mine(number)
    return Response(documents.pdf(g.tenant, quote), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="quote-{quote.number}.pdf"'})


@bp.route("/accept/<token>", methods=["GET", "POST"])
def by_link(token: str) -> Any:
    """The e-mail's one-click acceptance: the signed link speaks for its recipient."""
    try:
        quote, user = service.read_token(g.tenant, token)
    except service.QuoteError as refused:
        return render("quotes/link_error.html", message=refused.problem), 400
    error = None
    if request.method == "POST":
        try:
            order = service.accept(g.tenant, quote, user)
        except service.QuoteError as refused:
            db.session.rollback()  # the quote reloads as it is in the database
            error = _explain(refused)
        else:
            return render("quotes/accepted.html", quote=quote, order=order)
    return render("quotes/show.html", quote=quote, error=error, token=token,
                  expired=service.expired(g.tenant, quote)), 200 if error is None else 400


# -- reseller staff -------------------------------------------------------------------------


@staff_bp.before_request
def _staff_only() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    if current_user.role not in STAFF_ROLES:
        abort(403)
    return None


def _companies() -> list[Company]:
    return list(db.session.scalars(select(Company).order_by(Company.name)))


def _people(company_id: int | None) -> list[User]:
    if company_id is None:
        return []
    return list(db.session.scalars(select(User).where(User.company_id == company_id)
                                   .order_by(User.name)))


@staff_bp.route("/", methods=["GET", "POST"])
def index_staff() -> Any:
    error, form = None, request.form
    if request.method == "POST":
        company = db.session.get(Company, int(form.get("company", "0") or 0)) \
            if form.get("company", "").isdigit() else None
        try:
            if company is None:
                raise service.QuoteError("company", "choose a customer company")
            quote = service.create_offer(g.tenant, company, current_user,
                                         form.get("lines", ""), form.get("recipient", ""),
                                         form.get("valid_until", ""), form.get("note", ""))
            db.session.commit()
        except service.QuoteError as refused:
            db.session.rollback()
            error = _explain(refused)
        else:
            _send(quote)
            flash(_("Quote %(number)s sent.", number=quote.number), "success")
            return redirect(url_for("staff_quotes.show", number=quote.number), 303)
    quotes = db.session.scalars(select(Quote).order_by(Quote.number.desc()).limit(200)).all()
    companies = _companies()
    people = {c.id: _people(c.id) for c in companies}
    return render("staff/quotes.html", quotes=quotes, companies=companies, people=people,
                  today=_today(),
                  error=error, form=form), 200 if error is None else 400


@staff_bp.route("/<int(max=2147483647):number>", methods=["GET", "POST"], endpoint="show")
def show_staff(number: int) -> Any:
    quote = _by_number(number)
    error = None
    if request.method == "POST":
        try:
            service.revise(g.tenant, quote, current_user, request.form.get("lines", ""),
                           request.form.get("valid_until", ""), request.form.get("note", ""),
                           request.form.get("recipient") or None)
            db.session.commit()
        except service.QuoteError as refused:
            db.session.rollback()
            error = _explain(refused)
            quote = _by_number(number)
        else:
            _send(quote)
            flash(_("Version %(version)s sent.", version=quote.version), "success")
            return redirect(url_for("staff_quotes.show", number=number), 303)
    lines = "\n".join(f"{line.sku} {line.quantity} {line.unit_net}"
                      for line in quote.current_lines)
    return render("staff/quote.html", quote=quote, error=error, lines=lines,
                  people=_people(quote.company_id),
                  expired=service.expired(g.tenant, quote)), 200 if error is None else 400
