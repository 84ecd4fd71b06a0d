"""A real localstripe server, the app served over real HTTP (Stripe's webhooks need an
address to reach), and the ``shop`` of the orders tests with card payments turned on for the
reseller ``acme``."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
import stripe
from werkzeug.serving import make_server

from comptoir.core.db import db
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from tests.localstripe import send_webhooks_to as register
from tests.orders.conftest import shop  # noqa: F401  (the fixture, reused)
from tests.servers import free_port

KEYS = {"publishable_key": "pk_test_acme", "secret_key": "sk_test_acme",
        "webhook_secret": "whsec_acme_test_secret"}


@pytest.fixture
def app(app_factory, localstripe, tmp_path):
    # Jobs go to a SQLite queue: the webhook is seen to queue its work, the test runs it.
    return app_factory(STRIPE_API_BASE=localstripe,
                       JOBS_URL=f"sqlite:///{tmp_path / 'jobs.sqlite3'}")


@pytest.fixture
def card_shop(app, shop):  # noqa: F811
    """``shop`` with the stripe plugin on for acme, with its own test keys."""
    fr, acme, gb = shop
    with app.app_context():
        row = db.session.get(Tenant, acme.id)
        tenants.set_plugin_enabled(row, "stripe", True)
        tenants.update_plugin_settings(row, "stripe", KEYS)
        db.session.commit()
    return fr, acme, gb


@pytest.fixture
def live_app(app) -> Iterator[str]:
    """The app under test on a real port, for localstripe's webhook deliveries."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def stripe_client(localstripe: str) -> stripe.StripeClient:
    return stripe.StripeClient(KEYS["secret_key"], base_addresses={"api": localstripe})


def send_webhooks_to(localstripe: str, url: str, secret: str = KEYS["webhook_secret"]) -> None:
    """Register (or move) localstripe's webhook endpoint for the test shop."""
    register(localstripe, url, secret)


def signed(payload: bytes, secret: str = KEYS["webhook_secret"],
           at: int | None = None) -> str:
    """A ``Stripe-Signature`` header as Stripe computes it."""
    moment = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{moment}.".encode() + payload, hashlib.sha256)
    return f"t={moment},v1={mac.hexdigest()}"


def localstripe_post(localstripe: str, path: str, body: dict) -> dict:
    """What Stripe.js does in the browser (confirm a SetupIntent, answer 3-D Secure)."""
    request = urllib.request.Request(f"{localstripe}{path}", data=json.dumps(body).encode(),
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def card_from_browser(localstripe: str, client, slug: str, reference: str,
                      number: str = "4242424242424242") -> str:
    """Type a card as the payment page's Stripe.js would: a SetupIntent from the shop,
    confirmed at Stripe with the card; returns the PaymentMethod id."""
    answer = client.post(f"/s/{slug}/stripe/pay/{reference}/setup")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    secret = answer.get_json()["client_secret"]
    setup_id = secret.split("_secret_")[0]
    body = {"key": KEYS["publishable_key"], "use_stripe_sdk": True, "client_secret": secret,
            "payment_method_data": {"type": "card", "card": {
                "number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"}}}
    confirmed = localstripe_post(localstripe, f"/v1/setup_intents/{setup_id}/confirm", body)
    if confirmed["status"] == "requires_action":  # 3-D Secure at setup: the buyer agrees
        confirmed = localstripe_post(localstripe, f"/v1/setup_intents/{setup_id}/confirm", {
            "key": KEYS["publishable_key"], "use_stripe_sdk": True, "client_secret": secret})
    assert confirmed["status"] == "succeeded", confirmed
    return confirmed["payment_method"]


def said(app, msgid: str, locale: str = "fr_FR", **params) -> str:
    """``msgid`` as the stripe plugin says it in ``locale`` (the test shops are French)."""
    return said_by("plugins.stripe", app, msgid, locale, **params)


def said_by(domain: str, app, msgid: str, locale: str = "fr_FR", **params) -> str:
    """``msgid`` as another plugin (``plugins.approvals``...) says it in ``locale``."""
    from flask_babel import force_locale

    from comptoir.toolkit import plugin_translations

    with app.test_request_context(), force_locale(locale):
        return plugin_translations(domain).gettext(msgid, **params)
