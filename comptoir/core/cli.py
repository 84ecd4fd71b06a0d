"""The ``comptoir`` command: Flask's CLI group plus tenants, plugins, demo and PostgreSQL roles.

Every command that changes something checks its arguments first and fails with a one-line
``Error: ...`` and a non-zero exit, having changed nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from comptoir.core import jobs
from comptoir.core.db import db
from comptoir.core.plugins import PluginError, PluginSettingsError, plugin_host
from comptoir.tenants import service
from comptoir.tenants.models import KINDS, Tenant
from comptoir.tenants.resolution import directory

LOGO_TYPES_BY_SUFFIX = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}


def main() -> None:
    """Entry point of the ``comptoir`` console script."""
    from comptoir import create_app

    FlaskGroup(create_app=lambda: create_app(), help="Comptoir: multi-tenant storefronts.")()


def _fail(message: str) -> NoReturn:
    db.session.rollback()
    raise click.ClickException(message)


def _tenant_rows() -> list[dict[str, Any]]:
    slugs = db.session.scalars(select(Tenant.slug).order_by(Tenant.slug)).all()
    rows = []
    with directory().lookups() as tenants:
        for slug in slugs:
            info = tenants.by_slug(slug)
            rows.append({
                "slug": info.slug,
                "name": info.name,
                "kind": info.kind,
                "office": info.office_slug if info.is_reseller else None,
                "country": info.country,
                "locale": info.locale,
                "currency": info.currency,
                "domains": list(info.domains),
                "plugins": sorted(info.plugins),
                "path": f"/s/{info.slug}/",
            })
    return rows


@click.group("tenants", help="List and create tenants (country offices and resellers).")
def tenants_cli() -> None:
    pass


@tenants_cli.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@with_appcontext
def tenants_list(fmt: str) -> None:
    """List every tenant with its inherited locale, currency and enabled plugins."""
    rows = _tenant_rows()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No tenants yet: `comptoir demo` loads the demo, `comptoir tenants create` "
                   "adds one.")
        return
    headers = ("slug", "kind", "office", "country", "locale", "currency", "plugins")
    table = [[str(r[h] or "") if h != "plugins" else ",".join(r[h]) for h in headers]
             for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@tenants_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Shop name shown to customers.")
@click.option("--kind", type=click.Choice(KINDS), default="office", show_default=True)
@click.option("--parent", help="Slug of the country office (resellers only).")
@click.option("--country", help="ISO 3166 code, e.g. FR (offices; resellers inherit).")
@click.option("--locale", help="e.g. fr_FR (offices; resellers inherit unless set).")
@click.option("--currency", help="ISO 4217 code, e.g. EUR.")
@click.option("--timezone", help="e.g. Europe/Paris.")
@click.option("--theme", help="Theme folder name; unset means the office's, then default.")
@click.option("--domain", "domains", multiple=True, help="Custom domain (repeatable).")
@click.option("--primary-color", help="Brand colour, #rrggbb.")
@click.option("--accent-color", help="Second brand colour, #rrggbb.")
@click.option("--logo", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Logo file (SVG, PNG, JPEG or WebP).")
@click.option("--private", is_flag=True, help="Leave it off the platform's home page.")
@click.option("--plugin", "plugins", multiple=True, help="Plugin to enable (repeatable).")
@click.option("--admin-email", help="Invite this first tenant admin (mails a link).")
@click.option("--admin-name", help="The first tenant admin's name.")
@with_appcontext
def tenants_create(slug: str, **options: Any) -> None:
    """Create a tenant; its storefront is live at /s/SLUG/ at once."""
    from comptoir.platform_admin.onboarding import Onboarding, OnboardingError, onboard

    logo_path: Path | None = options.pop("logo")
    private = options.pop("private")
    plugins = {name: None for name in options.pop("plugins")}
    admin = options.pop("admin_email"), options.pop("admin_name")
    spec = service.TenantSpec(slug=slug, public=not private, **options)
    if logo_path is not None:
        spec.logo = logo_path.read_bytes()
        spec.logo_type = LOGO_TYPES_BY_SUFFIX.get(logo_path.suffix.lower())
    try:
        tenant = onboard(Onboarding(spec, plugins, *admin), invited_by="command line")
        db.session.commit()
    except OnboardingError as exc:
        _fail(str(exc))
    click.echo(f"Created {tenant.kind} '{tenant.slug}': /s/{tenant.slug}/")
    if admin[0]:
        click.echo(f"Invited {admin[0].strip().lower()} as its tenant admin.")


@click.group("plugins", help="See installed plugins and turn them on or off per tenant.")
def plugins_cli() -> None:
    pass


@plugins_cli.command("list")
@click.option("--tenant", "slug", help="Show whether each plugin is on for this tenant.")
@with_appcontext
def plugins_list(slug: str | None) -> None:
    """List installed plugins (and their state for one tenant)."""
    host = plugin_host()
    enabled: frozenset[str] | None = None
    if slug is not None:
        try:
            tenant = service.get_tenant(slug)
        except service.TenantError as exc:
            _fail(str(exc))
        enabled = directory().by_id(tenant.id).plugins
    if not host.names():
        click.echo("No plugins installed.")
    for name in host.names():
        state = "" if enabled is None else ("on   " if name in enabled else "off  ")
        click.echo(f"{state}{name:<14} {host.description(name)}")


def _switch(slug: str, plugin: str, enabled: bool) -> None:
    try:
        tenant = service.get_tenant(slug)
        service.set_plugin_enabled(tenant, plugin, enabled)
        db.session.commit()
    except (service.TenantError, PluginError) as exc:
        _fail(str(exc))
    click.echo(f"{plugin} {'enabled' if enabled else 'disabled'} for {slug}")


@plugins_cli.command("enable")
@click.argument("tenant")
@click.argument("plugin")
@with_appcontext
def plugins_enable(tenant: str, plugin: str) -> None:
    """Turn PLUGIN on for TENANT (effective on the next request)."""
    _switch(tenant, plugin, True)


@plugins_cli.command("disable")
@click.argument("tenant")
@click.argument("plugin")
@with_appcontext
def plugins_disable(tenant: str, plugin: str) -> None:
    """Turn PLUGIN off for TENANT (effective on the next request)."""
    _switch(tenant, plugin, False)


def _parse_assignment(text: str, properties: dict[str, Any]) -> tuple[str, Any]:
    """``KEY=VALUE``: VALUE as JSON, except where the schema wants a string (SIREN digits)."""
    match = re.fullmatch(r"([A-Za-z_][\w.]*)=(.*)", text, flags=re.S)
    if match is None:
        raise click.BadParameter(f"'{text}' is not KEY=VALUE")
    key, raw = match.groups()
    if properties.get(key, {}).get("type") == "string" and not raw.startswith('"'):
        return key, raw
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


@plugins_cli.command("configure")
@click.argument("tenant")
@click.argument("plugin")
@click.argument("assignments", nargs=-1, required=True)
@with_appcontext
def plugins_configure(tenant: str, plugin: str, assignments: tuple[str, ...]) -> None:
    """Set PLUGIN settings for TENANT: KEY=VALUE ... (VALUE read as JSON when it parses)."""
    try:
        schema = plugin_host().settings_schema(plugin) or {}
    except PluginError as exc:
        _fail(str(exc))
    values = dict(_parse_assignment(a, schema.get("properties", {})) for a in assignments)
    try:
        row = service.get_tenant(tenant)
        merged = service.update_plugin_settings(row, plugin, values)
        db.session.commit()
    except (service.TenantError, PluginError, PluginSettingsError) as exc:
        _fail(str(exc))
    click.echo(json.dumps(_masked(merged), ensure_ascii=False, sort_keys=True))


def _masked(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as the terminal may show them: secrets (API keys, webhook secrets,
    passwords) reduced to their last four characters, as payment dashboards do."""
    def hide(key: str, value: Any) -> Any:
        if isinstance(value, str) and any(w in key for w in ("secret", "password", "token")):
            return "…" + value[-4:] if len(value) > 8 else "…"
        return value

    return {key: hide(key, value) for key, value in settings.items()}


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo tenants, catalogue and users (safe to run again)."""
    from comptoir.demo import load_demo

    for line in load_demo():
        click.echo(line)


@click.group("pg", help="PostgreSQL operations.")
def pg_cli() -> None:
    pass


@pg_cli.command("create-app-role")
@click.argument("role")
@with_appcontext
def pg_create_app_role(role: str) -> None:
    """Create ROLE (if needed) as the login the app runs as, under row-level security.

    Run it as the owner of the tables (the user migrations run as). The role gets data
    rights only: it owns nothing and cannot bypass RLS, so the policies hold for it.
    """
    from comptoir.core.pgroles import ensure_app_role

    if db.engine.dialect.name != "postgresql":
        _fail("create-app-role needs a PostgreSQL COMPTOIR_DATABASE_URL")
    try:
        ensure_app_role(db.engine, role)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"role {role} can now connect with data rights under row-level security")


@click.group("stock", help="An office's stock: shop sales, receipts, levels.")
def stock_cli() -> None:
    pass


def _office(slug: str) -> Tenant:
    try:
        tenant = service.get_tenant(slug)
    except service.TenantError as exc:
        _fail(str(exc))
    if tenant.parent_id is not None:
        _fail(f"'{slug}' is a reseller; stock belongs to its office '{tenant.parent.slug}'")
    db.session.commit()
    return tenant


@stock_cli.command("sell")
@click.argument("office")
@click.argument("location")
@click.argument("sku")
@click.argument("quantity", type=click.IntRange(1, 10_000))
@with_appcontext
def stock_sell(office: str, location: str, sku: str, quantity: int) -> None:
    """Record a sale at a physical shop's till; the web shop sees it at once."""
    from comptoir.stock import service as stock

    tenant = _office(office)
    try:
        left = stock.sell_in_shop(tenant.id, location, sku, quantity, reference="till")
    except stock.StockError as exc:
        _fail(str(exc))
    click.echo(f"sold {quantity} x {sku} at {location}; {left} left there")


