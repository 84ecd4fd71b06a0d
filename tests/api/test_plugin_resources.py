"""The plugins' resources: approval requests, affiliates and commissions, subscribers.

Shapes and decimal strings, filters and ``updated_since``, scopes (403), a shop without the
plugin (404 in the API's error shape, still documented), a second shop that sees nothing of
the first, bad parameters (400 naming them), scopes that only exist with their plugin, and
start-up refusing a plugin whose resources are wrong. The data is ``tests/api/plugin_data``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event

from comptoir.api import service
from comptoir.core.db import db
from comptoir.core.plugins import PluginError
from comptoir.customers.models import User
from comptoir.orders.models import Order, OrderEvent, OrderLine, ReturnRequest
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from plugins.affiliates.models import Entry, Payout, PayoutEntry
from plugins.approvals.models import Member, Request
from plugins.newsletters.models import Subscriber, Suppression
from tests.api.conftest import PASSWORD, basic, bearer, get_token, make_client, seed
from tests.api.plugin_data import API_PLUGINS, PLUGIN_RESOURCES, seed_plugins
from tests.conftest import as_tenant, translated

PLUGIN_SCOPES = {"approvals": "approvals:read", "affiliates": "commissions:read",
                 "commissions": "commissions:read", "subscribers": "subscribers:read"}
OWNER = {"approvals": "approvals", "affiliates": "affiliates", "commissions": "affiliates",
         "subscribers": "newsletters"}


def _get(client, url, token):
    response = client.get(url, headers=bearer(token))
    return response.status_code, response.get_json()


# --- shapes -------------------------------------------------------------------------------

def test_approval_request_shape(app, client, shops, token):
    ids = shops.ids["fr"]
    status, body = _get(client, f"/s/fr/api/v1/approvals/{ids['approvals']}", token("fr"))
    assert status == 200
    assert body["order_id"] == ids["orders"] and body["order_reference"] == "R-fr-1"
    assert body["amount"] == "1234.50" and body["currency"] == "EUR"
    assert body["status"] == "approved" and body["reason"] == "Budget line 12"
    assert body["level"] == 2 and body["approver_id"] == ids["approvers"]
    assert body["requester_id"] == ids["customers"] and body["decided_by"] == ids["approvers"]
    assert body["decided_at"] == "2026-01-01T15:00:00+00:00"
    assert body["deputy_id"] is None
    assert [e["action"] for e in body["events"]] == ["submitted", "approved"]
    assert body["updated_at"] == "2026-01-01T15:00:00+00:00"


def test_a_pending_request_names_the_deputy_deciding_today(app, client, shops, token):
    ids = shops.ids["fr"]
    with as_tenant(app, shops.fr):
        request = db.session.get(Request, ids["approvals"])
        request.status, request.decided_at, request.decided_by = "pending", None, None
        boss = db.session.scalars(db.select(Member).where(
            Member.user_id == ids["approvers"])).one()
        deputy = User(email="deputy@fr.example", name="Deputy", role="buyer",
                      company_id=boss.company_id)
        deputy.password_hash = "not-a-hash"
        db.session.add(deputy)
        db.session.flush()
        db.session.add(Member(company_id=boss.company_id, user_id=deputy.id, level=2,
                              ceiling=Decimal("20000.00"), budget=True))
        boss.deputy, boss.deputy_until = deputy.id, date(2099, 12, 31)
        deputy_id = deputy.id
        db.session.commit()
    _, body = _get(client, f"/s/fr/api/v1/approvals/{ids['approvals']}", token("fr"))
    assert body["status"] == "pending" and body["deputy_id"] == deputy_id
    assert body["approver_id"] == ids["approvers"]
    _, pending = _get(client, "/s/fr/api/v1/approvals?status=pending", token("fr"))
    assert [r["id"] for r in pending["data"]] == [ids["approvals"]]


def test_approvals_filters_and_updated_since(client, shops, token):
    ids, access = shops.ids["fr"], token("fr")
    for query, expected in [("updated_since=2026-01-01T12:00:00Z", [ids["approvals"]]),
                            ("updated_since=2026-01-02T00:00:00Z", []),
                            ("status=approved", [ids["approvals"]]),
                            ("status=rejected", []),
                            (f"company_id={ids['companies']}", [ids["approvals"]]),
                            (f"order_id={ids['orders'] + 1000}", [])]:
        status, body = _get(client, f"/s/fr/api/v1/approvals?{query}", access)
        assert status == 200 and [r["id"] for r in body["data"]] == expected, query


def test_commission_shape_status_and_payout(app, client, shops, token):
    ids, access = shops.ids["fr"], token("fr")
    status, body = _get(client, f"/s/fr/api/v1/commissions/{ids['commissions']}", access)
    assert status == 200
    assert (body["base"], body["rate"], body["amount"]) == ("1234.50", "5.00", "61.73")
    assert body["affiliate_id"] == ids["affiliates"] and body["affiliate_code"] == "BLOG-FR"
    assert body["order_reference"] == "R-fr-1" and body["kind"] == "commission"
    assert body["status"] in ("pending", "payable") and body["payout_reference"] is None
    assert body["created_at"] == "2026-01-02T00:00:00+00:00"
    _, later = _get(client, "/s/fr/api/v1/commissions?updated_since=2026-02-01T00:00:00Z",
                    access)
    assert later["data"] == []
    with as_tenant(app, shops.fr):
        payout = Payout(affiliate_id=ids["affiliates"], reference="PAY-FR-1",
                        period_end=date(2026, 2, 28), amount=Decimal("61.73"), currency="EUR",
                        status="paid", created_by="staff@fr.example",
                        created_at=datetime(2026, 3, 1, tzinfo=UTC),
                        paid_at=datetime(2026, 3, 2, tzinfo=UTC))
        db.session.add(payout)
        db.session.flush()
        db.session.add(PayoutEntry(payout_id=payout.id, entry_id=ids["commissions"]))
        line_id = db.session.get(Entry, ids["commissions"]).order_line_id
        db.session.add(Entry(affiliate_id=ids["affiliates"], order_id=ids["orders"],
                             order_line_id=line_id,
                             kind="reversal", amount=Decimal("-61.73"), currency="EUR",
                             base=Decimal("-1234.50"), units=-1, note="1 returned",
                             at=datetime(2026, 3, 5, tzinfo=UTC)))
        db.session.commit()
    _, paid = _get(client, f"/s/fr/api/v1/commissions/{ids['commissions']}", access)
    assert paid["status"] == "paid" and paid["payout_reference"] == "PAY-FR-1"
    assert paid["paid_at"] == "2026-03-02T00:00:00+00:00"
    assert paid["updated_at"] == "2026-03-02T00:00:00+00:00"
    _, since = _get(client, "/s/fr/api/v1/commissions?updated_since=2026-02-01T00:00:00Z",
                    access)
    assert len(since["data"]) == 2
    _, reversals = _get(client, "/s/fr/api/v1/commissions?kind=reversal", access)
    (reversal,) = reversals["data"]
    assert (reversal["amount"], reversal["base"], reversal["rate"]) == ("-61.73", "-1234.50",
                                                                        "5.00")
    _, of_other = _get(client, f"/s/fr/api/v1/commissions?affiliate_id={ids['affiliates'] + 9}",
                       access)
    assert of_other["data"] == []


def _queries(app, client, url, access) -> tuple[int, dict]:
    """How many SQL statements one API request runs, and its body."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url, headers=bearer(access))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(seen), response.get_json()


