"""``comptoir platform admins ...``, ``tenants create --admin-email``, ``suspend``/``resume``."""

from __future__ import annotations

import pytest

from comptoir.core.mail import outbox_messages
from comptoir.platform_admin.models import PlatformAdmin
from tests.platform_admin.conftest import count, log_in, tenant_count


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()
    return lambda *args, input=None: runner.invoke(args=list(args), input=input)


def test_create_list_and_log_in_as_a_platform_admin(app, run):
    created = run("platform", "admins", "create", "Ops@Platform.example", "--name", "Olivia",
                  "--password-stdin", input="a long enough passphrase\n")
    assert created.exit_code == 0, created.output
    prompted = run("platform", "admins", "create", "two@platform.example", "--name", "Two",
                   input="another fine passphrase\nanother fine passphrase\n")
    assert prompted.exit_code == 0, prompted.output
    listed = run("platform", "admins", "list").output
    assert "ops@platform.example  Olivia  last login: never" in listed
    assert "two@platform.example" in listed
    client = app.test_client()
    assert log_in(client, "ops@platform.example", "a long enough passphrase").status_code == 302


@pytest.mark.parametrize(("args", "password", "message"), [
    (("bad-address", "--name", "X"), "a long enough passphrase", "email:"),
    (("a@platform.example", "--name", " "), "a long enough passphrase", "name:"),
    (("a@platform.example", "--name", "X"), "password", "password:"),
    (("a@platform.example", "--name", "X"), "short", "password:"),
])
def test_bad_admin_input_is_refused(app, run, args, password, message):
    result = run("platform", "admins", "create", *args, "--password-stdin",
                 input=password + "\n")
    assert result.exit_code != 0 and message in result.output
    assert count(app, PlatformAdmin) == 0


def test_tenants_create_invites_the_first_admin(app, run):
    assert run("tenants", "create", "fr", "--name", "France", "--country", "FR",
               "--locale", "fr_FR", "--currency", "EUR").exit_code == 0
    created = run("tenants", "create", "acme", "--name", "ACME", "--kind", "reseller",
                  "--parent", "fr", "--plugin", "newsletters",
                  "--admin-email", "Boss@acme.example", "--admin-name", "Ada Boss")
    assert created.exit_code == 0, created.output
    assert "Invited boss@acme.example" in created.output
    assert outbox_messages(app)[-1]["To"] == "boss@acme.example"
    assert app.test_client().get("/s/acme/").status_code == 200


def test_tenants_create_with_a_bad_admin_creates_nothing(app, run):
    before = tenant_count(app)
    result = run("tenants", "create", "fr", "--name", "France", "--country", "FR",
                 "--locale", "fr_FR", "--currency", "EUR", "--admin-email", "nope",
                 "--admin-name", "Nope")
    assert result.exit_code != 0 and "admin_email" in result.output
    result = run("tenants", "create", "fr", "--name", "France", "--country", "FR",
                 "--locale", "fr_FR", "--currency", "EUR", "--plugin", "nope")
    assert result.exit_code != 0 and "unknown plugin" in result.output
    assert tenant_count(app) == before


def test_suspend_and_resume_from_the_command_line(app, run, make_tenant):
    make_tenant("fr")
    assert run("tenants", "suspend", "fr").exit_code != 0  # --reason is required
    assert run("tenants", "suspend", "fr", "--reason", " ").exit_code != 0
    assert app.test_client().get("/s/fr/").status_code == 200
    done = run("tenants", "suspend", "fr", "--reason", "fraud review")
    assert done.exit_code == 0, done.output
    assert app.test_client().get("/s/fr/").status_code == 503
    assert run("tenants", "suspend", "fr", "--reason", "again").exit_code != 0
    assert run("tenants", "resume", "fr").exit_code == 0
    assert app.test_client().get("/s/fr/").status_code == 200
    assert "not suspended" in run("tenants", "resume", "fr").output
    assert "no tenant" in run("tenants", "suspend", "nowhere", "--reason", "x").output