@stock_cli.command("receive")
@click.argument("office")
@click.argument("location")
@click.argument("sku")
@click.argument("quantity", type=click.IntRange(1, 1_000_000))
@click.option("--low-threshold", type=click.IntRange(0, 1_000_000),
              help="Alert staff at or below this many available.")
@with_appcontext
def stock_receive(office: str, location: str, sku: str, quantity: int,
                  low_threshold: int | None) -> None:
    """Goods in at a location."""
    from comptoir.stock import service as stock

    tenant = _office(office)
    try:
        stock.receive(tenant.id, location, sku, quantity, low_threshold=low_threshold)
    except stock.StockError as exc:
        _fail(str(exc))
    click.echo(f"received {quantity} x {sku} at {location}")


@stock_cli.command("release-expired")
@with_appcontext
def stock_release_expired() -> None:
    """Give back what abandoned checkouts still hold (run it every few minutes)."""
    from comptoir.stock import service as stock

    for slug, released in stock.release_expired_everywhere().items():
        click.echo(f"{slug}: released {released} expired holds")


@click.group("jobs", help="Background jobs (Huey): the worker, the queue, the schedule.")
def jobs_cli() -> None:
    pass


@jobs_cli.command("worker")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Jobs run at the same time (threads).")
@click.option("--no-periodic", is_flag=True,
              help="Leave the periodic jobs to another worker (one scheduler per queue).")