def _delivered_orders(app, tenant, ids, numbers: range, returning: set[int]) -> None:
    """Orders ``numbers`` delivered long ago, each with a commission of the fixture's
    affiliate; those in ``returning`` have a return under way."""
    with as_tenant(app, tenant):
        model = db.session.get(Order, ids["orders"])
        for number in numbers:
            order = Order(number=number, reference=f"R-many-{number}", status="delivered",
                          email=model.email, user_id=model.user_id,
                          company_id=model.company_id, billing_address=model.billing_address,
                          shipping_address=model.shipping_address, shipping_method="standard",
                          payment_method="invoice", currency="EUR",
                          total_net=Decimal("10.00"), total_vat=Decimal("2.00"),
                          total_gross=Decimal("12.00"), vat_breakdown={"20": "2.00"},
                          discounts=[], expected_delivery=date(2025, 1, 5),
                          created_at=datetime(2025, 1, 1, tzinfo=UTC))
            order.lines = [OrderLine(sku="X", name="X", quantity=1, unit_public=Decimal("10"),
                                     unit_net=Decimal("10"), line_net=Decimal("10"),
                                     tax_class="standard", vat_rate=Decimal("20.00"))]
            order.events = [OrderEvent(actor="system", from_status=None, to_status="delivered",
                                       at=datetime(2025, 1, 2, tzinfo=UTC))]
            db.session.add(order)
            db.session.flush()
            if number in returning:
                db.session.add(ReturnRequest(order_id=order.id, reason="broken",
                                             status="requested"))
            db.session.add(Entry(affiliate_id=ids["affiliates"], order_id=order.id,
                                 order_line_id=order.lines[0].id, kind="commission",
                                 amount=Decimal("0.50"), currency="EUR", base=Decimal("10.00"),
                                 units=1, at=datetime(2025, 1, 2, tzinfo=UTC)))
        db.session.commit()


