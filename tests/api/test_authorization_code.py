"""The authorization-code grant with PKCE: a tenant admin consents, the client redeems the
code once with its verifier, refreshes by rotation; and everything it must refuse."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select, update

from comptoir.api import service
from comptoir.api.models import ApiAuthorizationCode, ApiClient, ApiToken
from comptoir.core.db import db
from comptoir.customers.models import User
from tests.api.conftest import ALL_SCOPES, PASSWORD, basic, bearer
from tests.conftest import as_tenant, translated

REDIRECT = "https://erp.example/oauth/callback"
NATIVE = "http://127.0.0.1:8765/callback"


# --- helpers ---------------------------------------------------------------------------------

def pkce() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge) pair, computed here as RFC 7636 4.2 says."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def register(app, tenant, *, public=False, scopes=ALL_SCOPES, uris=(REDIRECT,), name="ERP"):
    with as_tenant(app, tenant):
        new = service.create_client(name, scopes, created_by="test", redirect_uris=uris,
                                    public=public)
        db.session.commit()
        return SimpleNamespace(client_id=new.client.client_id, secret=new.secret,
                               redirect_uri=uris[0] if uris else None)


def add_user(app, tenant, email, role="tenant_admin") -> int:
    with as_tenant(app, tenant):
        user = User(email=email, name="Someone", role=role)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user.id


def login(app, slug, email):
    http = app.test_client()
    response = http.post(f"/s/{slug}/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return http


def authorize_path(slug, client, challenge, *, state="xyz-42", scope="orders:read",
                   method="S256", **extra) -> str:
    params = {"response_type": "code", "client_id": client.client_id,
              "redirect_uri": client.redirect_uri, "scope": scope, "state": state,
              "code_challenge": challenge, "code_challenge_method": method, **extra}
    params = {k: v for k, v in params.items() if v is not None}
    return f"/s/{slug}/api/v1/oauth/authorize?" + urlencode(params)


def callback(response) -> dict[str, str]:
    """The query of the redirect to the client, which must be its registered URI."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" in (REDIRECT, NATIVE), location
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def get_code(http, slug, client, challenge, **kwargs) -> str:
    path = authorize_path(slug, client, challenge, **kwargs)
    page = http.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    answer = callback(http.post(path, data={"decision": "allow"}))
    assert answer["state"] == kwargs.get("state", "xyz-42")
    return answer["code"]


def redeem(http, slug, client, code, verifier, *, redirect_uri=None):
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": redirect_uri or client.redirect_uri}
    headers = {}
    if client.secret:
        headers = basic(client.client_id, client.secret)
    else:
        data["client_id"] = client.client_id
    return http.post(f"/s/{slug}/api/v1/oauth/token", data=data, headers=headers)


def refresh(http, slug, client, refresh_token):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers = {}
    if client.secret:
        headers = basic(client.client_id, client.secret)
    else:
        data["client_id"] = client.client_id
    return http.post(f"/s/{slug}/api/v1/oauth/token", data=data, headers=headers)


def count(app, tenant, model) -> int:
    with as_tenant(app, tenant):
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin(app, shops):
    """The French shop's admin, logged in (and the British shop's, for isolation tests)."""
    ids = {"fr": add_user(app, shops.fr, "admin@fr.example"),
           "gb": add_user(app, shops.gb, "admin@gb.example")}
    return SimpleNamespace(http=login(app, "fr", "admin@fr.example"), ids=ids)


# --- the journey -----------------------------------------------------------------------------

