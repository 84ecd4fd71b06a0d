"""Every page behind a login sends a visitor to the login form with the page asked for, and
back there afterwards, in ``/s/<slug>/`` mode too (where ``next`` must carry the prefix, or
``safe_next`` refuses it and the visitor lands on the home page)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from comptoir.core.db import db
from comptoir.customers.models import User
from tests.conftest import as_tenant

PASSWORD = "correct horse battery"
PAGES = ["/staff/orders", "/staff/quotes/", "/staff/newsletters", "/staff/promotions",
         "/staff/support/", "/affiliates/", "/account/loyalty/"]


@pytest.fixture
def shop(app, make_tenant):
    tenant = make_tenant("acme", plugins=("newsletters", "promotions", "support", "affiliates"))
    with as_tenant(app, tenant):
        user = User(email="staff@acme.example", name="Sam", role="staff")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    return tenant


@pytest.mark.parametrize("page", PAGES)
def test_a_visitor_logs_in_and_comes_back_to_the_page_asked_for(app, shop, page):
    http = app.test_client()
    wanted = "/s/acme" + page
    visitor = http.get(wanted)
    assert visitor.status_code == 302, page
    location = urlsplit(visitor.headers["Location"])
    assert location.path == "/s/acme/login"
    back = parse_qs(location.query)["next"][0]
    assert back == wanted
    logged = http.post(f"/s/acme/login?{urlencode({'next': back})}",
                       data={"email": "staff@acme.example", "password": PASSWORD})
    assert logged.status_code == 302
    assert urlsplit(logged.headers["Location"]).path == wanted
