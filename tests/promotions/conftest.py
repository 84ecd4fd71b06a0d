"""The promotions tests' shops: the France office ``fr`` (promotions on) selling screens,
laptops, accessories and a book at the reduced VAT rate, its reseller ``acme`` (a company
buyer, Durand), and the German office ``de`` (promotions on too) that must see none of it.

Helpers for both helpers' test modules: customers and logins, a checkout that confirms the
summary it was shown (``buy``), orders moved on by staff (paid, shipped, delivered) or by
the toolkit, returns, plugin settings, and promotions made directly in the database.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from comptoir.catalog import service as catalog
from comptoir.catalog.service import VariantSpec
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.orders.models import Order, ReturnRequest
from comptoir.stock import service as stock
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from tests.conftest import as_tenant

ADDRESS = {
    "billing_name": "Claire Durand", "billing_street": "12 rue de la République",
    "billing_postcode": "69002", "billing_city": "Lyon", "billing_country": "FR",
    "same_address": "yes", "shipping_method": "standard",
}
PASSWORD = "password-1"


@pytest.fixture
def shop(app, make_tenant):
    """``(fr, acme, de)``: the office with its catalogue and stock, its reseller with the
    company Durand (``buyer@durand.example``, ``admin@durand.example``), and an unrelated
    German office with its own product."""
    fr = make_tenant("fr", name="Comptoir France", timezone="Europe/Paris",
                     plugins=["locale_fr", "promotions"])
    acme = make_tenant("acme", name="ACME", parent="fr")
    de = make_tenant("de", name="Comptoir Deutschland", country="DE", locale="de_DE",
                     currency="EUR", timezone="Europe/Berlin",
                     plugins=["locale_de", "promotions"])
    with as_tenant(app, fr):
        catalog.create_category("ecrans", "Écrans")
        catalog.create_category("portables", "Portables")
        catalog.create_category("accessoires", "Accessoires")
        catalog.create_category("livres", "Livres")
        catalog.create_product("LAPTOP", "Portable 14", "1000.00", category="portables",
                               variants=[VariantSpec("LAPTOP-FR", "FR",
                                                     {"keyboard": "AZERTY"})])
        catalog.create_product("SCREEN", "Écran 27", "300.00", category="ecrans")
        catalog.create_product("MOUSE", "Souris", "20.00", category="accessoires")
        catalog.create_product("CABLE", "Câble HDMI", "10.00", category="accessoires")
        catalog.create_product("BOOK", "Guide du réseau", "30.00", category="livres",
                               tax_class="reduced")
        catalog.create_product("SUPPORT", "Assistance", "50.00", stocked=False)
        stock.create_location("lyon", "Entrepôt de Lyon")
        db.session.commit()
    with app.app_context():
        for sku in ("LAPTOP-FR", "SCREEN", "MOUSE", "CABLE", "BOOK"):
            stock.receive(fr.id, "lyon", sku, 50)
    with as_tenant(app, acme):
        company = Company(name="Durand")
        db.session.add(company)
        for email, role in (("buyer@durand.example", "buyer"),
                            ("admin@durand.example", "company_admin")):
            user = User(email=email, name=email.split("@")[0].title(), role=role,
                        company=company)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
    with as_tenant(app, de):
        catalog.create_category("rechner", "Rechner")
        catalog.create_product("DE-PC", "Büro-PC", "500.00", category="rechner",
                               stocked=False)
        db.session.commit()
    return fr, acme, de


# -- people -------------------------------------------------------------------------------


def make_customer(app, tenant, email: str, name: str = "Léa Martin",
                  company: str | None = None, role: str = "customer") -> int:
    """A customer account of ``tenant`` (of ``company``, made if need be); its id."""
    with as_tenant(app, tenant):
        firm = None
        if company is not None:
            firm = db.session.scalars(select(Company).where(Company.name == company)).first()
            if firm is None:
                firm = Company(name=company)
                db.session.add(firm)
        user = User(email=email, name=name, role=role if firm is None else "buyer",
                    company=firm)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user.id


def company_id(app, tenant, name: str = "Durand") -> int:
    with as_tenant(app, tenant):
        return db.session.scalars(select(Company.id).where(Company.name == name)).one()


def login(client, slug: str, email: str) -> None:
    response = client.post(f"/s/{slug}/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def staff_client(app, tenant, email: str | None = None):
    """A logged-in test client for a new staff user of ``tenant``."""
    email = email or f"staff@{tenant.slug}.example"
    make_customer(app, tenant, email, name="Staff", role="staff")
    client = app.test_client()
    login(client, tenant.slug, email)
    return client


# -- the cart and the checkout ------------------------------------------------------------


def add(client, slug: str, sku: str, quantity: Any = 1):
    response = client.post(f"/s/{slug}/cart/add", data={"sku": sku, "quantity": str(quantity)})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    return response


def hidden(page: str, name: str) -> str | None:
    """The value of the hidden field ``name`` in ``page``, or ``None``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    if found is None:
        return None
    import html

    return html.unescape(found.group(1))


def shown_discounts(client, slug: str) -> str | None:
    """The discounts the checkout summary shows (its ``shown_discounts`` field)."""
    return hidden(client.get(f"/s/{slug}/checkout").get_data(as_text=True), "shown_discounts")


