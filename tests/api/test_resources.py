"""The resources: shapes, pagination, filtering, ETags, errors, and THE PROBE."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import bearer
from tests.api.plugin_data import PLUGIN_RESOURCES

#: The core's resources, then those the plugins enabled on both shops serve (plugin_data).
RESOURCES = ("products", "stock", "customers", "companies", "orders", "quotes",
             "returns") + PLUGIN_RESOURCES


def _api_routes(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/api/v1/")})


def test_the_probe_every_detail_route_with_another_tenants_ids_is_404(app, client, shops, token):
    """Tenant fr's token on fr's host, asking for gb's ids: 404 everywhere, on every route.

    A new route fails this test until it is listed here: it must be probed."""
    known = {"/api/v1/oauth/token", "/api/v1/oauth/revoke", "/api/v1/openapi.json"}
    # The consent page: another shop's client_id there is a 400 page, probed in
    # test_authorization_code.py (test_client_of_another_shop_or_unknown_is_a_400_page).
    known.add("/api/v1/oauth/authorize")
    known |= {f"/api/v1/{r}" for r in RESOURCES}
    details = {f"/api/v1/{r}/<int(max=2147483647):item_id>": r for r in RESOURCES}
    unprobed = set(_api_routes(app)) - known - set(details)
    assert not unprobed, f"API routes the probe does not cover: {unprobed}"
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule.split("/")[3] in RESOURCES:
            view = app.view_functions[rule.endpoint].view_class.get
            assert getattr(view, "_api_scope", None), f"{rule.rule} declares no scope"
    access = bearer(token("fr"))
    for rule, resource in details.items():
        assert rule in _api_routes(app)
        theirs = shops.ids["gb"][resource]
        ours = shops.ids["fr"][resource]
        own = client.get(f"/s/fr/api/v1/{resource}/{ours}", headers=access)
        assert own.status_code == 200, (resource, own.get_data(as_text=True))
        for other_id in {theirs, ours + 1000}:
            if other_id == ours:
                continue
            response = client.get(f"/s/fr/api/v1/{resource}/{other_id}", headers=access)
            assert response.status_code == 404, (resource, other_id)
            assert response.get_json()["error"]["code"] == "not_found"
        listing = client.get(f"/s/fr/api/v1/{resource}", headers=access).get_json()
        assert theirs not in {item["id"] for item in listing["data"]} or theirs == ours
        # gb's ids collide with fr's (both start at 1): make sure nothing of gb shows.
        text = str(listing)
        assert "gb" not in re.sub(r"http://[^ ']+", "", text).lower(), resource


def test_product_shape_with_variants_and_decimal_prices(client, shops, token):
    body = client.get(f"/s/fr/api/v1/products/{shops.ids['fr']['products']}",
                      headers=bearer(token("fr"))).get_json()
    assert body["price"] == "1234.50" and body["currency"] == "EUR"
    prices = {v["sku"]: v["price"] for v in body["variants"]}
    assert prices == {"PC-fr-FR": "1234.50", "PC-fr-DE": "1299.00"}
    gb = client.get("/s/gb/api/v1/products", headers=bearer(token("gb"))).get_json()
    assert {p["currency"] for p in gb["data"]} == {"GBP"}


def test_customers_never_show_a_password_hash(client, shops, token):
    body = client.get("/s/fr/api/v1/customers", headers=bearer(token("fr"))).get_json()
    assert body["data"] and all("password" not in str(key) for c in body["data"] for key in c)
    assert body["data"][0]["company_id"] == shops.ids["fr"]["companies"]


def test_order_shape(client, shops, token):
    body = client.get(f"/s/fr/api/v1/orders/{shops.ids['fr']['orders']}",
                      headers=bearer(token("fr"))).get_json()
    assert body["total_gross"] == "1481.40" and body["status"] == "delivered"
    assert body["expected_delivery"] == "2026-11-30"
    assert body["lines"][0]["vat_rate"] == "20.00"
    assert body["discounts"][0]["label"] == "WELCOME"
    assert body["updated_at"].startswith("2026-01-02")


def test_pagination_follows_next_links(client, shops, token):
    access = bearer(token("fr"))
    seen, url = [], "/s/fr/api/v1/products?limit=2"
    while url:
        body = client.get(url, headers=access).get_json()
        assert len(body["data"]) <= 2
        seen += [p["id"] for p in body["data"]]
        url = body["next"]
    assert len(seen) == 4 and seen == sorted(seen)


def test_updated_since_and_status_filter(client, shops, token):
    access = bearer(token("fr"))
    recent = client.get("/s/fr/api/v1/orders?updated_since=2026-01-01T12:00:00Z", headers=access)
    assert [o["id"] for o in recent.get_json()["data"]] == [shops.ids["fr"]["orders"]]
    later = client.get("/s/fr/api/v1/orders?updated_since=2026-06-01T00:00:00%2B02:00",
                       headers=access)
    assert later.get_json()["data"] == []
    placed = client.get("/s/fr/api/v1/orders?status=placed", headers=access).get_json()
    assert placed["data"] == []


def test_etag_304(client, shops, token):
    access = bearer(token("fr"))
    for url in ("/s/fr/api/v1/orders", f"/s/fr/api/v1/orders/{shops.ids['fr']['orders']}"):
        first = client.get(url, headers=access)
        etag = first.headers["ETag"]
        again = client.get(url, headers={**access, "If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
        other = client.get(url, headers={**access, "If-None-Match": '"stale"'})
        assert other.status_code == 200


@pytest.mark.parametrize(("query", "field"), [
    ("limit=abc", "limit"), ("limit=0", "limit"), ("limit=101", "limit"),
    ("cursor=-1", "cursor"), ("updated_since=yesterday", "updated_since"),
    ("status=lost", "status"), ("colour=red", "colour"),
])
def test_bad_query_parameters_are_400_naming_them(client, shops, token, query, field):
    response = client.get(f"/s/fr/api/v1/orders?{query}", headers=bearer(token("fr")))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameters" and field in error["details"]
    assert field in error["message"]


def test_unknown_parameter_on_a_detail_and_on_a_resource_without_timestamps(client, shops,
                                                                            token):
    access = bearer(token("fr"))
    detail = client.get(f"/s/fr/api/v1/orders/{shops.ids['fr']['orders']}?x=1", headers=access)
    assert detail.status_code == 400 and "x" in detail.get_json()["error"]["details"]
    no_sync = client.get("/s/fr/api/v1/products?updated_since=2026-01-01T00:00:00Z",
                         headers=access)
    assert no_sync.status_code == 400


def test_errors_share_one_shape(client, shops, token):
    access = bearer(token("fr"))
    for method, url, status in [("get", "/s/fr/api/v1/nothing", 404),
                                ("post", "/s/fr/api/v1/orders", 405),
                                ("delete", "/s/fr/api/v1/orders/1", 405)]:
        response = getattr(client, method)(url, headers=access)
        assert response.status_code == status
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "status", "details"} and error["status"] == status
    big = client.post("/s/fr/api/v1/orders", headers=access, data="x" * 70_000,
                      content_type="application/json")
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "payload_too_large"


def test_openapi_document_names_this_shop(client, shops):
    spec = client.get("/s/fr/api/v1/openapi.json").get_json()
    assert spec["servers"][0]["url"] == "http://localhost/s/fr"
    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "http://localhost/s/fr/api/v1/oauth/token"
    assert "orders:read" in flow["scopes"]
    for path, operations in spec["paths"].items():
        responses = operations["get"]["responses"]
        assert {"200", "400", "401", "403"} <= set(responses), path
        assert operations["get"]["tags"][0] in RESOURCES
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"].endswith("ErrorDetail")
