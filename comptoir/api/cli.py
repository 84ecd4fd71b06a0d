"""``comptoir api clients create|list|revoke``: API clients from the command line."""

from __future__ import annotations

from typing import NoReturn

import click
from flask.cli import with_appcontext

from comptoir.api import service as api_service
from comptoir.core.db import db
from comptoir.core.scoping import tenant_context
from comptoir.tenants import service
from comptoir.tenants.models import Tenant


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def _tenant(slug: str) -> tuple[int, int | None]:
    """(id, office id) of the tenant, read and committed before entering its scope."""
    try:
        tenant: Tenant = service.get_tenant(slug)
    except service.TenantError as exc:
        _fail(str(exc))
    ids = (tenant.id, tenant.parent_id)
    db.session.commit()
    return ids


@click.group("api", help="The REST API: clients registered per tenant.")
def api_cli() -> None:
    pass


@api_cli.group("clients", help="Register, list and revoke a tenant's API clients.")
def clients_cli() -> None:
    pass


@clients_cli.command("create")
@click.argument("tenant")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="Repeatable: " + ", ".join(api_service.SCOPES)
              + ", or a scope of a plugin the tenant enabled.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, metavar="URI",
              help="Repeatable. Lets the client use the authorization-code flow (PKCE); "
                   "https, or http://localhost / http://127.0.0.1; matched exactly.")
@click.option("--public", is_flag=True,
              help="A public client (desktop tool, single-page app): no secret, "
                   "authorization code with PKCE only; needs --redirect-uri.")
@with_appcontext
def clients_create(tenant: str, name: str, scopes: tuple[str, ...],
                   redirect_uris: tuple[str, ...], public: bool) -> None:
    """Register a client; its secret is printed once, and never again."""
    tenant_id, office_id = _tenant(tenant)
    with tenant_context(db.session, tenant_id, office_id):
        try:
            new = api_service.create_client(name, scopes, created_by="cli",
                                            redirect_uris=redirect_uris, public=public)
        except api_service.ApiClientError as exc:
            _fail(str(exc))
        db.session.commit()
        click.echo(f"client_id:     {new.client.client_id}")
        if new.secret:
            click.echo(f"client_secret: {new.secret}")
        click.echo("scopes:        " + new.client.scopes)
        for uri in new.client.redirect_uri_list:
            click.echo(f"redirect_uri:  {uri}")
        if new.secret:
            click.echo("Keep the secret now: it is stored hashed and cannot be shown again.")
        else:
            click.echo("Public client: no secret; it authenticates with its client_id and PKCE.")


@clients_cli.command("list")
@click.argument("tenant")
@with_appcontext
def clients_list(tenant: str) -> None:
    """List a tenant's clients (never their secrets)."""
    tenant_id, office_id = _tenant(tenant)
    with tenant_context(db.session, tenant_id, office_id):
        for client in api_service.list_clients():
            state = "revoked" if client.revoked_at else "active"
            kind = "public" if client.public else "confidential"
            uris = " ".join(client.redirect_uri_list)
            click.echo(f"{client.client_id}  {state:<7}  {kind:<12}  {client.name}  "
                       f"[{client.scopes}]" + (f"  -> {uris}" if uris else ""))


@clients_cli.command("revoke")
@click.argument("tenant")
@click.argument("client_id")
@with_appcontext
def clients_revoke(tenant: str, client_id: str) -> None:
    """Revoke a client and all its tokens."""
    tenant_id, office_id = _tenant(tenant)
    with tenant_context(db.session, tenant_id, office_id):
        try:
            api_service.revoke_client(client_id)
        except api_service.ApiClientError as exc:
            _fail(str(exc))
        db.session.commit()
        click.echo(f"revoked {client_id} and its tokens")