@with_appcontext
def jobs_worker(workers: int, no_periodic: bool) -> None:
    """Run queued and periodic jobs until stopped (script/server starts one)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["JOBS_URL"].strip() == "immediate":
        _fail("COMPTOIR_JOBS_URL is 'immediate': jobs run when enqueued, there is no queue "
              "to work on")
    jobs.worker(app, workers=workers, periodic=not no_periodic)


@jobs_cli.command("run-pending")
@with_appcontext
def jobs_run_pending() -> None:
    """Run every queued job now, in this process, and exit (cron without a worker)."""
    ran = jobs.run_pending(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"ran {ran} job{'' if ran == 1 else 's'}")


@jobs_cli.command("run")
@click.argument("name")
@with_appcontext
def jobs_run(name: str) -> None:
    """Run one periodic job now, in this process (cron without a worker, or catching up):
    ``comptoir jobs run orders.expire_unpaid``."""
    declared = {job.name: job for job in jobs.registered()}
    if name not in declared:
        _fail(f"no job '{name}' (jobs: {', '.join(sorted(declared))})")
    if declared[name].minutes is None:
        _fail(f"'{name}' takes arguments: it is queued by the code, not run by hand")
    result = declared[name].fn()
    click.echo(f"{name}: {result if result else 'nothing to do'}")


@jobs_cli.command("list")
@with_appcontext
def jobs_list() -> None:
    """List the declared jobs, with the interval of the periodic ones."""
    for declared in jobs.registered():
        when = f"every {declared.minutes} min" if declared.minutes else "on demand"
        click.echo(f"{declared.name:<32} {when}")


def _db_group() -> click.Group:
    """Flask-Migrate's ``db`` group, with ``upgrade`` going to every head by default.

    Each plugin's migrations are a branch of their own, so "the" head does not exist once a
    plugin ships tables; ``comptoir db upgrade`` must still just work.
    """
    import flask_migrate
    from flask_migrate.cli import db as migrate_group

    group = click.Group(
        "db", callback=migrate_group.callback, params=migrate_group.params,
        help=migrate_group.help,
    )
    for name, command in migrate_group.commands.items():
        if name != "upgrade":
            group.add_command(command)

    @group.command("upgrade")
    @click.argument("revision", default="heads")
    @click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
    @with_appcontext
    def upgrade(revision: str, sql: bool) -> None:
        """Upgrade the core and every plugin branch (default: all heads)."""
        from flask import g

        flask_migrate.upgrade(directory=g.directory, revision=revision, sql=sql, x_arg=g.x_arg)

    return group


@click.group("mail", help="E-mail: read what the outbox holds while no SMTP server is set.")
def mail_cli() -> None:
    pass


@mail_cli.command("outbox")
@click.option("--last", "last", default=5, show_default=True, type=click.IntRange(1, 1000),
              help="How many of the newest messages to show.")
@click.option("--to", "to", default="", help="Only messages to this address.")
@with_appcontext
def outbox_command(last: int, to: str) -> None:
    """Show the newest messages written to the outbox (COMPTOIR_MAIL_URL empty): who they
    went to, their subject and their plain text, links included, so a developer or a demo
    can follow a confirmation link without a mail server."""
    from comptoir.core.mail import outbox_messages, outbox_path

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if (app.config.get("MAIL_URL") or "").strip():
        _fail("COMPTOIR_MAIL_URL is set: mail goes to that server, not to the outbox")
    wanted = to.strip().lower()
    messages = [m for m in outbox_messages(app) if not wanted or wanted in str(m["To"]).lower()]
    if not messages:
        click.echo(f"no message in {outbox_path(app)}" + (f" to {to}" if to else ""))
        return
    for message in messages[-last:]:
        click.echo(f"--- {message['Date']}  To: {message['To']}")
        click.echo(f"Subject: {message['Subject']}")
        body = message.get_body(("plain",))
        click.echo(body.get_content().rstrip() if body is not None else "(no text part)")
        click.echo("")


def register_commands(app: Flask) -> None:
    from comptoir.accounts.cli import users_cli

    for command in (_db_group(), tenants_cli, plugins_cli, demo_command, pg_cli, stock_cli,
                    jobs_cli, mail_cli, users_cli):
        app.cli.add_command(command)
