"""A real OpenID provider (npm's ``oidc-provider``, tests/oidc_provider/server.mjs) started
once per test session on a free port, and helpers that drive a whole SSO log-in over HTTP:
the Flask test client plays the shop, an httpx client plays the user's browser at the
provider, and the redirects between the two are followed by hand.

No stub anywhere: the shop's server-side calls (discovery, token, JWKS, userinfo) reach the
provider process over the loopback network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.sso import service
from tests.conftest import as_tenant
from tests.servers import free_port, wait_until_up

FIXTURE = Path(__file__).resolve().parent.parent / "oidc_provider"
PASSWORD = "password-1"
SHOP = "http://localhost"  # the Flask test client's host
SLUGS = ("acme", "beta")

CLIENT_ID, CLIENT_SECRET = "acme-portal", "acme-portal-secret"
ACCOUNTS = [
    {"sub": "alice", "email": "Alice@acme.example", "email_verified": True,
     "name": "Alice Martin"},
    {"sub": "bob", "email": "bob@acme.example", "email_verified": False},
    {"sub": "carol", "email": "carol@unclaimed.example", "email_verified": True},
    {"sub": "dave", "email": "dave@acme.example", "email_verified": True},
    {"sub": "erin", "email": "erin@acme.example", "email_verified": True},
]


@dataclass
class Provider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    extra: dict[str, Any] = field(default_factory=dict)


def _redirect_uris() -> list[str]:
    return [f"{SHOP}/s/{slug}/auth/sso/callback" for slug in SLUGS]


def _start(config: dict[str, Any]) -> Iterator[Provider]:
    node = shutil.which("node")
    if node is None or not (FIXTURE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID provider is not installed: run script/bootstrap (it runs "
                    "`npm ci --prefix tests/oidc_provider`; Node.js 20+ and npm are needed)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OIDC_PROVIDER_CONFIG": json.dumps(
        {"port": port, "issuer": issuer, **config})}
    server = subprocess.Popen([node, str(FIXTURE / "server.mjs")], cwd=FIXTURE, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"{issuer}/.well-known/openid-configuration", server, "oidc-provider")
        yield Provider(issuer)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _clients() -> list[dict[str, Any]]:
    uris = _redirect_uris()
    return [
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": uris},
        {"client_id": "tampered-payload", "client_secret": "t1", "redirect_uris": uris,
         "tamper": "payload"},
        {"client_id": "tampered-key", "client_secret": "t2", "redirect_uris": uris,
         "tamper": "foreign-key"},
    ]


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    """The provider, e-mail claims in the ID token (as Google and Keycloak do)."""
    yield from _start({"clients": _clients(), "accounts": ACCOUNTS})


@pytest.fixture(scope="session")
def oidc_provider_userinfo() -> Iterator[Provider]:
    """A provider that gives the e-mail claims through its userinfo endpoint only."""
    yield from _start({"clients": _clients(), "accounts": ACCOUNTS,
                       "claims_in_id_token": False})


def add_user(app, tenant, email, role, company_id=None) -> int:
    with as_tenant(app, tenant):
        user = User(email=email, name=email.split("@")[0].title(), role=role,
                    company_id=company_id)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user.id


def add_company(app, tenant, name) -> int:
    with as_tenant(app, tenant):
        company = Company(name=name)
        db.session.add(company)
        db.session.commit()
        return company.id


def configure(app, tenant, company_id, provider: Provider, *, domains="acme.example",
              approve=True, enabled=True, client_id=None, role="buyer") -> int:
    """Save a company's configuration through the service, and approve its domains."""
    with as_tenant(app, tenant):
        company = db.session.get(Company, company_id)
        sso = service.save_config(company, {
            "issuer": provider.issuer, "client_id": client_id or provider.client_id,
            "client_secret": provider.client_secret, "email_domains": domains,
            "default_role": role, "enabled": "yes" if enabled else ""})
        if approve:
            for domain in sso.domains:
                service.approve_domain(sso, domain.id, "admin@shop.example")
        db.session.commit()
        return sso.id


def logged_in(app, slug, email):
    client = app.test_client()
    response = client.post(f"/s/{slug}/login", data={"email": email, "password": PASSWORD})
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    return client


@dataclass
class Journey:
    """The steps of one log-in, kept so tests can replay or tamper with them."""

    start: Any = None
    authorize_url: str = ""
    callback_url: str = ""
    result: Any = None


def _follow(browser: httpx.Client, response: httpx.Response, stop_at: str) -> httpx.Response:
    """Follow the provider's redirects until one leaves for ``stop_at``."""
    for _hop in range(10):
        if response.status_code not in (302, 303):
            return response
        target = urljoin(str(response.url), response.headers["location"])
        if target.startswith(stop_at):
            return response
        response = browser.get(target)
    raise AssertionError("too many redirects at the provider")


def provider_answer(authorize_url: str, sub: str | None, *, deny: bool = False) -> str:
    """Play the user at the provider: sign in as ``sub`` (or deny); the callback URL."""
    with httpx.Client(follow_redirects=False, timeout=20) as browser:
        page = _follow(browser, browser.get(authorize_url), SHOP)
        assert page.status_code == 200 and "/interaction/" in str(page.url), page.text
        form = {"action": "deny"} if deny else {"action": "login", "login": sub}
        answer = _follow(browser, browser.post(str(page.url), data=form), SHOP)
        assert answer.status_code in (302, 303), answer.text
        location = urljoin(str(answer.url), answer.headers["location"])
        assert location.startswith(SHOP), location
        return location


def sso_login(client, slug: str, email: str, sub: str | None, *, deny: bool = False,
              next_url: str | None = None) -> Journey:
    """The whole journey: the shop's e-mail form, the provider, the shop's callback."""
    journey = Journey()
    path = f"/s/{slug}/auth/sso" + (f"?next={next_url}" if next_url else "")
    journey.start = client.post(path, data={"email": email})
    if journey.start.status_code != 303:
        return journey
    journey.authorize_url = journey.start.headers["Location"]
    journey.callback_url = provider_answer(journey.authorize_url, sub, deny=deny)
    journey.result = client.get(journey.callback_url)
    return journey


def query(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(urlsplit(url).query))


def shop_session(client, slug: str):
    """Open the shop's own session cookie (one per ``/s/<slug>/``) for reading or editing."""
    from comptoir.tenants.resolution import ENVIRON_SLUG

    return client.session_transaction(
        "/", base_url=f"{SHOP}/s/{slug}/", environ_overrides={ENVIRON_SLUG: slug})
