"""VIES checks against a local HTTP server that answers as the Commission's REST API does."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.orders.models import Order
from comptoir.tax.models import VatNumberCheck
from comptoir.tenants.models import Tenant
from tests.conftest import as_tenant
from tests.orders.conftest import add, checkout, log_in
from tests.tax.conftest import BELGIAN_VAT
from tests.tax.test_checkout_vat import BRUSSELS


class Vies:
    """Answers ``valid`` as told, counts the questions and keeps the last one."""

    def __init__(self) -> None:
        self.valid = True
        self.asked: list[dict] = []
        vies = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                vies.asked.append(body)
                answer = {"countryCode": body["countryCode"], "vatNumber": body["vatNumber"],
                          "requestDate": "2026-11-22T10:00:00.000Z", "valid": vies.valid,
                          "requestIdentifier": "WAPIAAAAZ3FhMkl4" if vies.valid else "",
                          "name": "DURAND BENELUX SRL", "address": "RUE DE LA LOI 16"}
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/check-vat-number"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def vies(app, reseller):
    server = Vies()
    app.config["VIES_URL"] = server.url
    with app.app_context():
        office = db.session.query(Tenant).filter_by(slug="fr").one()
        office.settings = {"vies_check": True}
        office.plugins[0].settings = {"vat_number": "FR40303265045"}
        db.session.commit()
    yield server
    server.server.shutdown()


def _orders(app, reseller):
    """(regime, VAT) of the reseller's orders, oldest first."""
    with as_tenant(app, reseller):
        return [(o.vat_regime, o.total_vat)
                for o in db.session.scalars(select(Order).order_by(Order.id))]


def test_a_number_vies_confirms_is_reverse_charged_and_the_proof_kept(app, client, reseller,
                                                                      vies):
    log_in(client, email="buyer@benelux.example")
    for _ in range(2):
        add(client, "NOTEBOOK-14")
        assert checkout(client, **BRUSSELS).status_code == 303
    assert _orders(app, reseller) == [("reverse_charge", Decimal("0.00"))] * 2
    assert len(vies.asked) == 1  # the answer is kept 30 days
    assert vies.asked[0] == {"countryCode": "BE", "vatNumber": "0403170701",
                             "requesterMemberStateCode": "FR",
                             "requesterNumber": "40303265045"}
    with as_tenant(app, reseller):
        check = db.session.scalars(select(VatNumberCheck)).one()
        assert (check.vat_number, check.valid, check.source, check.reference) == (
            BELGIAN_VAT, True, "vies", "WAPIAAAAZ3FhMkl4")
        assert check.checked_at is not None


def test_a_number_vies_does_not_know_pays_vat(app, client, reseller, vies):
    vies.valid = False
    log_in(client, email="buyer@benelux.example")
    add(client, "NOTEBOOK-14")
    # The page, which does not ask VIES, showed a reverse charge: the shopper is told.
    refused = checkout(client, tax_basis="reverse_charge:", **BRUSSELS)
    assert refused.status_code == 400
    assert checkout(client, tax_basis="domestic:FR", **BRUSSELS).status_code == 303
    assert _orders(app, reseller) == [("domestic", Decimal("209.90"))]


def test_when_vies_is_down_vat_is_charged_and_the_outage_recorded(app, client, reseller, vies):
    vies.server.shutdown()
    vies.server.server_close()
    log_in(client, email="buyer@benelux.example")
    add(client, "NOTEBOOK-14")
    assert checkout(client, **BRUSSELS).status_code == 303
    assert _orders(app, reseller) == [("domestic", Decimal("209.90"))]
    with as_tenant(app, reseller):
        check = db.session.scalars(select(VatNumberCheck)).one()
        assert (check.valid, check.source) == (False, "vies_unavailable")