def test_confidential_client_full_flow_reads_orders_of_its_shop_only(app, shops, admin):
    client = register(app, shops.fr, scopes=["orders:read", "catalog:read"])
    verifier, challenge = pkce()
    path = authorize_path("fr", client, challenge, scope="orders:read")
    page = admin.http.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert translated(app, "fr_FR", "Authorize %(name)s", name="ERP") in html
    assert translated(app, "fr_FR", "Read orders") in html
    assert 'data-scope="orders:read"' in html and 'data-scope="catalog:read"' not in html
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "Comptoir France" in html  # the shop's own page (theme base, co-branded)

    answer = callback(admin.http.post(path, data={"decision": "allow"}))
    assert answer["state"] == "xyz-42" and answer["code"]
    http = app.test_client()
    response = redeem(http, "fr", client, answer["code"], verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["scope"] == "orders:read"
    assert body["expires_in"] == 3600 and body["refresh_token"]

    orders = http.get("/s/fr/api/v1/orders", headers=bearer(body["access_token"]))
    assert orders.status_code == 200
    references = [o["reference"] for o in orders.get_json()["data"]]
    assert references == ["R-fr-1"]
    # The grant covers what the admin saw, nothing more.
    assert http.get("/s/fr/api/v1/products",
                    headers=bearer(body["access_token"])).status_code == 403
    # Tenant B's host knows nothing of the token.
    assert http.get("/s/gb/api/v1/orders",
                    headers=bearer(body["access_token"])).status_code == 401

    with as_tenant(app, shops.fr):
        token = db.session.scalars(select(ApiToken).where(ApiToken.code_pk.is_not(None))).one()
        assert token.user_id == admin.ids["fr"]
        assert body["access_token"] not in token.token_digest
        assert body["refresh_token"] not in (token.refresh_digest or "")
        code = db.session.scalars(select(ApiAuthorizationCode)).one()
        assert code.used_at is not None and answer["code"] not in code.code_digest
        assert (code.redirect_uri, code.code_challenge_method) == (REDIRECT, "S256")
    # The second shop holds none of it.
    assert count(app, shops.gb, ApiAuthorizationCode) == 0
    with as_tenant(app, shops.gb):
        assert db.session.scalar(select(func.count()).select_from(ApiToken)
                                 .where(ApiToken.user_id.is_not(None))) == 0


def test_public_client_flow_and_refresh_token_rotation(app, shops, admin):
    client = register(app, shops.fr, public=True, uris=(NATIVE,), name="Desk tool")
    assert client.secret is None
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge, scope="orders:read stock:read")
    http = app.test_client()
    first = redeem(http, "fr", client, code, verifier)
    assert first.status_code == 200, first.get_data(as_text=True)
    pair = first.get_json()
    assert set(pair["scope"].split()) == {"orders:read", "stock:read"}
    assert http.get("/s/fr/api/v1/stock", headers=bearer(pair["access_token"])).status_code \
        == 200

    rotated = refresh(http, "fr", client, pair["refresh_token"])
    assert rotated.status_code == 200, rotated.get_data(as_text=True)
    new = rotated.get_json()
    assert new["refresh_token"] != pair["refresh_token"]
    assert new["access_token"] != pair["access_token"]
    assert http.get("/s/fr/api/v1/orders", headers=bearer(new["access_token"])).status_code \
        == 200
    # The spent pair is over.
    assert http.get("/s/fr/api/v1/orders", headers=bearer(pair["access_token"])).status_code \
        == 401
    # Presenting the spent refresh token again: someone has a copy, so the whole grant ends.
    reused = refresh(http, "fr", client, pair["refresh_token"])
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"
    assert http.get("/s/fr/api/v1/orders", headers=bearer(new["access_token"])).status_code \
        == 401
    assert refresh(http, "fr", client, new["refresh_token"]).get_json()["error"] \
        == "invalid_grant"
    # A refresh token of this shop means nothing on another.
    assert refresh(http, "gb", client, new["refresh_token"]).status_code in (400, 401)


def test_refresh_may_narrow_scope_but_never_widen_it(app, shops, admin):
    client = register(app, shops.fr)
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge, scope="orders:read")
    pair = redeem(app.test_client(), "fr", client, code, verifier).get_json()
    wider = app.test_client().post("/s/fr/api/v1/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": pair["refresh_token"],
        "scope": "orders:read customers:read"}, headers=basic(client.client_id, client.secret))
    assert wider.status_code == 400 and wider.get_json()["error"] == "invalid_scope"
    # Refused before anything was spent: the refresh token still works.
    assert refresh(app.test_client(), "fr", client, pair["refresh_token"]).status_code == 200


