"""The ID token checks on tokens forged here with joserfc (a key the provider never
published, another audience, an old token, an unsigned one): each is refused."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from comptoir.sso.provider import SSOError, validate_id_token

ISSUER, CLIENT, NONCE = "https://idp.example", "shop", "n-0S6_WzA2Mj"


@pytest.fixture(scope="module")
def keys():
    real = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
    other = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
    return real, other


def claims(**changes):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": CLIENT, "sub": "alice", "nonce": NONCE, "iat": now,
            "exp": now + 300, "email": "alice@acme.example", "email_verified": True}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def check(app, token, real):
    jwks = KeySet([real]).as_dict(private=False)
    with app.app_context():
        return validate_id_token(token, jwks=jwks, issuer=ISSUER, client_id=CLIENT, nonce=NONCE,
                                 access_token=None)


def sign(key, payload, alg="RS256"):
    return jwt.encode({"alg": alg, "kid": "k1"}, payload, key)


def test_a_genuine_token_passes(app, keys):
    real, _other = keys
    assert check(app, sign(real, claims()), real)["email"] == "alice@acme.example"


@pytest.mark.parametrize("change", [
    {"aud": "another-client"},
    {"iss": "https://evil.example"},
    {"nonce": "replayed"},
    {"nonce": None},
    {"exp": int(time.time()) - 3600},
    {"sub": None},
])
def test_wrong_claims_are_refused(app, keys, change):
    real, _other = keys
    with pytest.raises(SSOError):
        check(app, sign(real, claims(**change)), real)


def test_signed_by_another_key(app, keys):
    real, other = keys
    with pytest.raises(SSOError, match="bad_signature"):
        check(app, sign(other, claims()), real)


def test_symmetric_and_unsigned_tokens_are_refused(app, keys):
    real, _other = keys
    secret = OctKey.import_key("client-secret-that-the-shop-also-knows-00")
    with pytest.raises(SSOError):
        check(app, jwt.encode({"alg": "HS256"}, claims(), secret), real)
    header = jwt.encode({"alg": "RS256", "kid": "k1"}, claims(), real).split(".")
    import base64
    import json
    none = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()
    with pytest.raises(SSOError):
        check(app, f"{none}.{header[1]}.", real)
