"""A company buyer's world: negotiated prices beside the public price, restricted catalogue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency
from sqlalchemy import func, select

from comptoir.catalog import pricing
from comptoir.catalog import service as catalog
from comptoir.catalog.models import Variant
from comptoir.core.db import db
from comptoir.customers import service as customers
from comptoir.customers.models import Company, PriceRule, User
from comptoir.tenants.resolution import directory
from tests.conftest import as_tenant


def eur(amount: str) -> str:
    return format_currency(Decimal(amount), "EUR", locale="fr_FR")


@pytest.fixture
def durand(app, world):
    _, acme, _ = world
    with as_tenant(app, acme):
        company = Company(name="Durand")
        buyer = User(email="buyer@durand.example", name="Buyer", role="buyer", company=company)
        buyer.set_password("password-1")
        db.session.add_all([company, buyer])
        db.session.flush()
        catalog.create_configuration("CFG-STD", "Poste standard",
                                     [("DESKTOP-FR", 1), ("SCREEN", 2)])
        catalog.create_configuration("CFG-NOMAD", "Poste nomade", [("LAPTOP-FR", 1)],
                                     price="950.00")
        db.session.commit()
    return acme


def log_in(client):
    response = client.post("/s/acme/login",
                           data={"email": "buyer@durand.example", "password": "password-1"})
    assert response.status_code == 302


def quote(app, tenant, sku, company_name="Durand"):
    with app.test_request_context("/"), as_tenant(app, tenant):
        info = directory().by_id(tenant.id)
        company = db.session.scalars(select(Company).where(Company.name == company_name)).one()
        variant = db.session.scalars(select(Variant).where(Variant.sku == sku)).one()
        return pricing.variant_price(info, variant, company)


def rule(app, tenant, action, *args, **kwargs):
    with as_tenant(app, tenant):
        company = customers.get_company("Durand")
        action(company, *args, **kwargs)
        db.session.commit()


def test_most_specific_rule_wins(app, durand):
    rule(app, durand, customers.set_discount, "5")
    assert quote(app, durand, "SCREEN").net == Decimal("285.00")
    rule(app, durand, customers.set_discount, "10", category="computers")
    assert quote(app, durand, "LAPTOP-FR").net == Decimal("900.00")  # laptops is in computers
    assert quote(app, durand, "SCREEN").net == Decimal("285.00")
    rule(app, durand, customers.set_discount, "20", product="LAPTOP")
    assert quote(app, durand, "LAPTOP-FR").net == Decimal("800.00")
    rule(app, durand, customers.set_fixed_price, "777.00", product="LAPTOP")
    price = quote(app, durand, "LAPTOP-FR")
    assert (price.public, price.net) == (Decimal("1000.00"), Decimal("777.00"))


def test_a_new_rule_replaces_the_old_one_for_the_same_scope(app, durand):
    rule(app, durand, customers.set_discount, "5")
    rule(app, durand, customers.set_discount, "7.5")
    assert quote(app, durand, "SCREEN").net == Decimal("277.50")
    with as_tenant(app, durand):
        assert db.session.scalar(select(func.count(PriceRule.id))) == 1


def test_a_fixed_price_never_raises_the_price(app, durand):
    rule(app, durand, customers.set_fixed_price, "1200.00", product="LAPTOP")
    assert quote(app, durand, "LAPTOP-FR").net == Decimal("1000.00")


def test_buyer_sees_his_price_beside_the_public_reference(app, client, durand):
    rule(app, durand, customers.set_discount, "10", category="computers")
    log_in(client)
    html = client.get("/s/acme/products/LAPTOP").get_data(as_text=True)
    assert f"<s>{eur('1000.00')}</s>" in html
    assert f'<span class="net">{eur("900.00")}</span>' in html
    assert eur("1080.00") in html  # the VAT-inclusive price follows the buyer's price


def test_visitors_and_other_companies_see_public_prices(app, client, durand):
    rule(app, durand, customers.set_discount, "10")
    html = client.get("/s/acme/products/LAPTOP").get_data(as_text=True)
    assert "<s>" not in html and eur("1000.00") in html
    with as_tenant(app, durand):
        db.session.add(Company(name="Other"))
        db.session.commit()
    assert quote(app, durand, "LAPTOP-FR", "Other").net == Decimal("1000.00")


def test_restricted_company_sees_only_its_entries(app, client, durand):
    rule(app, durand, customers.restrict_catalogue, products=["INSTALL"],
         configurations=["CFG-STD", "CFG-NOMAD"])
    log_in(client)
    html = client.get("/s/acme/").get_data(as_text=True)
    assert "/s/acme/products/INSTALL" in html and "/s/acme/products/LAPTOP" not in html
    assert client.get("/s/acme/products/LAPTOP").status_code == 404
    assert client.get("/s/acme/search?q=portable").get_data(as_text=True).count("/products/") == 0
    configurations = client.get("/s/acme/configurations").get_data(as_text=True)
    assert "Poste standard" in configurations and "Poste nomade" in configurations
    assert eur("1200.00") in configurations  # 600 + 2 x 300
    assert eur("950.00") in configurations


def test_configuration_price_uses_the_companys_prices_on_its_parts(app, durand):
    rule(app, durand, customers.set_discount, "10", category="computers")
    rule(app, durand, customers.set_fixed_price, "1000.00", configuration="CFG-STD")
    with app.test_request_context("/"), as_tenant(app, durand):
        info = directory().by_id(durand.id)
        company = customers.get_company("Durand")
        std = db.session.scalars(select(catalog.Configuration).where(
            catalog.Configuration.code == "CFG-STD")).one()
        assert pricing.configuration_price(info, std, company).net == Decimal("1000.00")
        customers_rule = db.session.scalars(select(PriceRule).where(
            PriceRule.configuration_id == std.id)).one()
        db.session.delete(customers_rule)
        db.session.flush()
        price = pricing.configuration_price(info, std, company)
        assert (price.public, price.net) == (Decimal("1200.00"), Decimal("1140.00"))


def test_another_tenant_cannot_see_or_use_the_companys_rules(app, world, durand):
    rule(app, durand, customers.set_discount, "10")
    _, _, gb = world
    with as_tenant(app, gb):
        assert db.session.scalar(select(func.count(PriceRule.id))) == 0
        with pytest.raises(customers.CustomerError, match="no company 'Durand'"):
            customers.get_company("Durand")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: customers.set_discount(c, "0"), "discount"),
        (lambda c: customers.set_discount(c, "100"), "discount"),
        (lambda c: customers.set_discount(c, "ten"), "discount"),
        (lambda c: customers.set_discount(c, 10.0), "discount"),
        (lambda c: customers.set_discount(c, "5", product="LAPTOP", category="computers"),
         "scope"),
        (lambda c: customers.set_discount(c, "5", category="nowhere"), "category"),
        (lambda c: customers.set_fixed_price(c, "-5", product="LAPTOP"), "price"),
        (lambda c: customers.set_fixed_price(c, "5"), "scope"),
        (lambda c: customers.set_fixed_price(c, "5", product="NOPE"), "product"),
        (lambda c: customers.restrict_catalogue(c), "catalogue"),
        (lambda c: customers.restrict_catalogue(c, configurations=["NOPE"]), "configuration"),
    ],
)
def test_bad_rules_are_refused_and_change_nothing(app, durand, call, field):
    rule(app, durand, customers.set_discount, "5")
    with as_tenant(app, durand):
        company = customers.get_company("Durand")
        with pytest.raises(customers.CustomerError) as refused:
            call(company)
        db.session.rollback()
        assert refused.value.field == field
        rules = db.session.execute(select(PriceRule.discount_percent)).scalars().all()
        assert rules == [Decimal("5.00")] and not customers.get_company("Durand").restricted
