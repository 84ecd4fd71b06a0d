"""The figures the dashboard shows per tenant, each read inside that tenant's own scope.

Orders are tenant data: the ORM filters them to the current tenant and, on PostgreSQL,
row-level security hides every other tenant's rows from the app's role. The dashboard
therefore never reads "all orders": for each listed tenant it enters
:func:`comptoir.core.scoping.tenant_context` and runs one small aggregate, so a page of 50
tenants is 50 small queries, each seeing exactly one shop, the same way a request of that
shop would. The plugins' status lines (``comptoir_platform_status``) are asked inside the
same scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask_login import current_user
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.core.plugins import hooks
from comptoir.core.scoping import tenant_context
from comptoir.orders.models import CANCELLED, Order
from comptoir.platform_admin.models import PluginFailure
from comptoir.tenants.directory import TenantInfo

#: The window of the order figures.
ORDER_WINDOW = timedelta(days=30)
CENT = Decimal("0.01")
LEVELS = ("ok", "warning", "error")


@dataclass(frozen=True)
class TenantFigures:
    """One tenant's line on the dashboard."""

    tenant: TenantInfo
    orders: int
    #: Revenue (gross, cancelled orders left out) per currency, the tenant's own first.
    revenue: dict[str, Decimal]
    plugin_errors: int
    status: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def _outside_request_transaction() -> Iterator[None]:
    """Let ``tenant_context`` switch tenants in a request that already read something.

    The request's transaction was begun under the request's tenant (or none), so it is
    ended first; the logged-in shop user, if any, is kept out of the session meanwhile so
    that the page around the figures can still show who is logged in.
    """
    user = None
    if current_user and getattr(current_user, "is_authenticated", False):
        user = current_user._get_current_object()
        if user in db.session:
            db.session.expunge(user)
        else:
            user = None
    db.session.rollback()
    try:
        yield
    finally:
        if user is not None:
            db.session.add(user)


def _status_lines(info: TenantInfo) -> list[dict[str, str]]:
    lines: list[dict[str, str]] = []
    for answer in hooks(info).comptoir_platform_status(tenant=info):
        for line in answer or ():
            if isinstance(line, dict) and "label" in line and "value" in line:
                level = line.get("level", "ok")
                lines.append({"label": str(line["label"]), "value": str(line["value"]),
                              "level": level if level in LEVELS else "ok"})
    return lines


def error_counts(tenant_ids: Iterable[int]) -> dict[int, int]:
    """Recorded plugin failures per tenant (a platform table: no scope needed)."""
    ids = list(tenant_ids)
    if not ids:
        return {}
    return {tenant_id: int(total or 0) for tenant_id, total in db.session.execute(
        select(PluginFailure.tenant_id, func.sum(PluginFailure.count))
        .where(PluginFailure.tenant_id.in_(ids)).group_by(PluginFailure.tenant_id)
    ).all()}


def figures_for(infos: list[TenantInfo], now: datetime | None = None) -> list[TenantFigures]:
    """Orders and revenue of the last 30 days, plugin errors and status, per tenant.

    Must be called with no tenant-owned object pending in the request's session: the
    request's transaction is rolled back before the first tenant's scope is entered.
    """
    since = (now or datetime.now(UTC)) - ORDER_WINDOW
    errors = error_counts(i.id for i in infos)
    found: list[TenantFigures] = []
    with _outside_request_transaction():
        for info in infos:
            with tenant_context(db.session, info.id, info.office_id):
                rows = db.session.execute(
                    select(Order.currency, func.count(Order.id), func.sum(Order.total_gross))
                    .where(Order.created_at >= since, Order.status != CANCELLED)
                    .group_by(Order.currency)
                ).all()
                status = _status_lines(info)
            revenue = {info.currency: Decimal("0.00")}
            count = 0
            for currency, orders, total in rows:
                count += int(orders)
                revenue[currency] = (revenue.get(currency, Decimal("0"))
                                     + Decimal(str(total or 0))).quantize(CENT)
            found.append(TenantFigures(info, count, revenue, errors.get(info.id, 0), status))
    return found
