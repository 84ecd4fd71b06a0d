from werkzeug.security import generate_password_hash

from comptoir.accounts.passwords import (
    DEFAULT_PARAMETERS,
    UNUSABLE,
    hash_password,
    hasher,
    password_problems,
    verify_password,
)
from comptoir.core.db import db
from comptoir.customers.models import User
from tests.accounts.conftest import PASSWORD, login
from tests.conftest import as_tenant


def test_hash_is_argon2id_and_verifies(app):
    with app.app_context():
        stored = hash_password(PASSWORD)
        assert stored.startswith("$argon2id$")
        assert verify_password(stored, PASSWORD) == (True, None)
        assert verify_password(stored, "wrong password") == (False, None)
        assert verify_password(UNUSABLE, "") == (False, None)
        assert verify_password(UNUSABLE, UNUSABLE) == (False, None)


def test_production_parameters_are_rfc_9106(app_factory):
    app = app_factory()
    with app.app_context():
        ph = hasher()
        assert ph.time_cost == DEFAULT_PARAMETERS.time_cost == 3
        assert ph.memory_cost == DEFAULT_PARAMETERS.memory_cost == 65536


def test_old_argon2_parameters_are_rehashed(app, app_factory):
    with app.app_context():
        weak = hash_password(PASSWORD)
    strong = app_factory(PASSWORD_HASH_PARAMETERS={"time_cost": 2, "memory_cost": 2048,
                                                   "parallelism": 1})
    with strong.app_context():
        ok, new = verify_password(weak, PASSWORD)
        assert ok and new is not None and "t=2" in new


def test_werkzeug_hash_verifies_and_is_rehashed_at_login(app, shops):
    a, _b = shops
    with as_tenant(app, a):
        user = db.session.query(User).filter_by(email="ann@a.example").one()
        user.password_hash = generate_password_hash(PASSWORD)
        db.session.commit()
    assert login(app.test_client(), "shop-a", "ann@a.example").status_code == 302
    with as_tenant(app, a):
        user = db.session.query(User).filter_by(email="ann@a.example").one()
        assert user.password_hash.startswith("$argon2id$")


def test_wrong_werkzeug_password_changes_nothing(app, shops):
    a, _b = shops
    old = generate_password_hash(PASSWORD)
    with as_tenant(app, a):
        user = db.session.query(User).filter_by(email="ann@a.example").one()
        user.password_hash = old
        db.session.commit()
    assert login(app.test_client(), "shop-a", "ann@a.example", "nope nope").status_code == 400
    with as_tenant(app, a):
        assert db.session.query(User).filter_by(email="ann@a.example").one().password_hash == old


def test_policy_names_each_problem(app):
    with app.test_request_context():
        assert password_problems(PASSWORD) == []
        assert any("at least 8" in p for p in password_problems("short"))
        assert any("at most 128" in p for p in password_problems("x" * 129))
        assert password_problems("y" * 128) == []
        assert any("most common" in p for p in password_problems("password1"))
        assert any("most common" in p for p in password_problems("Dragon123"))
        assert any("e-mail address or name" in p for p in
                   password_problems("my annexample pass", user_inputs=("annexample@a.example",)))
        assert any("e-mail address or name" in p for p in
                   password_problems("Ann Example", user_inputs=("Ann Example",)))
