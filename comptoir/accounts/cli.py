"""``comptoir users create TENANT EMAIL --role ... --name ...``: invite a user from the shell
(onboarding a shop's first admin, operations). The invitation is mailed as from the
browser, and its link printed, so an operator can hand it over when mail is not set up."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from comptoir.customers.models import ROLES


@click.group("users", help="Invite users of a tenant.")
def users_cli() -> None:
    pass


@users_cli.command("create")
@click.argument("tenant")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", required=True)
@click.option("--company", "company_id", type=int, default=None,
              help="Company id, for company_admin, buyer and approver.")
@with_appcontext
def users_create(tenant: str, email: str, role: str, name: str, company_id: int | None) -> None:
    """Create a user of TENANT without a password and mail (and print) their invitation."""
    from comptoir.accounts import AccountError
    from comptoir.accounts.invitations import invite_user, set_password_url
    from comptoir.core.db import db
    from comptoir.core.mail import MailError
    from comptoir.toolkit import find_tenant, shop_context

    info = find_tenant(tenant)
    if info is None:
        raise click.ClickException(f"no tenant with the slug {tenant!r}")
    with shop_context(info):
        try:
            user = invite_user(email=email, name=name, role=role, company_id=company_id,
                               invited_by="Comptoir")
        except AccountError as exc:
            db.session.rollback()
            raise click.ClickException(f"{exc.field}: {exc.message}") from None
        except MailError as exc:
            db.session.rollback()
            raise click.ClickException(f"invitation not sent: {exc}") from None
        db.session.commit()
        click.echo(f"invited {user.email} ({role}) to {info.slug}")
        click.echo(set_password_url(user, "invite"))
