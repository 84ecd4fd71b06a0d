"""Two shops with a customer and a staff member each; cheap argon2 parameters and small
throttling limits, so the tests are fast and never wait."""

from __future__ import annotations

import re

import pytest

from comptoir.core.db import db
from comptoir.core.mail import outbox_messages
from comptoir.customers.models import User
from tests.conftest import as_tenant

PASSWORD = "correct horse battery"
#: The shops' language (``make_tenant``'s default for an office): pages, mails and the CLI
#: speak it, so tests compare them with its catalogue.
LOCALE = "fr_FR"
CHEAP = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@pytest.fixture
def app(app_factory):
    return app_factory(PASSWORD_HASH_PARAMETERS=CHEAP, LOGIN_LIMIT_PER_ACCOUNT="3 per hour",
                       LOGIN_LIMIT_PER_IP="6 per hour")


def add_user(app, tenant, email, role="customer", password=PASSWORD, **fields):
    with as_tenant(app, tenant):
        user = User(email=email, name=fields.pop("name", "Ann Example"), role=role, **fields)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.fixture
def shops(app, make_tenant):
    a = make_tenant("shop-a", name="Shop A")
    b = make_tenant("shop-b", name="Shop B")
    add_user(app, a, "ann@a.example")
    add_user(app, a, "sam@a.example", role="staff", name="Sam Staff")
    add_user(app, b, "bob@b.example")
    return a, b


def catalogue_text(app, locale, msgid, /, **params):
    """``msgid`` in ``locale`` from the compiled catalogues, not HTML-escaped: what the CLI
    prints, or a translated value passed into another message."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(locale):
        return gettext(msgid, **params)


def translated_plural(app, locale, singular, plural, num, /, **params):
    """Like ``tests.conftest.translated`` for an ``ngettext`` message counting ``num``."""
    from flask_babel import force_locale, ngettext
    from markupsafe import escape

    with app.test_request_context(), force_locale(locale):
        return str(escape(ngettext(singular, plural, num, **params)))


def login(client, slug, email, password=PASSWORD):
    return client.post(f"/s/{slug}/login", data={"email": email, "password": password})


def links(app, to):
    """The links mailed to ``to``, oldest first."""
    found = []
    for msg in outbox_messages(app):
        if to in msg["To"]:
            found += re.findall(r"https?://\S+", msg.get_content())
    return found
