"""What the platform dashboard shows of a shop's newsletters: is mail going out?

Three counts over the last 24 hours (deliveries queued, sending, failed or bounced) and the
state of the last campaign, read inside the shop's scope by the dashboard (see the
``comptoir_platform_status`` hook). A few aggregate queries, cheap for 50 shops a page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from comptoir.toolkit import db, plugin_translations
from plugins.newsletters.models import (
    BOUNCED,
    CANCELLED,
    DONE,
    DRAFT,
    FAILED,
    QUEUED,
    RUNNING,
    SCHEDULED,
    SENDING,
    SENT,
    Campaign,
    Delivery,
)

translations = plugin_translations("plugins.newsletters")
_ = translations.gettext

#: How far back the counts look.
WINDOW = timedelta(hours=24)


def _campaign_state(status: str) -> str:
    return {
        DRAFT: _("draft"), SCHEDULED: _("scheduled"), RUNNING: _("sending"),
        DONE: _("sent"), CANCELLED: _("cancelled"),
    }.get(status, status)


def status_lines(tenant: Any, now: datetime | None = None) -> list[dict[str, str]]:
    """The dashboard's lines for the current tenant (the caller set its scope)."""
    since = (now or datetime.now(UTC)) - WINDOW
    counts = dict(db.session.execute(
        select(Delivery.status, func.count(Delivery.id))
        .where(Delivery.created_at >= since).group_by(Delivery.status)
    ).all())
    failed = counts.get(FAILED, 0) + counts.get(BOUNCED, 0)
    sent = counts.get(SENT, 0)
    lines = [
        {"label": _("Newsletter deliveries queued (24 h)"), "value": str(counts.get(QUEUED, 0)),
         "level": "ok"},
        {"label": _("Newsletter deliveries sending (24 h)"),
         "value": str(counts.get(SENDING, 0)), "level": "ok"},
        {"label": _("Newsletter deliveries failed (24 h)"), "value": str(failed),
         "level": "ok" if not failed else ("error" if failed > sent else "warning")},
    ]
    last = db.session.execute(
        select(Campaign.name, Campaign.status).order_by(Campaign.created_at.desc(),
                                                        Campaign.id.desc()).limit(1)
    ).first()
    if last is not None:
        lines.append({"label": _("Last campaign"),
                      "value": f"{last.name}: {_campaign_state(last.status)}", "level": "ok"})
    return lines
