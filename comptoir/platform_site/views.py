"""The platform home lists the public storefronts; ``/healthz`` tells a load balancer if we
can serve."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select, text

from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.tenants.models import SUSPENDED, Tenant

bp = Blueprint("platform", __name__)


def storefront_url(tenant: Tenant) -> str:
    """Where a shopper reaches ``tenant``: its domain, its subdomain, or ``/s/<slug>/``."""
    if tenant.domains:
        return f"{request.scheme}://{tenant.domains[0].domain}/"
    platform = current_app.config["PLATFORM_DOMAIN"]
    if platform:
        return f"{request.scheme}://{tenant.slug}.{platform}/"
    return f"{request.root_path.split('/s/', 1)[0]}/s/{tenant.slug}/"


def home() -> str:
    """The platform's home; served at ``/`` by :func:`comptoir.create_app`'s ``index``."""
    tenants = db.session.scalars(
        select(Tenant).where(Tenant.public.is_(True), Tenant.status != SUSPENDED)
        .order_by(Tenant.kind, Tenant.name)
    ).all()
    offices = [t for t in tenants if t.parent_id is None]
    resellers = {o.id: [t for t in tenants if t.parent_id == o.id] for o in offices}
    return render(
        "platform/home.html", offices=offices, resellers=resellers, storefront_url=storefront_url
    )


@bp.route("/healthz")
def healthz() -> Any:
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        current_app.logger.warning("health check: database unreachable: %s", exc)
        database = "unreachable"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "failing", database=database), status