def checkout(client, slug: str, email: str | None = None, confirm: bool = True, **form):
    """Post the checkout form of ``slug``. With ``confirm``, first read the summary page and
    echo its totals (``tax_basis``, ``shown_discounts``), as the browser does; a guest gives
    ``email``."""
    data = {**ADDRESS, **form}
    if email is not None:
        data["email"] = email
    page = client.get(f"/s/{slug}/checkout").get_data(as_text=True)
    if "payment_method" not in data:  # the first one offered: invoice for a company...
        offered = re.search(r'name="payment_method" value="([^"]+)"', page)
        data["payment_method"] = offered.group(1) if offered else "transfer"
    if confirm:
        for name in ("tax_basis", "shown_discounts"):
            value = hidden(page, name)
            if value is not None and name not in form:
                data[name] = value
    return client.post(f"/s/{slug}/checkout", data=data)


def buy(client, slug: str, *items: Any, email: str | None = None, confirm: bool = True,
        expect: int | None = 303, **form):
    """Put ``items`` (``"SKU"`` or ``("SKU", quantity)``) in the cart and check out; asserts
    the status ``expect`` (``None``: no check) and returns the response."""
    for item in items:
        sku, quantity = (item, 1) if isinstance(item, str) else item
        add(client, slug, sku, quantity)
    response = checkout(client, slug, email=email, confirm=confirm, **form)
    if expect is not None:
        assert response.status_code == expect, _problem(response)
    return response


def _problem(response) -> str:
    """What a refused checkout page says, without its markup."""
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", text)[:1500]


def orders(app, tenant) -> list[Order]:
    """``tenant``'s orders, oldest first, detached with their lines."""
    with as_tenant(app, tenant):
        found = list(db.session.scalars(select(Order).order_by(Order.id)))
        for order in found:
            _ = order.lines
            db.session.expunge(order)
        return found


def last_order(app, tenant) -> Order:
    return orders(app, tenant)[-1]


# -- moving orders on ---------------------------------------------------------------------


def set_status(staff, slug: str, number: int, *statuses: str) -> None:
    """Staff move order ``number`` through ``statuses`` (``paid``, ``shipped``,
    ``delivered``, ``cancelled``) with the staff pages."""
    for status in statuses:
        response = staff.post(f"/s/{slug}/staff/orders/{number}/status",
                              data={"status": status})
        assert response.status_code == 303, (status, response.get_data(as_text=True)[:500])


def advance(app, tenant, number: int, *statuses: str) -> None:
    """Move order ``number`` through ``statuses`` with the toolkit, as a job or a payment
    provider would (no staff, no request of the shop)."""
    from flask import g

    from comptoir.toolkit import change_order_status, tenant_by_id

    for status in statuses:
        with app.test_request_context("/"), as_tenant(app, tenant):
            info = tenant_by_id(tenant.id)
            g.tenant = info
            order = db.session.scalars(select(Order).where(Order.number == number)).one()
            change_order_status(info, order, status, "test")


def return_order(app, client, staff, slug: str, number: int, tenant=None, **quantities):
    """The customer (``client``) sends order ``number`` back (all of it, or ``SKU=units``
    of some lines), staff accept and receive the parcel."""
    lines = {}
    if quantities:
        with as_tenant(app, tenant):
            order = db.session.scalars(select(Order).where(Order.number == number)).one()
            ids = {line.sku: line.id for line in order.lines}
        lines = {f"qty-{ids[sku.replace('_', '-')]}": str(units)
                 for sku, units in quantities.items()}
    response = client.post(f"/s/{slug}/orders/{number}/return",
                           data={"reason": "Ne convient pas", **lines})
    assert response.status_code == 303
    with as_tenant(app, tenant):
        return_id = db.session.scalars(select(ReturnRequest.id).order_by(
            ReturnRequest.id.desc())).first()
    for action in ("accept", "receive"):
        response = staff.post(f"/s/{slug}/staff/returns/{return_id}", data={"action": action})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]


# -- what the plugin says -----------------------------------------------------------------


def said(app, msgid: str, *, locale: str = "fr_FR", html: bool = True, **params: Any) -> str:
    """``msgid`` as the promotions plugin says it in a shop speaking ``locale`` (the French
    test shops by default), HTML-escaped as a page shows it unless ``html`` is false.

    Pages are compared with the plugin's catalogue, never with English typed in a test: the
    test then holds whether or not the message is translated yet, and fails if it is
    missing. A message inside another (a refusal's reason) is ``said(..., html=False)``.
    """
    from flask_babel import force_locale
    from markupsafe import escape

    from plugins.promotions.rules import translations

    with app.test_request_context(), force_locale(locale):
        text = translations.gettext(msgid, **params)
    return str(escape(text)) if html else text


# -- settings and promotions --------------------------------------------------------------


def plugin_settings(app, tenant, **values: Any) -> None:
    """Set the promotions plugin's own settings of ``tenant`` (not inherited ones)."""
    with app.app_context():
        tenants.update_plugin_settings(db.session.get(Tenant, tenant.id), "promotions", values)
        db.session.commit()


def make_promotion(app, tenant, code: str | None = None, **fields: Any) -> int:
    """A promotion of ``tenant`` (a 10 % cart discount unless ``fields`` say otherwise),
    triggered by ``code`` when one is given; its id."""
    from plugins.promotions.models import CODE, Coupon, Promotion

    values: dict[str, Any] = {"name": "Promo", "kind": "percent", "value": Decimal("10")}
    values.update(fields)
    if code is not None:
        values["trigger"] = CODE
    with as_tenant(app, tenant):
        promotion = Promotion(**values)
        db.session.add(promotion)
        db.session.flush()
        if code is not None:
            db.session.add(Coupon(promotion_id=promotion.id, code=code.upper()))
        db.session.commit()
        return promotion.id