def test_public_client_cannot_use_client_credentials_nor_a_confidential_one_skip_its_secret(
        app, shops, admin):
    public = register(app, shops.fr, public=True, uris=(NATIVE,))
    http = app.test_client()
    refused = http.post("/s/fr/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": public.client_id})
    assert refused.status_code in (400, 401)
    assert refused.get_json()["error"] == "invalid_client"
    confidential = register(app, shops.fr)
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", confidential, challenge)
    no_secret = http.post("/s/fr/api/v1/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT, "client_id": confidential.client_id})
    assert no_secret.status_code in (400, 401)
    assert no_secret.get_json()["error"] == "invalid_client"
    # The code was not spent by the refused attempt.
    assert redeem(http, "fr", confidential, code, verifier).status_code == 200


# --- the token endpoint refuses -------------------------------------------------------------

def test_wrong_or_missing_verifier_is_invalid_grant_and_issues_nothing(app, shops, admin):
    client = register(app, shops.fr, public=True, uris=(NATIVE,))
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge)
    before = count(app, shops.fr, ApiToken)
    other, _ = pkce()
    wrong = redeem(app.test_client(), "fr", client, code, other)
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    missing = app.test_client().post("/s/fr/api/v1/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": NATIVE,
        "client_id": client.client_id})
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"
    assert "code_verifier" in missing.get_json()["error_description"]
    assert count(app, shops.fr, ApiToken) == before


def test_replayed_code_is_refused_and_revokes_the_tokens_issued_from_it(app, shops, admin):
    client = register(app, shops.fr)
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge)
    http = app.test_client()
    first = redeem(http, "fr", client, code, verifier).get_json()
    assert http.get("/s/fr/api/v1/orders", headers=bearer(first["access_token"])).status_code \
        == 200
    again = redeem(http, "fr", client, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert "already used" in again.get_json()["error_description"]
    assert http.get("/s/fr/api/v1/orders", headers=bearer(first["access_token"])).status_code \
        == 401
    assert refresh(http, "fr", client, first["refresh_token"]).get_json()["error"] \
        == "invalid_grant"
    # Client-credentials tokens of the same client are not part of that grant.
    machine = http.post("/s/fr/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                        headers=basic(client.client_id, client.secret)).get_json()
    assert "refresh_token" not in machine  # client credentials never get one
    redeem(http, "fr", client, code, verifier)
    assert http.get("/s/fr/api/v1/orders",
                    headers=bearer(machine["access_token"])).status_code == 200


def test_expired_code_is_invalid_grant(app, shops, admin):
    client = register(app, shops.fr)
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge)
    with as_tenant(app, shops.fr):
        issued = db.session.scalars(select(ApiAuthorizationCode)).one()
        assert timedelta(minutes=9) < (issued.expires_at.replace(tzinfo=UTC)
                                       - datetime.now(UTC)) <= timedelta(minutes=10)
        db.session.execute(update(ApiAuthorizationCode).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
    response = redeem(app.test_client(), "fr", client, code, verifier)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert "expired" in response.get_json()["error_description"]
    assert count(app, shops.fr, ApiToken) == 0


def test_code_of_one_shop_is_worthless_on_another(app, shops, admin):
    fr_client = register(app, shops.fr)
    gb_client = register(app, shops.gb)
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", fr_client, challenge)
    http = app.test_client()
    # The French client does not exist on the British shop...
    foreign = redeem(http, "gb", fr_client, code, verifier)
    assert foreign.status_code == 401 and foreign.get_json()["error"] == "invalid_client"
    # ...and the British shop's own client cannot redeem a French code.
    stolen = redeem(http, "gb", gb_client, code, verifier)
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
    assert count(app, shops.gb, ApiToken) == 0
    # Nothing was spent: the rightful client still redeems it on its shop.
    assert redeem(http, "fr", fr_client, code, verifier).status_code == 200


def test_the_office_s_grant_means_nothing_on_its_reseller(app, shops, admin, make_tenant):
    """A reseller inherits its office's plugins and catalogue, never its API clients, codes,
    tokens or admins: each is unknown on the reseller's host."""
    acme = make_tenant("acme", name="ACME Informatique", parent="fr")
    client = register(app, shops.fr)
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge)
    http = app.test_client()
    assert redeem(http, "acme", client, code, verifier).get_json()["error"] == "invalid_client"
    acme_client = register(app, acme)
    stolen = redeem(http, "acme", acme_client, code, verifier)
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
    pair = redeem(http, "fr", client, code, verifier).get_json()
    assert refresh(http, "acme", acme_client, pair["refresh_token"]).get_json()["error"] \
        == "invalid_grant"
    assert http.get("/s/acme/api/v1/orders",
                    headers=bearer(pair["access_token"])).status_code == 401
    # The office's admin is nobody on the reseller's consent page (her login there fails).
    _, other = pkce()
    assert admin.http.get(authorize_path("acme", acme_client, other)).status_code == 302
    assert count(app, acme, ApiToken) == 0 and count(app, acme, ApiAuthorizationCode) == 0
    # The office's own grant still works: nothing above spent it.
    assert refresh(http, "fr", client, pair["refresh_token"]).status_code == 200


def test_redirect_uri_must_be_the_one_of_the_authorization(app, shops, admin):
    client = register(app, shops.fr, uris=(REDIRECT, "https://erp.example/other"))
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge)
    response = redeem(app.test_client(), "fr", client, code, verifier,
                      redirect_uri="https://erp.example/other")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert count(app, shops.fr, ApiToken) == 0


