"""Two unrelated offices with realistic data, API clients and tokens for each."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from comptoir.api import service
from comptoir.catalog.models import Product, Variant
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.orders.models import Order, OrderEvent, OrderLine, ReturnLine, ReturnRequest
from comptoir.quotes.models import Quote, QuoteLine
from comptoir.stock.models import StockLevel, StockLocation
from tests.api.plugin_data import API_PLUGINS, seed_plugins
from tests.conftest import as_tenant

ALL_SCOPES = list(service.SCOPES)
PASSWORD = "password-1"


def seed(app, tenant, tag: str) -> dict[str, int]:
    """A product with two variants, stock, a company and its buyer, an order, a quote, a
    return: one of each resource, ids returned by resource name."""
    with as_tenant(app, tenant):
        product = Product(sku=f"PC-{tag}", name=f"PC {tag}", price=Decimal("1234.50"))
        product.variants = [Variant(sku=f"PC-{tag}-FR", country="FR",
                                    attributes={"keyboard": "AZERTY"}),
                            Variant(sku=f"PC-{tag}-DE", country="DE", price=Decimal("1299.00"))]
        db.session.add(product)
        for n in range(3):
            db.session.add(Product(sku=f"EXTRA-{tag}-{n}", name=f"Extra {n}",
                                   price=Decimal("9.90")))
        location = StockLocation(code=f"WH-{tag}", name="Warehouse")
        db.session.add(location)
        db.session.flush()
        level = StockLevel(location_id=location.id, variant_id=product.variants[0].id,
                           on_hand=10, reserved=2)
        company = Company(name=f"Company {tag}", vat_number="FR40303265045")
        db.session.add_all([level, company])
        db.session.flush()
        user = User(email=f"buyer@{tag}.example", name="Buyer", role="buyer",
                    company_id=company.id)
        user.password_hash = "not-a-hash"
        db.session.add(user)
        db.session.flush()
        address = {"name": "Buyer", "street": "1 rue", "postcode": "75001", "city": "Paris",
                   "country": "FR"}
        order = Order(number=1, reference=f"R-{tag}-1", status="delivered", email=user.email,
                      user_id=user.id, company_id=company.id, billing_address=address,
                      shipping_address=address, shipping_method="standard",
                      payment_method="invoice", currency="EUR", total_net=Decimal("1234.50"),
                      total_vat=Decimal("246.90"), total_gross=Decimal("1481.40"),
                      vat_breakdown={"20": "246.90"},
                      discounts=[{"ref": "promo:1", "label": "WELCOME", "amount": "0.00"}],
                      expected_delivery=date(2026, 11, 30),
                      created_at=datetime(2026, 1, 1, tzinfo=UTC))
        order.lines = [OrderLine(sku=product.variants[0].sku, name="PC", quantity=1,
                                 unit_public=Decimal("1234.50"), unit_net=Decimal("1234.50"),
                                 line_net=Decimal("1234.50"), tax_class="standard",
                                 vat_rate=Decimal("20.00"))]
        order.events = [OrderEvent(actor="system", from_status=None, to_status="delivered",
                                   at=datetime(2026, 1, 2, tzinfo=UTC))]
        db.session.add(order)
        db.session.flush()
        quote = Quote(number=1, company_id=company.id, status="sent",
                      valid_until=date(2026, 12, 31), currency="EUR",
                      created_at=datetime(2026, 1, 1, tzinfo=UTC))
        quote.lines = [QuoteLine(version=1, variant_id=product.variants[0].id, sku="PC",
                                 name="PC", quantity=2, unit_net=Decimal("1100.00"))]
        back = ReturnRequest(order_id=order.id, reason="too big",
                             created_at=datetime(2026, 1, 3, tzinfo=UTC))
        back.lines = [ReturnLine(order_line_id=order.lines[0].id, quantity=1)]
        db.session.add_all([quote, back])
        db.session.flush()
        ids = {"products": product.id, "stock": level.id, "customers": user.id,
               "companies": company.id, "orders": order.id, "quotes": quote.id,
               "returns": back.id}
        db.session.commit()
        return ids


def make_client(app, tenant, scopes=None, name="ERP"):
    """A client of ``tenant``; by default with every scope it may grant (its plugins')."""
    with as_tenant(app, tenant):
        if scopes is None:
            scopes = list(service.grantable_scopes(service.enabled_plugins()))
        new = service.create_client(name, scopes, created_by="test")
        db.session.commit()
        return SimpleNamespace(client_id=new.client.client_id, secret=new.secret)


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def get_token(http, slug, creds, scope=None):
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = http.post(f"/s/{slug}/api/v1/oauth/token", data=data,
                         headers=basic(creds.client_id, creds.secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def shops(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=API_PLUGINS)
    gb = make_tenant("gb", name="Comptoir UK", country="GB", locale="en_GB", currency="GBP",
                     plugins=API_PLUGINS)
    data = SimpleNamespace(fr=fr, gb=gb, ids={"fr": seed(app, fr, "fr"), "gb": seed(app, gb, "gb")})
    for slug, shop in (("fr", fr), ("gb", gb)):  # the plugins' resources (tests/api/plugin_data)
        data.ids[slug].update(seed_plugins(app, shop, slug, data.ids[slug]))
    data.creds = {"fr": make_client(app, fr), "gb": make_client(app, gb)}
    return data


@pytest.fixture
def token(client, shops):
    """``token("fr")``: a bearer token of that shop with every scope."""
    return lambda slug, scope=None: get_token(client, slug, shops.creds[slug], scope)
