"""Cart, checkout and order pages of the storefront."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.core.plugins import hooks
from comptoir.core.themes import render
from comptoir.customers.service import current_company
from comptoir.orders import invoices, service
from comptoir.orders.models import AWAITING_PAYMENT, Order

bp = Blueprint("orders", __name__)

#: A guest may see the orders they placed in this browser session (confirmation page).
GUEST_ORDERS = "guest_orders"


@bp.before_request
def _needs_tenant() -> None:
    if g.get("tenant") is None:
        abort(404)


def _user() -> Any:
    return current_user if current_user.is_authenticated else None


def _explain(error: service.CheckoutError) -> str:
    messages = {
        "quantity": _("Quantities are whole numbers from 1 to %(max)s.", max=service.MAX_QUANTITY),
        "sku": _("This item cannot be bought here."),
        "cart": _("Your cart is empty or holds an item you may no longer buy."),
        "prices": _("Some prices changed since you added the items: please check them "
                    "and confirm your order."),
        "stock": _("Not enough stock: %(detail)s.", detail=error.problem),
        "line": _("This line is no longer in your cart."),
        "tax": _("Your addresses change the VAT of this order: please check the new totals "
                 "and confirm."),
        "tax_class": _("An item in your cart cannot be sold here: %(detail)s.",
                       detail=error.problem),
        "shipping_country": _("We cannot deliver there yet: %(detail)s.", detail=error.problem),
        "approval": error.problem,
        "discounts": _("Your discounts changed (a promotion ended or changed): please "
                       "check the new total and confirm."),
        "promotion": error.problem,
    }
    return messages.get(error.field, _("Please check this field: %(field)s (%(problem)s).",
                                       field=error.field, problem=error.problem))


@bp.route("/cart")
def cart() -> str:
    company = current_company()
    basket = service.current_cart(_user())
    priced = service.price_cart(g.tenant, basket, company)
    try:
        summary = service.preview(g.tenant, priced, "standard",
                                  buyer=(_user(), company)) if priced.lines else None
    except service.CheckoutError:
        summary = None  # an item without a VAT rate here: the checkout will say which
    return render("orders/cart.html", priced=priced, preview=summary)


@bp.route("/cart/add", methods=["POST"])
def add() -> Any:
    try:
        service.add_to_cart(g.tenant, _user(), current_company(), request.form.get("sku", ""),
                            request.form.get("quantity", "1"),
                            configuration=request.form.get("kind") == "configuration")
        db.session.commit()
    except service.CheckoutError as error:
        db.session.rollback()
        flash(_explain(error), "error")
        return redirect(request.referrer or url_for("orders.cart")), 303
    flash(_("Added to your cart."), "success")
    return redirect(url_for("orders.cart"), 303)


@bp.route("/cart/update", methods=["POST"])
def update() -> Any:
    try:
        service.set_quantity(_user(), request.form.get("line", ""),
                             request.form.get("quantity", ""))
        db.session.commit()
    except service.CheckoutError as error:
        db.session.rollback()
        flash(_explain(error), "error")
    return redirect(url_for("orders.cart"), 303)


@bp.route("/checkout", methods=["GET", "POST"])
def checkout() -> Any:
    user, company = _user(), current_company()
    basket = service.current_cart(user)
    if basket is None or not basket.lines:
        flash(_("Your cart is empty."), "error")
        return redirect(url_for("orders.cart"), 303)
    methods = service.payment_methods(g.tenant, company)
    form = request.form
    error = None
    if request.method == "POST":
        try:
            billing = service.Address.parse(form, "billing_")
            shipping = (billing if form.get("same_address")
                        else service.Address.parse(form, "shipping_"))
            order = service.place_order(
                g.tenant, user, company,
                email=user.email if user else form.get("email", ""),
                billing=billing, shipping=shipping,
                shipping_method=form.get("shipping_method", ""),
                payment_method=form.get("payment_method", ""),
                accepted_prices=form.get("accepted_prices", ""),
                shown_tax=form.get("tax_basis"),
                shown_discounts=form.get("shown_discounts"),
            )
        except service.CheckoutError as refused:
            db.session.rollback()
            error = refused
        else:
            if user is None:
                from flask import session

                # The order's random reference, not its number: numbers are guessable and
                # every shop has an order 1.
                session[GUEST_ORDERS] = [*session.get(GUEST_ORDERS, []), order.reference][-10:]
            pay = _payment_page(order)
            return redirect(pay or url_for("orders.show", number=order.number), 303)
    priced = service.price_cart(g.tenant, service.current_cart(user), company)
    defaults = {"billing_country": g.tenant.country, "shipping_country": g.tenant.country}
    if user is not None:
        defaults["billing_name"] = user.name
        defaults["billing_company"] = company.name if company else ""
    if company is not None:
        from comptoir.customers.service import addresses

        book = addresses(company)
        if book:
            first = book[0]
            defaults.update({f"billing_{k}": getattr(first, k)
                             for k in ("name", "street", "postcode", "city", "country")})
    values = {**defaults, **form.to_dict()}
    preview, problem = _preview(priced, (user, company), values)
    error = error or problem
    return render(
        "orders/checkout.html", priced=priced, methods=methods,
        shipping_methods=service.SHIPPING_METHODS, form=values,
        error=error, message=_explain(error) if error else None,
        signature=service.price_signature(priced), preview=preview,
        vat_number=service.company_vat_number(company),
    ), 200 if error is None else 400


def _preview(priced: service.Priced, buyer: service.Buyer, values: dict[str, str]
             ) -> tuple[service.Preview | None, service.CheckoutError | None]:
    """The summary for the addresses in the form: their country decides whose VAT, the
    buyer which discounts."""
    company = buyer[1]
    same = values.get("same_address", "yes" if request.method == "GET" else "")
    destination = (values.get("billing_country") if same
                   else values.get("shipping_country")) or g.tenant.country
    method = values.get("shipping_method", "standard")
    try:
        basis = service.checkout_basis(g.tenant, company, destination.strip().upper()[:2],
                                       service.company_vat_number(company))
        return service.preview(g.tenant, priced, method, basis, buyer=buyer), None
    except service.CheckoutError as problem:
        try:
            return service.preview(g.tenant, priced, method, buyer=buyer), problem
        except service.CheckoutError as unknown_class:
            return None, unknown_class


def _visible_order(number: int) -> Order:
    order = db.session.scalars(select(Order).where(Order.number == number)).first()
    if order is None or not buyer_may_see(order):
        abort(404)
    return order


def buyer_may_see(order: Order) -> bool:
    """The buyer's own order, their company's for its admin, or a guest's order placed in
    this browser session; anyone else is shown a 404, as if it did not exist."""
    user = _user()
    from flask import session

    return bool(
        (user is not None and (order.user_id == user.id or (
            user.role == "company_admin" and user.company_id is not None
            and order.company_id == user.company_id)))
        or (user is None and order.user_id is None
            and order.reference in session.get(GUEST_ORDERS, []))
    )


@bp.route("/orders/<int(max=2147483647):number>")
def show(number: int) -> str:
    order = _visible_order(number)
    return render("orders/order.html", order=order,
                  deadline=service.return_deadline(g.tenant, order),
                  pending_return=service.open_return(order),
                  returnable=service.returnable_quantities(order),
                  return_lines=service.return_lines,
                  pay_url=_payment_page(order),
                  pay_until=service.payment_deadline(order))


def _payment_page(order: Order) -> str | None:
    """Where the buyer pays an order awaiting an online payment (the payment plugin's page)."""
    if order.status != AWAITING_PAYMENT:
        return None
    return hooks(g.tenant).comptoir_payment_page(tenant=g.tenant, order=order)


@bp.route("/orders/<int(max=2147483647):number>/invoice")
def invoice(number: int) -> str:
    order = _visible_order(number)
    return render("orders/invoice.html", order=order,
                  invoice=invoices.build(g.tenant, order))


@bp.route("/orders/<int(max=2147483647):number>/invoice.pdf")
def invoice_pdf(number: int) -> Response:
    order = _visible_order(number)
    document = invoices.pdf(invoices.build(g.tenant, order))
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{g.tenant.slug}-F-{order.number:06d}.pdf"')
    return response


@bp.route("/orders/<int(max=2147483647):number>/return", methods=["POST"])
def ask_return(number: int) -> Any:
    """Withdrawal: the customer asks to send a delivered order back, all of it or some
    units of some lines (``qty-<order line id>`` fields; none at all: everything left)."""
    order = _visible_order(number)
    actor = current_user.email if current_user.is_authenticated else order.email
    chosen = {key.removeprefix("qty-"): value for key, value in request.form.items()
              if key.startswith("qty-")}
    try:
        service.request_return(g.tenant, order, actor, request.form.get("reason", ""),
                               lines=chosen or None)
        flash(_("Your return request is registered; we will tell you how to send the "
                "parcel."), "success")
    except service.CheckoutError as error:
        db.session.rollback()
        flash(_("Return refused: %(problem)s.", problem=error.problem), "error")
    return redirect(url_for("orders.show", number=number), 303)


@bp.route("/orders/<int(max=2147483647):number>/account", methods=["POST"])
def register(number: int) -> Any:
    """Lazy registration from the confirmation page."""
    order = _visible_order(number)
    try:
        user = service.register_after_order(order, request.form.get("name", ""),
                                            request.form.get("password", ""))
        db.session.commit()
    except service.CheckoutError as error:
        db.session.rollback()
        flash(_("Account not created: %(problem)s.", problem=error.problem), "error")
        return redirect(url_for("orders.show", number=number), 303)
    from comptoir.accounts.invitations import send_verification
    from comptoir.accounts.login import log_in
    from comptoir.core.mail import MailError

    log_in(user, method="register")  # a fresh session, as at any login
    db.session.commit()
    try:
        send_verification(user)
    except MailError:  # the account stands; the customer can ask for the link again
        current_app.logger.warning("verification mail to %s failed", user.email)
    hooks(g.tenant).comptoir_customer_registered(tenant=g.tenant, user=user)
    flash(_("Your account is ready; this order is in your history."), "success")
    return redirect(url_for("orders.history"), 303)


@bp.route("/orders")
@login_required
def history() -> str:
    return render("orders/history.html", orders=service.orders_of(current_user))
