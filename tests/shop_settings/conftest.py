"""A France office with its reseller and an unrelated UK office, each with an admin."""

from __future__ import annotations

import pytest

from comptoir.core.db import db
from comptoir.customers.models import User
from tests.conftest import as_tenant

PASSWORD = "password-1"


def add_user(app, tenant, email, role):
    with as_tenant(app, tenant):
        user = User(email=email, name=email.split("@")[0].title(), role=role)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()


def logged_in(app, slug, email):
    client = app.test_client()
    response = client.post(f"/s/{slug}/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def offices(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    acme = make_tenant("acme", name="ACME", parent="fr")
    gb = make_tenant("gb", name="Comptoir UK", country="GB", locale="en_GB", currency="GBP",
                     plugins=["locale_gb"])
    for tenant in (fr, acme, gb):
        add_user(app, tenant, f"admin@{tenant.slug}.example", "tenant_admin")
        add_user(app, tenant, f"staff@{tenant.slug}.example", "staff")
    return fr, acme, gb


@pytest.fixture
def admin(app, offices):
    """``admin("fr")``: a client logged in as that shop's tenant admin."""
    return lambda slug: logged_in(app, slug, f"admin@{slug}.example")