def test_code_parameters_in_the_url_are_refused(app, shops, admin):
    client = register(app, shops.fr)
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge)
    response = app.test_client().post(
        "/s/fr/api/v1/oauth/token?" + urlencode({"code": code, "code_verifier": verifier}),
        data={"grant_type": "authorization_code", "redirect_uri": REDIRECT},
        headers=basic(client.client_id, client.secret))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert "code, code_verifier" in response.get_json()["error_description"]
    assert redeem(app.test_client(), "fr", client, code, verifier).status_code == 200


# --- the authorization endpoint refuses ------------------------------------------------------

@pytest.mark.parametrize("method, expected", [
    (None, "S256"),        # no method means "plain" (RFC 7636 4.3): refused
    ("plain", "S256"),
])
def test_pkce_plain_or_unnamed_method_is_refused_with_a_redirect(app, shops, admin, method,
                                                                 expected):
    client = register(app, shops.fr)
    _, challenge = pkce()
    path = authorize_path("fr", client, challenge, method=method)
    answer = callback(admin.http.get(path))
    assert answer["error"] == "invalid_request" and expected in answer["error_description"]
    assert answer["state"] == "xyz-42" and "code" not in answer
    assert callback(admin.http.post(path, data={"decision": "allow"}))["error"] \
        == "invalid_request"
    assert count(app, shops.fr, ApiAuthorizationCode) == 0


def test_missing_code_challenge_is_refused_with_a_redirect(app, shops, admin):
    client = register(app, shops.fr)
    path = authorize_path("fr", client, None)
    answer = callback(admin.http.get(path))
    assert answer["error"] == "invalid_request" and "PKCE" in answer["error_description"]
    assert answer["state"] == "xyz-42"
    assert count(app, shops.fr, ApiAuthorizationCode) == 0


def test_scope_outside_the_client_s_is_invalid_scope(app, shops, admin):
    client = register(app, shops.fr, scopes=["catalog:read"])
    _, challenge = pkce()
    for scope in ("orders:read", "catalog:read admin:all"):
        answer = callback(admin.http.get(authorize_path("fr", client, challenge, scope=scope)))
        assert answer["error"] == "invalid_scope" and answer["state"] == "xyz-42"
    assert count(app, shops.fr, ApiAuthorizationCode) == 0


def test_blank_scope_is_the_client_s_scopes_shown_on_the_consent_page(app, shops, admin):
    """``scope=%20`` once showed an empty consent page, and the token then got every scope
    of the client: what the admin sees must be what the token carries."""
    client = register(app, shops.fr, scopes=["orders:read", "customers:read"])
    for blank in (" ", None):
        verifier, challenge = pkce()
        path = authorize_path("fr", client, challenge, scope=blank)
        html = admin.http.get(path).get_data(as_text=True)
        shown = set(re.findall(r'data-scope="([^"]+)"', html))
        assert shown == {"orders:read", "customers:read"}, blank
        answer = callback(admin.http.post(path, data={"decision": "allow"}))
        pair = redeem(app.test_client(), "fr", client, answer["code"], verifier).get_json()
        assert set(pair["scope"].split()) == shown


