"""The checkout links to the terms of sale and states the withdrawal period."""

from __future__ import annotations

from comptoir.core.db import db
from comptoir.tenants import service
from tests.orders.conftest import add, log_in, shop  # noqa: F401  (the orders' shop fixture)


def test_checkout_links_to_the_terms_and_gives_the_withdrawal_period(app, shop):  # noqa: F811
    client = app.test_client()
    log_in(client)
    assert add(client, "SCREEN").status_code in (302, 303)
    text = client.get("/s/acme/checkout").get_data(as_text=True)
    assert 'href="/s/acme/legal/terms"' in text
    assert "14" in text.split('href="/s/acme/legal/terms"', 1)[1].split("</p>", 1)[0]

    with app.app_context():
        office = service.get_tenant("fr")
        service.update_plugin_settings(office, "locale_fr", {"withdrawal_days": 30})
        db.session.commit()
    text = client.get("/s/acme/checkout").get_data(as_text=True)
    assert "30" in text.split('href="/s/acme/legal/terms"', 1)[1].split("</p>", 1)[0]