def test_list_pages_run_a_bounded_number_of_queries(app, client, shops, token):
    """A page of 100 costs the queries of a page of 2: no query per row (the commissions'
    status once read each order's events and open return one by one)."""
    ids, access = shops.ids["fr"], token("fr")
    _delivered_orders(app, shops.fr, ids, range(99, 100), returning=set())
    few = {resource: _queries(app, client, f"/s/fr/api/v1/{resource}?limit=100", access)[0]
           for resource in PLUGIN_RESOURCES}
    _delivered_orders(app, shops.fr, ids, range(100, 160), returning={130, 131})
    with as_tenant(app, shops.fr):
        for n in range(60):
            db.session.add(Subscriber(email=f"many{n}@fr.example", locale="fr",
                                      status="subscribed"))
        db.session.commit()
    for resource in PLUGIN_RESOURCES:
        many, body = _queries(app, client, f"/s/fr/api/v1/{resource}?limit=100", access)
        assert many == few[resource], (resource, few[resource], many)
    _, body = _queries(app, client, "/s/fr/api/v1/commissions?limit=100", access)
    assert len(body["data"]) == 62
    status = {item["order_reference"]: item["status"] for item in body["data"]}
    # Delivered two years ago: payable, unless a return is still under way.
    assert status["R-many-130"] == status["R-many-131"] == "pending"
    assert {status[f"R-many-{n}"] for n in range(100, 160) if n not in (130, 131)} \
        == {"payable"}


def test_affiliates_list_detail_and_filters(client, shops, token):
    ids, access = shops.ids["fr"], token("fr")
    status, body = _get(client, f"/s/fr/api/v1/affiliates/{ids['affiliates']}", access)
    assert status == 200 and body["code"] == "BLOG-FR" and body["kind"] == "affiliate"
    assert "payout_account" not in body
    _, active = _get(client, "/s/fr/api/v1/affiliates?active=true&kind=affiliate", access)
    assert [a["id"] for a in active["data"]] == [ids["affiliates"]]
    _, house = _get(client, "/s/fr/api/v1/affiliates?kind=house", access)
    assert house["data"] == []


def test_subscriber_shape_keeps_personal_data_to_what_a_crm_needs(app, client, shops, token):
    ids, access = shops.ids["fr"], token("fr")
    status, body = _get(client, f"/s/fr/api/v1/subscribers/{ids['subscribers']}", access)
    assert status == 200
    assert body["email"] == "reader@fr.example" and body["locale"] == "fr"
    assert body["status"] == "subscribed" and body["consent_version"] == "w1"
    assert body["consent_at"] == body["confirmed_at"] == "2026-01-01T00:05:00+00:00"
    assert body["themes"] == ["promotions", "events"] and body["suppressed"] is False
    for private in ("phone", "birthday", "ip", "user_agent", "tracking", "country"):
        assert private not in body
    assert "192.0.2.10" not in str(body) and "+33" not in str(body)
    with as_tenant(app, shops.fr):
        db.session.add(Suppression(email="reader@fr.example", reason="hard_bounce"))
        db.session.commit()
    _, found = _get(client, "/s/fr/api/v1/subscribers?email=READER@fr.example", access)
    assert [s["id"] for s in found["data"]] == [ids["subscribers"]]
    assert found["data"][0]["suppressed"] is True
    for query in ("status=unsubscribed", "email=nobody@fr.example",
                  "updated_since=2026-01-02T00:00:00Z"):
        assert _get(client, f"/s/fr/api/v1/subscribers?{query}", access)[1]["data"] == []


