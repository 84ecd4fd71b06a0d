"""Each single sign-on start asks a company's provider: an address gets its share, no more."""

from __future__ import annotations

from comptoir.accounts.throttle import SSO_START_LIMIT
from tests.conftest import translated


def test_sso_starts_are_throttled_per_address(app, make_tenant):
    make_tenant("acme", name="Acme Shop")
    make_tenant("other", name="Other Shop")
    client = app.test_client()
    allowed = int(SSO_START_LIMIT.split()[0])
    for _ in range(allowed):
        answer = client.post("/s/acme/auth/sso", data={"email": "ann@nowhere.example"})
        assert answer.status_code == 400  # no company of this shop uses SSO for the domain
    refused = client.post("/s/acme/auth/sso", data={"email": "ann@nowhere.example"})
    assert refused.status_code == 429
    assert translated(app, "fr_FR", "Too many attempts from your address. Please wait a "
                      "minute and try again.") in refused.get_data(as_text=True)
    # The share is the address's, across shops: the provider is what it protects.
    assert client.post("/s/other/auth/sso",
                       data={"email": "ann@nowhere.example"}).status_code == 429