def test_denial_sends_access_denied_with_state(app, shops, admin):
    client = register(app, shops.fr)
    _, challenge = pkce()
    path = authorize_path("fr", client, challenge, state="st@te/1")
    answer = callback(admin.http.post(path, data={"decision": "deny"}))
    assert answer["error"] == "access_denied" and answer["state"] == "st@te/1"
    assert "code" not in answer
    assert count(app, shops.fr, ApiAuthorizationCode) == 0


def test_unknown_or_unregistered_redirect_uri_is_a_page_never_a_redirect(app, shops, admin):
    client = register(app, shops.fr)
    _, challenge = pkce()
    cases = {
        "https://evil.example/cb": "The redirect_uri %(uri)s is not registered for %(name)s "
                                   "(it must match a registered URI exactly).",
        REDIRECT + "/": "The redirect_uri %(uri)s is not registered for %(name)s "
                        "(it must match a registered URI exactly).",
    }
    for uri, message in cases.items():
        path = authorize_path("fr", client, challenge, redirect_uri=uri)
        for response in (admin.http.get(path), admin.http.post(path, data={"decision": "allow"})):
            assert response.status_code == 400 and "Location" not in response.headers
            assert translated(app, "fr_FR", message, uri=uri, name="ERP") \
                in response.get_data(as_text=True)
    missing = admin.http.get(authorize_path("fr", client, challenge, redirect_uri="")
                             .replace("redirect_uri=&", ""))
    assert missing.status_code == 400 and "Location" not in missing.headers
    assert translated(app, "fr_FR", "The request has no redirect_uri: the application must name "
                      "one of its registered redirect URIs.") in missing.get_data(as_text=True)
    # Even a bad PKCE method is shown, not redirected, while the redirect URI is untrusted.
    bad_both = admin.http.get(authorize_path("fr", client, challenge, method="plain",
                                             redirect_uri="https://evil.example/cb"))
    assert bad_both.status_code == 400 and "Location" not in bad_both.headers
    assert count(app, shops.fr, ApiAuthorizationCode) == 0


def test_client_of_another_shop_or_unknown_is_a_400_page(app, shops, admin):
    gb_client = register(app, shops.gb)
    _, challenge = pkce()
    message = "No application with this client_id is registered in this shop."
    for client in (gb_client, SimpleNamespace(client_id="cpt_nobody", redirect_uri=REDIRECT)):
        response = admin.http.get(authorize_path("fr", client, challenge))
        assert response.status_code == 400 and "Location" not in response.headers
        assert translated(app, "fr_FR", message) in response.get_data(as_text=True)
    no_client = admin.http.get(authorize_path("fr", gb_client, challenge).replace(
        f"client_id={gb_client.client_id}", "client_id="))
    assert no_client.status_code == 400
    assert count(app, shops.gb, ApiAuthorizationCode) == 0


def test_revoked_client_cannot_be_authorized(app, shops, admin):
    client = register(app, shops.fr)
    with as_tenant(app, shops.fr):
        service.revoke_client(client.client_id)
        db.session.commit()
    _, challenge = pkce()
    response = admin.http.get(authorize_path("fr", client, challenge))
    assert response.status_code == 400 and "Location" not in response.headers


def test_only_a_tenant_admin_of_this_shop_may_authorize(app, shops, admin):
    client = register(app, shops.fr)
    _, challenge = pkce()
    path = authorize_path("fr", client, challenge)
    for role in ("customer", "staff"):
        add_user(app, shops.fr, f"{role}@fr.example", role=role)
        http = login(app, "fr", f"{role}@fr.example")
        assert http.get(path).status_code == 403
        refused = http.post(path, data={"decision": "allow"})
        assert refused.status_code == 403 and "Location" not in refused.headers
        assert "<html" in refused.get_data(as_text=True).lower()  # a page, not JSON
    # The British shop's admin is nobody on the French shop: her login there fails.
    gb_admin = app.test_client()
    gb_admin.post("/s/gb/login", data={"email": "admin@gb.example", "password": PASSWORD})
    assert gb_admin.get(path).status_code == 302
    assert count(app, shops.fr, ApiAuthorizationCode) == 0


