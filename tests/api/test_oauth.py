"""Token issuance, expiry, revocation and the binding of a token to its tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from comptoir.api import service
from comptoir.api.models import ApiToken
from comptoir.core.db import db
from tests.api.conftest import basic, bearer, make_client
from tests.conftest import as_tenant


def _tokens(app, tenant) -> int:
    with as_tenant(app, tenant):
        return db.session.scalar(select(func.count()).select_from(ApiToken))


def _post(client, slug, creds, **data):
    data.setdefault("grant_type", "client_credentials")
    return client.post(f"/s/{slug}/api/v1/oauth/token", data=data,
                       headers=basic(creds.client_id, creds.secret))


def test_good_credentials_get_a_token_stored_as_a_digest(app, client, shops):
    response = _post(client, "fr", shops.creds["fr"], scope="orders:read")
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["scope"] == "orders:read"
    assert body["expires_in"] == 3600
    with as_tenant(app, shops.fr):
        stored = db.session.scalars(select(ApiToken)).all()
        assert len(stored) == 1 and body["access_token"] not in stored[0].token_digest
    orders = client.get("/s/fr/api/v1/orders", headers=bearer(body["access_token"]))
    assert orders.status_code == 200


def test_secret_in_the_form_body_works_too(client, shops):
    creds = shops.creds["fr"]
    response = client.post("/s/fr/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": creds.client_id,
        "client_secret": creds.secret})
    assert response.status_code == 200


def test_bad_secret_unknown_client_and_revoked_client_are_401(app, client, shops):
    creds = shops.creds["fr"]
    bad = _post(client, "fr", type(creds)(client_id=creds.client_id, secret="nope"))
    assert bad.status_code == 401 and bad.get_json()["error"] == "invalid_client"
    unknown = _post(client, "fr", type(creds)(client_id="cpt_nobody", secret="x"))
    assert unknown.status_code == 401 and unknown.get_json()["error"] == "invalid_client"
    with as_tenant(app, shops.fr):
        service.revoke_client(creds.client_id)
        db.session.commit()
    revoked = _post(client, "fr", creds)
    assert revoked.status_code in (400, 401)
    assert revoked.get_json()["error"] in ("unauthorized_client", "invalid_client")
    assert _tokens(app, shops.fr) == 0


def test_wrong_grant_and_scope_not_allowed_change_nothing(app, client, shops):
    wrong = _post(client, "fr", shops.creds["fr"], grant_type="password")
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "unsupported_grant_type"
    limited = make_client(app, shops.fr, scopes=["catalog:read"], name="Catalogue only")
    refused = _post(client, "fr", limited, scope="orders:read")
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_scope"
    unknown = _post(client, "fr", limited, scope="admin:all")
    assert unknown.status_code == 400 and unknown.get_json()["error"] == "invalid_scope"
    assert _tokens(app, shops.fr) == 0


def test_client_of_one_shop_cannot_get_a_token_from_another(app, client, shops):
    response = _post(client, "gb", shops.creds["fr"])
    assert response.status_code == 401
    assert _tokens(app, shops.gb) == 0


def test_malformed_json_and_oversized_bodies_on_the_token_endpoint(app, client, shops):
    creds = shops.creds["fr"]
    as_json = client.post("/s/fr/api/v1/oauth/token", data="{not json",
                          content_type="application/json", headers=basic(creds.client_id,
                                                                          creds.secret))
    assert as_json.status_code == 400
    assert "x-www-form-urlencoded" in as_json.get_json()["error_description"]
    huge = client.post("/s/fr/api/v1/oauth/token",
                       data={"grant_type": "client_credentials", "pad": "x" * 100_000},
                       headers=basic(creds.client_id, creds.secret))
    assert huge.status_code == 413
    in_url = client.post(f"/s/fr/api/v1/oauth/token?client_secret={creds.secret}",
                         data={"grant_type": "client_credentials"})
    assert in_url.status_code == 400 and "client_secret" in in_url.get_json()["error_description"]
    assert _tokens(app, shops.fr) == 0


def test_token_endpoint_answers_post_only(client, shops):
    response = client.get("/s/fr/api/v1/oauth/token")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_expired_token_is_401(app, client, shops, token):
    access = token("fr")
    with as_tenant(app, shops.fr):
        row = db.session.scalars(select(ApiToken)).one()
        row.issued_at = datetime.now(UTC) - timedelta(seconds=3601)
        db.session.commit()
    response = client.get("/s/fr/api/v1/orders", headers=bearer(access))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_revoked_token_and_revoked_client_tokens_are_401(app, client, shops, token):
    access = token("fr")
    creds = shops.creds["fr"]
    revoked = client.post("/s/fr/api/v1/oauth/revoke", data={"token": access},
                          headers=basic(creds.client_id, creds.secret))
    assert revoked.status_code == 200
    replay = client.get("/s/fr/api/v1/orders", headers=bearer(access))
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "invalid_token"
    second = token("fr")
    assert client.get("/s/fr/api/v1/orders", headers=bearer(second)).status_code == 200
    with as_tenant(app, shops.fr):
        service.revoke_client(creds.client_id)
        db.session.commit()
    assert client.get("/s/fr/api/v1/orders", headers=bearer(second)).status_code == 401


def test_tenant_a_token_on_tenant_b_host_is_invalid(client, shops, token):
    access = token("fr")
    response = client.get("/s/gb/api/v1/orders", headers=bearer(access))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_missing_or_garbage_token_is_401(client, shops):
    missing = client.get("/s/fr/api/v1/orders")
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "missing_token"
    garbage = client.get("/s/fr/api/v1/orders", headers=bearer("garbage"))
    assert garbage.status_code == 401 and garbage.get_json()["error"]["code"] == "invalid_token"


def test_missing_scope_is_403(client, shops, token):
    access = token("fr", scope="catalog:read")
    response = client.get("/s/fr/api/v1/orders", headers=bearer(access))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error == {"code": "insufficient_scope", "status": 403,
                     "message": "This token lacks the scope 'orders:read'.",
                     "details": {"required_scope": "orders:read"}}
    assert client.get("/s/fr/api/v1/products", headers=bearer(access)).status_code == 200


def test_api_on_the_platform_host_names_no_shop(client):
    response = client.get("/api/v1/orders")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
