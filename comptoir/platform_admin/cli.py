"""``comptoir platform admins create|list`` and ``comptoir tenants suspend|resume``.

Like every Comptoir command: arguments checked first, a one-line ``Error: ...`` and a
non-zero exit on refusal, nothing changed.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.tenants import service


def _fail(message: str) -> NoReturn:
    db.session.rollback()
    raise click.ClickException(message)


@click.group("platform", help="The platform itself: its admins.")
def platform_cli() -> None:
    pass


@platform_cli.group("admins", help="Platform admins: they onboard and suspend tenants.")
def admins_cli() -> None:
    pass


@admins_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The admin's name.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@with_appcontext
def admins_create(email: str, name: str, password_stdin: bool) -> None:
    """Create a platform admin; they log in at /platform/login on the platform host."""
    from comptoir.accounts.passwords import PasswordRefused
    from comptoir.platform_admin.auth import create_admin

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        admin = create_admin(email, name, password)
        db.session.commit()
    except PasswordRefused as exc:
        _fail("password: " + " ".join(exc.problems))
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"Created platform admin {admin.email}.")


@admins_cli.command("list")
@with_appcontext
def admins_list() -> None:
    """List platform admins, with their last log-in."""
    from comptoir.platform_admin.models import PlatformAdmin

    admins = db.session.scalars(select(PlatformAdmin).order_by(PlatformAdmin.email)).all()
    if not admins:
        click.echo("No platform admins yet: `comptoir platform admins create EMAIL --name NAME`.")
        return
    for admin in admins:
        last = admin.last_login_at.strftime("%Y-%m-%d %H:%M") if admin.last_login_at else "never"
        state = "" if admin.active else "  (inactive)"
        click.echo(f"{admin.email}  {admin.name}  last login: {last}{state}")


@click.command("suspend")
@click.argument("slug")
@click.option("--reason", required=True, help="Why (internal; visitors see a generic page).")
@with_appcontext
def tenants_suspend(slug: str, reason: str) -> None:
    """Take a tenant's storefront and API offline (503); nothing is deleted."""
    try:
        tenant = service.get_tenant(slug)
        service.suspend_tenant(tenant, reason, "command line")
        db.session.commit()
    except service.TenantError as exc:
        _fail(str(exc))
    click.echo(f"Suspended '{tenant.slug}': its storefront and API answer 503.")


@click.command("resume")
@click.argument("slug")
@with_appcontext
def tenants_resume(slug: str) -> None:
    """Bring a suspended tenant back, exactly as it was."""
    try:
        tenant = service.get_tenant(slug)
        service.resume_tenant(tenant, "command line")
        db.session.commit()
    except service.TenantError as exc:
        _fail(str(exc))
    click.echo(f"Resumed '{tenant.slug}': its storefront is open again.")


COMMANDS = (platform_cli,)
TENANT_COMMANDS = (tenants_suspend, tenants_resume)