def test_visitor_logs_in_and_comes_back_to_the_consent_page(app, shops, admin):
    client = register(app, shops.fr)
    _, challenge = pkce()
    path = authorize_path("fr", client, challenge)
    http = app.test_client()
    visitor = http.get(path)
    assert visitor.status_code == 302
    location = urlsplit(visitor.headers["Location"])
    assert location.path == "/s/fr/login"
    back = parse_qs(location.query)["next"][0]
    assert back == path
    logged = http.post(f"/s/fr/login?{urlencode({'next': back})}",
                       data={"email": "admin@fr.example", "password": PASSWORD})
    assert logged.status_code == 302 and logged.headers["Location"].endswith(path)
    assert http.get(path).status_code == 200


def test_consent_post_needs_the_csrf_token(app_factory, make_tenant):
    app = app_factory(WTF_CSRF_ENABLED=True)
    fr = make_tenant("fr")
    add_user(app, fr, "admin@fr.example")
    client = register(app, fr)
    http = app.test_client()
    login_page = http.get("/s/fr/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    assert http.post("/s/fr/login", data={"email": "admin@fr.example", "password": PASSWORD,
                                          "csrf_token": csrf}).status_code == 302
    _, challenge = pkce()
    path = authorize_path("fr", client, challenge)
    page = http.get(path).get_data(as_text=True)
    forged = http.post(path, data={"decision": "allow"})
    assert forged.status_code == 400 and "Location" not in forged.headers
    assert "The CSRF token is missing." in forged.get_data(as_text=True)  # a page, not JSON
    assert forged.mimetype == "text/html"
    assert count(app, fr, ApiAuthorizationCode) == 0
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = callback(http.post(path, data={"decision": "allow", "csrf_token": csrf}))
    assert answer["code"]


def test_authorization_parameters_in_the_consent_form_are_refused(app, shops, admin):
    client = register(app, shops.fr, scopes=["orders:read", "customers:read"])
    _, challenge = pkce()
    path = authorize_path("fr", client, challenge, scope="orders:read")
    smuggled = admin.http.post(path, data={"decision": "allow", "scope": "customers:read"})
    assert smuggled.status_code == 400 and "Location" not in smuggled.headers
    assert count(app, shops.fr, ApiAuthorizationCode) == 0


def test_a_demoted_admin_s_grants_stop_working(app, shops, admin):
    client = register(app, shops.fr)
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge)
    pair = redeem(app.test_client(), "fr", client, code, verifier).get_json()
    with as_tenant(app, shops.fr):
        db.session.execute(update(User).where(User.id == admin.ids["fr"])
                           .values(role="staff"))
        db.session.commit()
    http = app.test_client()
    assert http.get("/s/fr/api/v1/orders", headers=bearer(pair["access_token"])).status_code \
        == 401
    assert refresh(http, "fr", client, pair["refresh_token"]).get_json()["error"] \
        == "invalid_grant"


def test_revoking_a_refresh_token_ends_the_grant(app, shops, admin):
    client = register(app, shops.fr, public=True, uris=(NATIVE,))
    verifier, challenge = pkce()
    code = get_code(admin.http, "fr", client, challenge)
    http = app.test_client()
    pair = redeem(http, "fr", client, code, verifier).get_json()
    revoked = http.post("/s/fr/api/v1/oauth/revoke", data={
        "token": pair["refresh_token"], "token_type_hint": "refresh_token",
        "client_id": client.client_id})
    assert revoked.status_code == 200
    assert http.get("/s/fr/api/v1/orders", headers=bearer(pair["access_token"])).status_code \
        == 401
    assert refresh(http, "fr", client, pair["refresh_token"]).get_json()["error"] \
        == "invalid_grant"


def test_openapi_describes_the_authorization_code_flow_per_shop(client, shops):
    spec = client.get("/s/fr/api/v1/openapi.json").get_json()
    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "http://localhost/s/fr/api/v1/oauth/authorize"
    assert flow["tokenUrl"] == "http://localhost/s/fr/api/v1/oauth/token"
    assert set(service.SCOPES) <= set(flow["scopes"])
    other = client.get("/s/gb/api/v1/openapi.json").get_json()
    assert other["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"][
        "authorizationUrl"] == "http://localhost/s/gb/api/v1/oauth/authorize"


# --- registering clients with redirect URIs --------------------------------------------------