def test_etag_304_on_a_plugin_resource(client, shops, token):
    access = bearer(token("fr"))
    first = client.get("/s/fr/api/v1/subscribers", headers=access)
    again = client.get("/s/fr/api/v1/subscribers",
                       headers={**access, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


# --- scopes, shops without the plugin, other shops ------------------------------------------

@pytest.mark.parametrize("resource", PLUGIN_RESOURCES)
def test_missing_scope_is_403(app, client, shops, resource):
    limited = make_client(app, shops.fr, scopes=["orders:read"], name="Orders only")
    access = get_token(client, "fr", limited)
    for url in (f"/s/fr/api/v1/{resource}", f"/s/fr/api/v1/{resource}/{shops.ids['fr'][resource]}"):
        status, body = _get(client, url, access)
        assert status == 403 and body["error"]["code"] == "insufficient_scope"
        assert body["error"]["details"] == {"required_scope": PLUGIN_SCOPES[resource]}


def test_a_shop_without_the_plugin_answers_404_and_the_spec_still_documents_it(
        app, client, shops, make_tenant):
    de = make_tenant("de", name="Comptoir Deutschland", country="DE", locale="de_DE")
    creds = make_client(app, de)
    access = get_token(client, "de", creds)
    for resource in PLUGIN_RESOURCES:
        for url in (f"/s/de/api/v1/{resource}", f"/s/de/api/v1/{resource}/1"):
            status, body = _get(client, url, access)
            assert status == 404, url
            assert body["error"]["code"] == "not_found"
            assert body["error"]["details"] == {"plugin": OWNER[resource]}
            assert OWNER[resource] in body["error"]["message"]
        # no token at all: still a 404, the shop has no such resource
        assert client.get(f"/s/de/api/v1/{resource}").status_code == 404
    spec = client.get("/s/de/api/v1/openapi.json").get_json()
    for resource in PLUGIN_RESOURCES:
        for path in (f"/api/v1/{resource}", f"/api/v1/{resource}/{{item_id}}"):
            responses = spec["paths"][path]["get"]["responses"]
            assert "404" in responses and "plugin" in responses["404"]["description"], path
            assert spec["paths"][path]["get"]["security"] == [
                {"oauth2": [PLUGIN_SCOPES[resource]]}]


def test_turning_a_plugin_off_closes_its_routes_to_tokens_holding_the_scope(
        app, client, shops, token):
    access = token("fr")
    assert _get(client, "/s/fr/api/v1/approvals", access)[0] == 200
    with app.app_context():
        tenants.set_plugin_enabled(db.session.get(Tenant, shops.fr.id), "approvals", False)
        db.session.commit()
    status, body = _get(client, "/s/fr/api/v1/approvals", access)
    assert status == 404 and body["error"]["details"] == {"plugin": "approvals"}
    assert _get(client, "/s/fr/api/v1/subscribers", access)[0] == 200
    assert _get(client, "/s/gb/api/v1/approvals", token("gb"))[0] == 200


def test_a_second_shop_sees_nothing_of_the_first(app, client, shops, make_tenant):
    cz = make_tenant("cz", name="Comptoir Cesko", country="CZ", locale="cs_CZ",
                     currency="CZK", plugins=API_PLUGINS)
    access = get_token(client, "cz", make_client(app, cz))
    for resource in PLUGIN_RESOURCES:
        status, listing = _get(client, f"/s/cz/api/v1/{resource}", access)
        assert status == 200 and listing["data"] == [], resource
        for slug in ("fr", "gb"):
            their = shops.ids[slug][resource]
            status, body = _get(client, f"/s/cz/api/v1/{resource}/{their}", access)
            assert status == 404 and body["error"]["code"] == "not_found", resource
    # and gb's token on gb's host lists gb's rows only
    gb = get_token(client, "gb", shops.creds["gb"])
    for resource in PLUGIN_RESOURCES:
        listing = _get(client, f"/s/gb/api/v1/{resource}", gb)[1]
        assert [item["id"] for item in listing["data"]] == [shops.ids["gb"][resource]]
        assert "fr.example" not in str(listing) and "R-fr-1" not in str(listing)


def test_a_reseller_inherits_the_plugins_but_sees_only_its_own_rows(app, client, shops,
                                                                    make_tenant):
    """The office's plugins are the reseller's (so the routes answer), its rows are not: a
    reseller's token lists nothing of the office's, and the office's nothing of the
    reseller's; the office's token is worthless on the reseller's host."""
    acme = make_tenant("acme", name="ACME Informatique", parent="fr")
    acme_ids = seed_plugins(app, acme, "acme", seed(app, acme, "acme"))
    mine = get_token(client, "acme", make_client(app, acme))
    office = get_token(client, "fr", shops.creds["fr"])
    for resource in PLUGIN_RESOURCES:
        status, listing = _get(client, f"/s/acme/api/v1/{resource}", mine)
        assert status == 200, resource
        assert [item["id"] for item in listing["data"]] == [acme_ids[resource]], resource
        status, body = _get(client, f"/s/acme/api/v1/{resource}/{shops.ids['fr'][resource]}",
                            mine)
        assert status == 404 and body["error"]["code"] == "not_found", resource
        listing = _get(client, f"/s/fr/api/v1/{resource}", office)[1]
        assert acme_ids[resource] not in [item["id"] for item in listing["data"]], resource
        assert _get(client, f"/s/acme/api/v1/{resource}", office)[0] == 401


@pytest.mark.parametrize(("resource", "query", "field"), [
    ("approvals", "status=lost", "status"),
    ("approvals", "company_id=abc", "company_id"),
    ("approvals", "order_id=0", "order_id"),
    ("approvals", "updated_since=yesterday", "updated_since"),
    ("affiliates", "kind=cousin", "kind"),
    ("affiliates", "active=maybe", "active"),
    ("affiliates", "updated_since=2026-01-01T00:00:00Z", "updated_since"),
    ("commissions", "kind=bonus", "kind"),
    ("commissions", "affiliate_id=-1", "affiliate_id"),
    ("commissions", "limit=101", "limit"),
    ("subscribers", "status=gone", "status"),
    ("subscribers", "email=", "email"),
    ("subscribers", "colour=red", "colour"),
])
def test_bad_query_parameters_are_400_naming_them(client, shops, token, resource, query,
                                                  field):
    status, body = _get(client, f"/s/fr/api/v1/{resource}?{query}", token("fr"))
    assert status == 400
    assert body["error"]["code"] == "invalid_parameters" and field in body["error"]["details"]
    assert field in body["error"]["message"]


# --- scopes exist only with their plugin ------------------------------------------------------

def test_plugin_scopes_follow_the_core_s_in_the_spec_and_the_token_endpoint(app, client,
                                                                            shops):
    with app.app_context():
        scopes = list(service.all_scopes())
    assert scopes[:len(service.SCOPES)] == list(service.SCOPES)
    assert set(scopes[len(service.SCOPES):]) == set(PLUGIN_SCOPES.values())
    spec = client.get("/s/fr/api/v1/openapi.json").get_json()
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    for flow in flows.values():
        assert set(PLUGIN_SCOPES.values()) <= set(flow["scopes"])
    granted = client.post("/s/fr/api/v1/oauth/token",
                          data={"grant_type": "client_credentials",
                                "scope": "approvals:read subscribers:read"},
                          headers=basic(shops.creds["fr"].client_id, shops.creds["fr"].secret))
    assert granted.status_code == 200
    assert granted.get_json()["scope"] == "approvals:read subscribers:read"
    unknown = client.post("/s/fr/api/v1/oauth/token",
                          data={"grant_type": "client_credentials", "scope": "payouts:write"},
                          headers=basic(shops.creds["fr"].client_id, shops.creds["fr"].secret))
    assert unknown.status_code == 400 and unknown.get_json()["error"] == "invalid_scope"


def test_a_shop_cannot_grant_the_scope_of_a_plugin_it_did_not_enable(app, make_tenant):
    de = make_tenant("de", plugins=("newsletters",))
    with as_tenant(app, de):
        with pytest.raises(service.ApiClientError, match="approvals:read"):
            service.create_client("ERP", ["subscribers:read", "approvals:read"],
                                  created_by="test")
        with pytest.raises(service.ApiClientError, match="bogus:read"):
            service.create_client("ERP", ["bogus:read"], created_by="test")
        assert service.list_clients() == []
        made = service.create_client("CRM", ["subscribers:read"], created_by="test")
        assert made.client.scopes == "subscribers:read"
        db.session.rollback()


def said_by_plugin(app, package: str, locale: str, msgid: str) -> str:
    """``msgid`` as the plugin ``package`` says it in ``locale``, HTML-escaped as on a page."""
    from flask_babel import force_locale
    from markupsafe import escape

    from comptoir.core.i18n import plugin_translations

    with app.test_request_context(), force_locale(locale):
        return str(escape(plugin_translations(package).gettext(msgid)))


def test_the_admin_page_offers_a_plugin_s_scope_only_where_it_is_enabled(app, make_tenant):
    fr = make_tenant("fr", plugins=("approvals",))
    de = make_tenant("de")
    for tenant in (fr, de):
        with as_tenant(app, tenant):
            user = User(email=f"admin@{tenant.slug}.example", name="Admin", role="tenant_admin")
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
    pages = {}
    for slug in ("fr", "de"):
        http = app.test_client()
        assert http.post(f"/s/{slug}/login", data={"email": f"admin@{slug}.example",
                                                   "password": PASSWORD}).status_code == 302
        pages[slug] = (http, http.get(f"/s/{slug}/settings/api-clients").get_data(as_text=True))
    # The plugin's scope reads in the shop's language, from the plugin's own catalogue.
    label = said_by_plugin(app, "plugins.approvals", "fr_FR",
                           "Read approval requests of held orders")
    assert 'value="approvals:read"' in pages["fr"][1] and 'value="subscribers:read"' not in \
        pages["fr"][1]
    assert 'value="approvals:read"' not in pages["de"][1]
    assert label in pages["fr"][1]
    http = pages["de"][0]
    refused = http.post("/s/de/settings/api-clients",
                        data={"name": "ERP", "scope": ["orders:read", "approvals:read"]})
    assert refused.status_code == 400
    assert translated(app, "fr_FR", "These scopes belong to plugins this shop has not "
                      "enabled: %(scopes)s.", scopes="approvals:read") in refused.get_data(
                          as_text=True)
    with as_tenant(app, de):
        assert service.list_clients() == []


# --- start-up refuses a plugin whose resources are wrong ------------------------------------

@pytest.mark.parametrize(("mode", "message"), [
    ("undeclared", "requires 'things:read', which its comptoir_api_resources does not declare"),
    ("core_scope", "scope 'orders:read' is already declared by the core"),
    ("not_resources", "must return an ApiResources"),
])
def test_start_up_refuses_wrong_api_resources(app_factory, monkeypatch, mode, message):
    from tests.api import broken_api_plugin

    monkeypatch.setattr(broken_api_plugin, "MODE", mode)
    with pytest.raises(PluginError, match="broken_api") as refused:
        app_factory(PLUGINS="tests.api.broken_api_plugin")
    assert message in str(refused.value)


def test_the_cli_grants_a_plugin_s_scope_only_where_it_is_enabled(app, make_tenant):
    make_tenant("fr", plugins=("approvals",))
    make_tenant("de")
    runner = app.test_cli_runner()
    made = runner.invoke(args=["api", "clients", "create", "fr", "ERP", "--scope",
                               "approvals:read", "--scope", "orders:read"])
    assert made.exit_code == 0, made.output
    assert "approvals:read orders:read" in made.output
    refused = runner.invoke(args=["api", "clients", "create", "de", "ERP", "--scope",
                                  "approvals:read"])
    assert refused.exit_code != 0 and "approvals:read" in refused.output
    assert "not enabled" in refused.output
    assert "ERP" not in runner.invoke(args=["api", "clients", "list", "de"]).output
