"""The ``comptoir`` command: listing, creating, plugins, demo; bad input changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from comptoir.catalog.models import Product
from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.tenants.models import Tenant, TenantPlugin
from tests.conftest import as_tenant


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def tenant_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Tenant.id)))


def test_create_office_and_reseller_then_list_as_json(app, run, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    created = run("tenants", "create", "fr", "--name", "Comptoir France", "--country", "fr",
                  "--locale", "fr_FR", "--currency", "eur", "--timezone", "Europe/Paris")
    assert created.exit_code == 0, created.output
    assert "/s/fr/" in created.output
    reseller = run("tenants", "create", "acme", "--name", "ACME", "--kind", "reseller",
                   "--parent", "fr", "--domain", "shop.acme.example", "--logo", str(logo),
                   "--primary-color", "#0b7a75")
    assert reseller.exit_code == 0, reseller.output

    listed = json.loads(run("tenants", "list", "--format", "json").output)
    assert [(t["slug"], t["kind"], t["office"], t["currency"], t["locale"]) for t in listed] == [
        ("acme", "reseller", "fr", "EUR", "fr_FR"),
        ("fr", "office", None, "EUR", "fr_FR"),
    ]
    assert listed[0]["domains"] == ["shop.acme.example"]
    assert app.test_client().get("/s/acme/brand/logo").mimetype == "image/svg+xml"


def test_table_format_and_empty_state(run):
    assert "No tenants yet" in run("tenants", "list").output
    run("tenants", "create", "gb", "--name", "UK", "--country", "GB", "--locale", "en_GB",
        "--currency", "GBP")
    lines = run("tenants", "list", "--format", "table").output.splitlines()
    assert lines[0].split()[:3] == ["slug", "kind", "office"]
    assert lines[1].split()[:2] == ["gb", "office"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad Slug", "--name", "x", "--country", "FR", "--locale", "fr", "--currency", "EUR"],
         "slug: 'Bad Slug' must be lower-case"),
        (["www", "--name", "x", "--country", "FR", "--locale", "fr", "--currency", "EUR"],
         "slug: 'www' is reserved"),
        (["fr", "--name", "again", "--country", "FR", "--locale", "fr", "--currency", "EUR"],
         "slug: 'fr' is already taken"),
        (["x", "--name", "x"], "an office needs a country, a locale and a currency"),
        (["x", "--name", "x", "--country", "FR", "--locale", "xx_YY", "--currency", "EUR"],
         "locale: 'xx_YY' is not a locale"),
        (["x", "--name", "x", "--country", "ZZ", "--locale", "fr", "--currency", "EUR"],
         "country: 'ZZ' is not an ISO 3166 country code"),
        (["x", "--name", "x", "--country", "FR", "--locale", "fr", "--currency", "EUX"],
         "currency: 'EUX' is not an ISO 4217 currency code"),
        (["x", "--name", "x", "--kind", "reseller"], "parent: a reseller belongs to"),
        (["x", "--name", "x", "--kind", "reseller", "--parent", "nope"],
         "no tenant with slug 'nope'"),
        (["x", "--name", "x", "--kind", "reseller", "--parent", "fr", "--domain", "not a host"],
         "domains: 'not a host' is not a host name"),
        (["x", "--name", "x", "--kind", "reseller", "--parent", "fr", "--primary-color", "red"],
         "primary_color: 'red' is not a colour"),
        (["x", "--name", "x", "--kind", "reseller", "--parent", "fr", "--timezone", "Mars/Base"],
         "timezone: 'Mars/Base' is not a time zone"),
        (["x", "--name", "x" * 201, "--kind", "reseller", "--parent", "fr"],
         "name: longer than 200 characters"),
    ],
)
def test_bad_create_is_one_line_error_and_changes_nothing(app, run, args, message):
    run("tenants", "create", "fr", "--name", "Comptoir France", "--country", "FR",
        "--locale", "fr_FR", "--currency", "EUR")
    before = tenant_count(app)
    result = run("tenants", "create", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert tenant_count(app) == before


def test_plugins_enable_disable_configure_and_list(app, run, make_tenant):
    make_tenant("fr")
    assert run("plugins", "enable", "fr", "locale_fr").exit_code == 0
    listed = run("plugins", "list", "--tenant", "fr").output
    assert any(line.split()[:2] == ["on", "locale_fr"] for line in listed.splitlines())
    configured = run("plugins", "configure", "FR", "locale_fr", "siren=123456789",
                     "withdrawal_days=30")
    assert configured.exit_code == 0, configured.output
    assert json.loads(configured.output) == {"siren": "123456789", "withdrawal_days": 30}
    assert run("plugins", "disable", "fr", "locale_fr").exit_code == 0
    listed = run("plugins", "list", "--tenant", "fr").output
    assert any(line.split()[:2] == ["off", "locale_fr"] for line in listed.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enable", "nope", "locale_fr"], "no tenant with slug 'nope'"),
        (["enable", "fr", "nope"], "unknown plugin 'nope'"),
        (["configure", "fr", "locale_fr", "siren=12"], "setting 'siren'"),
        (["configure", "fr", "locale_fr", "withdrawal_days=7"], "setting 'withdrawal_days'"),
        (["configure", "fr", "locale_fr", "vat=20"], "'vat' was unexpected"),
        (["configure", "fr", "locale_fr", "novalue"], "'novalue' is not KEY=VALUE"),
    ],
)
def test_bad_plugin_commands_fail_and_change_nothing(app, run, make_tenant, args, message):
    make_tenant("fr")
    run("plugins", "configure", "fr", "locale_fr", 'siren="123456789"')
    result = run("plugins", *args)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        rows = db.session.scalars(select(TenantPlugin)).all()
        assert [(r.plugin, r.enabled, r.settings) for r in rows] == [
            ("locale_fr", None, {"siren": "123456789"})]


def test_demo_is_idempotent(app, run):
    first = run("demo")
    assert first.exit_code == 0, first.output
    assert "admin@durand-industries.example" in first.output
    second = run("demo")
    assert second.exit_code == 0 and second.output == first.output
    listed = {t["slug"]: t for t in json.loads(run("tenants", "list", "--format", "json").output)}
    assert set(listed) == {"fr", "de", "ch", "gb", "cz", "acme-informatique"}
    assert (listed["ch"]["currency"], listed["cz"]["locale"]) == ("CHF", "cs_CZ")
    assert listed["acme-informatique"]["office"] == "fr"
    with app.app_context():
        acme_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == "acme-informatique"))
    with as_tenant(app, acme_id):
        own = select(func.count(Product.id)).where(Product.tenant_id == acme_id)
        assert db.session.scalar(own) == 2
        # Durand x 3, ACME's staff and manager, Durand Benelux's buyer
        assert db.session.scalar(select(func.count(User.id))) == 6


def test_db_subcommands_work(run):
    for args in (["db", "current"], ["db", "heads"], ["db", "history"]):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
