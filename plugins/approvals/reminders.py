"""Reminders: ``comptoir approvals remind`` e-mails whoever must decide a request still waiting
after the tenant's ``reminder_hours``, at most once per that period. Run it from cron (every
hour, say); running it more often sends nothing more.

The core has no hook for CLI commands, so the command hangs on the plugin's blueprint
(``bp.cli``): Flask adds a blueprint's CLI group under the blueprint's name, hence
``comptoir approvals remind``. It works tenant by tenant with ``toolkit.as_tenant``, for
every tenant that enabled the plugin.

Links in the e-mails: ``url_for`` needs a request, so each tenant's work runs in
``app.test_request_context(base_url=...)`` whose base is where that shop is reached: its
first custom domain, else its subdomain of ``COMPTOIR_PLATFORM_DOMAIN`` (both https), else
``/s/<slug>/`` under ``--base-url`` (default ``http://127.0.0.1:5000``, what
``script/server`` serves), exactly the three ways a request finds its tenant.

Each reminder is claimed with a conditional UPDATE on ``reminded_at`` and committed, with its
"reminded" audit event, before the mail goes: two runs at once remind once, and a mail that
fails is logged and retried only in the next period, never sent twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import click
from flask import current_app, g
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from comptoir.toolkit import TenantInfo, as_tenant, db, plugin_settings, shop_base_url
from comptoir.toolkit import tenants_with_plugin as toolkit_tenants_with_plugin
from plugins.approvals.models import PENDING, Event, Request

log = logging.getLogger("comptoir.approvals")
PLUGIN = "approvals"


def tenants_with_plugin() -> list[TenantInfo]:
    """Every tenant that enabled this plugin (the office's choice inherited as for pages)."""
    return toolkit_tenants_with_plugin(PLUGIN)


def due(period: timedelta, now: datetime) -> list[Request]:
    """Pending requests older than ``period`` whose decider was not reminded within it."""
    cutoff = now - period
    return list(db.session.scalars(
        select(Request).where(Request.status == PENDING, Request.created_at <= cutoff,
                              or_(Request.reminded_at.is_(None),
                                  Request.reminded_at <= cutoff))
        .order_by(Request.id)))


def _claim(request: Request, period: timedelta, now: datetime) -> bool:
    cutoff = now - period
    claimed = db.session.execute(
        update(Request).where(Request.id == request.id, Request.status == PENDING,
                              or_(Request.reminded_at.is_(None),
                                  Request.reminded_at <= cutoff))
        .values(reminded_at=now).execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def remind_tenant(tenant: TenantInfo, now: datetime | None = None) -> int:
    """Remind the deciders of ``tenant``'s overdue requests; returns how many were sent.

    Runs inside a request context for the tenant (links) and as the tenant (scoping).
    """
    from plugins.approvals.notify import remind_decider

    now = now or datetime.now(UTC)
    period = timedelta(hours=int(plugin_settings(PLUGIN, tenant)["reminder_hours"]))
    sent = 0
    for request in due(period, now):
        request_id, company_id = request.id, request.company_id
        if not _claim(request, period, now):
            db.session.rollback()
            continue
        db.session.commit()
        found = db.session.get(Request, request_id)
        try:
            to = remind_decider(tenant, found)
        except Exception:
            log.exception("reminder for approval request %s not sent", request_id)
            continue
        db.session.add(Event(company_id=company_id, request_id=request_id, actor="system",
                             action="reminded", note=to))
        db.session.commit()
        sent += 1
    return sent


@click.command("remind")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
              help="Where shops without a domain of their own are served (/s/<slug>/ below).")
@with_appcontext
def remind_command(base_url: str) -> None:
    """E-mail the decider of every request waiting longer than the shop's reminder_hours
    (at most once per period; run it from cron)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for tenant in tenants_with_plugin():
        with app.test_request_context(base_url=shop_base_url(tenant, base_url)), \
                as_tenant(tenant), force_locale(tenant.locale):
            g.tenant = tenant
            sent = remind_tenant(tenant)
        if sent:
            click.echo(f"{tenant.slug}: {sent} reminder(s) sent")