BAD_URIS = {
    "https://erp.example/cb#top": "The redirect URI %(uri)s must not contain a fragment (#...).",
    "/oauth/callback": "The redirect URI %(uri)s must be absolute, with a scheme and a host "
                       "(https://app.example/callback).",
    "http://erp.example/cb": "The redirect URI %(uri)s must use https (http is accepted only "
                             "for localhost and 127.0.0.1).",
    "myapp://callback": "The redirect URI %(uri)s must use https (http is accepted only for "
                        "localhost and 127.0.0.1).",
    "https://user:pw@erp.example/cb": "The redirect URI %(uri)s must not contain a user name "
                                      "or password.",
}


def test_admin_page_refuses_bad_redirect_uris_naming_the_problem(app, make_tenant):
    fr = make_tenant("fr")
    add_user(app, fr, "admin@fr.example")
    http = login(app, "fr", "admin@fr.example")
    for uri, message in BAD_URIS.items():
        response = http.post("/s/fr/settings/api-clients", data={
            "name": "ERP", "scope": ["orders:read"], "redirect_uris": f"{REDIRECT}\n{uri}"})
        assert response.status_code == 400, uri
        html = response.get_data(as_text=True)
        assert translated(app, "fr_FR", message, uri=uri) in html, uri
    public = http.post("/s/fr/settings/api-clients", data={
        "name": "Tool", "scope": ["orders:read"], "client_type": "public"})
    assert public.status_code == 400
    assert translated(app, "fr_FR", "A public client needs at least one redirect URI: it can "
                      "only use the authorization-code flow.") in public.get_data(as_text=True)
    assert count(app, fr, ApiClient) == 0


def test_admin_page_registers_a_public_client_without_secret(app, make_tenant):
    fr = make_tenant("fr")
    gb = make_tenant("gb", country="GB", locale="en_GB", currency="GBP")
    add_user(app, fr, "admin@fr.example")
    http = login(app, "fr", "admin@fr.example")
    response = http.post("/s/fr/settings/api-clients", data={
        "name": "Desk tool", "scope": ["orders:read"], "client_type": "public",
        "redirect_uris": f"{NATIVE}\n\nhttp://localhost:9000/cb\n{NATIVE}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert 'id="client-secret"' not in html and 'id="public-client"' in html
    assert "/s/fr/api/v1/oauth/authorize" in html
    with as_tenant(app, fr):
        client = db.session.scalars(select(ApiClient)).one()
        assert client.public and client.secret_digest == ""
        assert client.redirect_uri_list == [NATIVE, "http://localhost:9000/cb"]
        assert client.grant_types == ["authorization_code", "refresh_token"]
    assert count(app, gb, ApiClient) == 0
    listing = http.get("/s/fr/settings/api-clients").get_data(as_text=True)
    assert NATIVE in listing


def test_cli_registers_redirect_uris_and_refuses_bad_ones(app, make_tenant):
    fr = make_tenant("fr")
    gb = make_tenant("gb", country="GB", locale="en_GB", currency="GBP")
    runner = app.test_cli_runner()
    created = runner.invoke(args=["api", "clients", "create", "fr", "Desk tool", "--scope",
                                  "orders:read", "--public", "--redirect-uri", NATIVE])
    assert created.exit_code == 0, created.output
    assert "client_secret" not in created.output and f"redirect_uri:  {NATIVE}" in created.output
    confidential = runner.invoke(args=["api", "clients", "create", "fr", "ERP", "--scope",
                                       "orders:read", "--redirect-uri", REDIRECT])
    assert confidential.exit_code == 0 and re.search(r"client_secret:\s+\S{20,}",
                                                     confidential.output)
    listed = runner.invoke(args=["api", "clients", "list", "fr"]).output
    assert "public" in listed and NATIVE in listed and REDIRECT in listed
    assert runner.invoke(args=["api", "clients", "list", "gb"]).output.strip() == ""
    for uri, message in BAD_URIS.items():
        refused = runner.invoke(args=["api", "clients", "create", "fr", "Bad", "--scope",
                                      "orders:read", "--redirect-uri", uri])
        assert refused.exit_code != 0 and message % {"uri": uri} in refused.output, uri
    no_uri = runner.invoke(args=["api", "clients", "create", "fr", "Bad", "--scope",
                                 "orders:read", "--public"])
    assert no_uri.exit_code != 0 and "redirect URI" in no_uri.output
    assert count(app, fr, ApiClient) == 2 and count(app, gb, ApiClient) == 0
