"""Staff pages: orders with search and filters, status changes, returns, stock alerts.

Open to the tenant's ``staff`` and ``tenant_admin`` users only: a visitor is sent to the
login page, a customer gets a 403, and another tenant's order is a 404 as everywhere.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from comptoir.catalog.models import Variant
from comptoir.core.db import db
from comptoir.core.i18n import money
from comptoir.core.themes import render
from comptoir.customers.models import Company
from comptoir.orders import service
from comptoir.orders.models import STATUSES, Order, ReturnRequest
from comptoir.shop_settings.access import login_next
from comptoir.stock import service as stock
from comptoir.stock.models import StockLevel, StockLocation

bp = Blueprint("staff", __name__, url_prefix="/staff")

STAFF_ROLES = ("staff", "tenant_admin")
PAGE = 50


@bp.before_request
def _staff_only() -> Any:
    if g.get("tenant") is None:
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    if current_user.role not in STAFF_ROLES:
        abort(403)
    return None


def _actor() -> str:
    return current_user.email


@bp.route("/")
def dashboard() -> str:
    counts = dict(db.session.execute(
        select(Order.status, func.count(Order.id)).group_by(Order.status)).all())
    returns = db.session.scalar(select(func.count(ReturnRequest.id)).where(
        ReturnRequest.status.in_(("requested", "accepted"))))
    return render("staff/dashboard.html", counts=counts, statuses=STATUSES, returns=returns,
                  low=stock.low_stock())


@bp.route("/orders")
def orders() -> str:
    status = request.args.get("status", "")
    text = request.args.get("q", "").strip()[:100]
    query = select(Order).order_by(Order.number.desc())
    if status in STATUSES:
        query = query.where(Order.status == status)
    if text:
        like = f"%{text.lower()}%"
        conditions = [func.lower(Order.email).like(like),
                      Order.company_id.in_(select(Company.id).where(
                          func.lower(Company.name).like(like)))]
        if text.isascii() and text.isdigit() and len(text) < 10:
            conditions.append(Order.number == int(text))
        query = query.where(or_(*conditions))
    found = list(db.session.scalars(query.limit(PAGE)))
    return render("staff/orders.html", orders=found, status=status, query=text,
                  statuses=STATUSES)


def _order(number: int) -> Order:
    order = db.session.scalars(select(Order).where(Order.number == number)).first()
    if order is None:
        abort(404)
    return order


@bp.route("/orders/<int(max=2147483647):number>")
def order(number: int) -> str:
    found = _order(number)
    allowed = sorted(service.STAFF_TRANSITIONS.get(found.status, ()))
    pending = db.session.scalars(select(ReturnRequest).where(
        ReturnRequest.order_id == found.id).order_by(ReturnRequest.id.desc())).all()
    can_refund = found.refundable > 0 and (found.paid_at is not None or found.status in (
        "placed", "shipped", "delivered", "returned"))
    return render("staff/order.html", order=found, allowed=allowed, returns=pending,
                  can_refund=can_refund, return_lines=service.return_lines)


@bp.route("/orders/<int(max=2147483647):number>/invoice.pdf")
def invoice_pdf(number: int) -> Any:
    from flask import Response

    from comptoir.orders import invoices

    found = _order(number)
    return Response(invoices.pdf(invoices.build(g.tenant, found)), mimetype="application/pdf")


@bp.route("/orders/<int(max=2147483647):number>/status", methods=["POST"])
def change(number: int) -> Any:
    found = _order(number)
    try:
        service.change_status(g.tenant, found, request.form.get("status", ""), _actor(),
                              note=request.form.get("note", "")[:500], by_staff=True)
        flash(_("Order %(number)s updated.", number=number), "success")
    except service.CheckoutError as error:
        db.session.rollback()
        flash(error.problem, "error")
    return redirect(url_for("staff.order", number=number), 303)


@bp.route("/orders/<int(max=2147483647):number>/payment", methods=["POST"])
def payment_received(number: int) -> Any:
    """An invoice paid after the goods left: record the payment, the order stays where it is."""
    found = _order(number)
    try:
        service.record_payment(g.tenant, found, _actor(),
                               note=request.form.get("note", "")[:500])
        flash(_("Payment of order %(number)s recorded.", number=number), "success")
    except service.CheckoutError as error:
        db.session.rollback()
        flash(error.problem, "error")
    return redirect(url_for("staff.order", number=number), 303)


@bp.route("/orders/<int(max=2147483647):number>/refund", methods=["POST"])
def refund(number: int) -> Any:
    """Give part (or the rest) of an order's price back: a goodwill gesture, a missing
    item, a partial return."""
    found = _order(number)
    text = request.form.get("amount", "").strip()
    try:
        amount = _amount(text)
        done = service.refund(g.tenant, found, amount, _actor(),
                              reason=request.form.get("reason", "")[:2000])
        flash(_("Refunded %(amount)s (%(reference)s).",
                amount=money(done.amount, found.currency), reference=done.reference),
              "success")
    except service.CheckoutError as error:
        db.session.rollback()
        flash(_("Refund refused: %(problem)s", problem=error.problem), "error")
    return redirect(url_for("staff.order", number=number), 303)


def _amount(text: str) -> Decimal:
    """An amount as staff type it in their language ("12,50" in a French shop)."""
    from babel.numbers import NumberFormatError, parse_decimal
    from flask_babel import get_locale

    if not text or len(text) > 20:
        raise service.CheckoutError("amount", f"'{text[:20]}' is not an amount")
    try:
        return parse_decimal(text, locale=get_locale(), strict=False)
    except NumberFormatError:
        raise service.CheckoutError("amount", f"'{text}' is not an amount") from None


@bp.route("/returns/<int(max=2147483647):return_id>", methods=["POST"])
def handle_return(return_id: int) -> Any:
    found = db.session.get(ReturnRequest, return_id)
    if found is None:
        abort(404)
    number = found.order.number
    action = request.form.get("action")
    try:
        if action in ("accept", "reject"):
            service.decide_return(found, action == "accept", _actor())
        elif action == "receive":
            service.receive_return(g.tenant, found, _actor())
        elif action == "refund" and found.status == "received":
            if not service.retry_return_refund(g.tenant, found, _actor()):
                raise service.CheckoutError("refund", found.order.events[-1].note)
        else:
            abort(400)
        flash(_("Return updated."), "success")
    except service.CheckoutError as error:
        db.session.rollback()
        flash(error.problem, "error")
    return redirect(url_for("staff.order", number=number), 303)


@bp.route("/stock", methods=["GET", "POST"])
def stock_page() -> Any:
    is_office = g.tenant.office_id == g.tenant.id
    if request.method == "POST":
        if not is_office:
            abort(403)
        try:
            quantity = int(request.form.get("quantity", ""))
        except ValueError:
            quantity = 0
        try:
            left = stock.sell_in_shop(g.tenant.id, request.form.get("location", ""),
                                      request.form.get("sku", "").strip(), quantity,
                                      reference=f"till:{_actor()}")
            flash(_("Sale recorded: %(left)s left at this location.", left=left), "success")
        except stock.StockError as error:
            flash(str(error), "error")
        return redirect(url_for("staff.stock_page"), 303)
    text = request.args.get("q", "").strip()[:64]
    query = (select(StockLevel, StockLocation, Variant.sku)
             .join(StockLocation, StockLocation.id == StockLevel.location_id)
             .join(Variant, Variant.id == StockLevel.variant_id)
             .order_by(Variant.sku, StockLocation.code))
    if text:
        query = query.where(func.lower(Variant.sku).like(f"%{text.lower()}%"))
    levels = db.session.execute(query.limit(200)).all()
    locations = db.session.scalars(select(StockLocation).order_by(StockLocation.code)).all()
    return render("staff/stock.html", levels=levels, low=stock.low_stock(), query=text,
                  locations=locations, is_office=is_office)


@bp.route("/catalogue")
def catalogue() -> str:
    from comptoir.catalog import service as catalog

    text = request.args.get("q", "")
    return render("staff/catalogue.html", products=catalog.staff_listing(text), query=text,
                  categories=catalog.visible_categories(), form={}, error=None,
                  own_tenant=g.tenant.id)


@bp.route("/catalogue", methods=["POST"])
def catalogue_change() -> Any:
    from comptoir.catalog import service as catalog

    action, sku = request.form.get("action", ""), request.form.get("sku", "").strip()
    try:
        if action == "create":
            product = catalog.create_product(
                sku, request.form.get("name", ""), request.form.get("price", ""),
                category=request.form.get("category") or None,
                tax_class=request.form.get("tax_class", "standard"),
                stocked=request.form.get("stocked") == "yes",
                description=request.form.get("description", "")[:5000],
            )
            picture = request.files.get("image")
            if picture is not None and picture.filename:
                catalog.add_image(product, picture.read(catalog.MAX_IMAGE_BYTES + 1),
                                  picture.mimetype, alt=product.name)
        elif action == "hide":
            catalog.hide_product(sku)
        elif action == "unhide":
            catalog.unhide_product(sku)
        elif action == "price":
            catalog.set_price(sku, request.form.get("price", ""))
        elif action in ("activate", "deactivate"):
            catalog.set_active(sku, action == "activate")
        else:
            abort(400)
        db.session.commit()
    except catalog.CatalogError as error:
        db.session.rollback()
        return render("staff/catalogue.html", products=catalog.staff_listing(),
                      query="", categories=catalog.visible_categories(),
                      form=request.form.to_dict(), error=error,
                      own_tenant=g.tenant.id), 400
    flash(_("Catalogue updated."), "success")
    return redirect(url_for("staff.catalogue"), 303)
