"""The staff's newsletter pages: subscribers and their consent, campaigns from draft to
results.

Everything is read in the shop's own tenant: another shop's subscriber or campaign is a 404
like a row that does not exist. Staff only (``staff`` and ``tenant_admin``): a visitor is
sent to the login page, a customer gets a 403.

Work that reads the resellers' readers (the audience, the missing translations, starting a
campaign) and work that renders a message in a shop context (preview, test send) runs in an
app context of its own (:func:`_apart`), as a job would: visiting another shop's rows
empties the session, which must not happen to the request's (its signed-in user...).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_babel import format_datetime
from flask_login import current_user
from sqlalchemy import func, or_, select

from comptoir.toolkit import (
    TenantInfo,
    as_tenant,
    db,
    login_next,
    plugin_translations,
    render_translated,
)
from plugins.newsletters import campaigns, mailing, segments
from plugins.newsletters.models import (
    CANCELLED,
    DONE,
    DRAFT,
    PENDING,
    RUNNING,
    SCHEDULED,
    SUBSCRIBED,
    UNSUBSCRIBED,
    Campaign,
    ConsentEvent,
    Subscriber,
)

translations = plugin_translations("plugins.newsletters")
_ = translations.gettext

STAFF_ROLES = ("staff", "tenant_admin")
PAGE_SIZE = 50
#: Results refresh this often on a sending campaign's page (milliseconds).
REFRESH_MS = 2000

bp = Blueprint("newsletters_staff", __name__, url_prefix="/staff/newsletters",
               template_folder="templates")


def _is_staff() -> bool:
    return bool(current_user.is_authenticated and current_user.role in STAFF_ROLES)


@bp.before_request
def _staff_only() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    if not _is_staff():
        abort(403)
    return None


def menu_items() -> list[dict[str, str]] | None:
    """The staff's menu entry (nothing for customers and visitors)."""
    if _is_staff():
        return [{"label": _("Newsletters"), "url": url_for("newsletters_staff.index")}]
    return None


def _tenant() -> TenantInfo:
    return g.tenant


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_translated(translations, f"newsletters/staff/{template}",
                             status_label=campaigns.status_label, **context), status


@contextmanager
def _apart(tenant: TenantInfo) -> Iterator[None]:
    """Run a block as a job would: an app context (and so a database session) of its own,
    as ``tenant``. Rows loaded inside stay inside; pass ids in and plain values out."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context(), as_tenant(tenant):
        yield


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _subscriber(subscriber_id: int) -> Subscriber:
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        abort(404)
    return subscriber


# --- overview and subscribers ------------------------------------------------------------


@bp.route("")
def index() -> Any:
    counts = dict(db.session.execute(select(Subscriber.status, func.count(Subscriber.id))
                                     .group_by(Subscriber.status)).all())
    rows = db.session.scalars(select(Campaign).order_by(Campaign.created_at.desc(),
                                                        Campaign.id.desc())).all()
    listed = [(c, campaigns.progress(c)) for c in rows]
    return _page("index.html", counts={s: counts.get(s, 0)
                                       for s in (SUBSCRIBED, PENDING, UNSUBSCRIBED)},
                 campaigns=listed)


@bp.route("/subscribers")
def subscribers() -> Any:
    query = request.args.get("q", "").strip()[:254]
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    statement = select(Subscriber)
    if query:
        pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        statement = statement.where(or_(Subscriber.email.like(pattern, escape="\\"),
                                        func.lower(Subscriber.name).like(pattern,
                                                                         escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    rows = db.session.scalars(statement.order_by(Subscriber.email, Subscriber.id)
                              .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).all()
    return _page("subscribers.html", rows=rows, q=query, page=number, pages=pages,
                 total=total)


@bp.route("/subscribers/<int:subscriber_id>")
def subscriber(subscriber_id: int) -> Any:
    found = _subscriber(subscriber_id)
    ledger = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.subscriber_id == found.id).order_by(ConsentEvent.at,
                                                          ConsentEvent.id)).all()
    return _page("subscriber.html", subscriber=found, ledger=ledger,
                 can_export=_consent() is not None, **_labels())


def _labels() -> dict[str, dict[str, str]]:
    """Words for the codes the ledger and the choices store, in the staff's language."""
    return {
        "action_labels": {"requested": _("asked to subscribe"), "confirmed": _("confirmed"),
                          "withdrawn": _("unsubscribed"),
                          "preferences": _("changed preferences"),
                          "suppressed": _("address suppressed")},
        "source_labels": {"footer_form": _("the shop's subscribe form"),
                          "email_link": _("the link in the confirmation e-mail"),
                          "one_click": _("one-click unsubscribe (mail client)"),
                          "unsubscribe_page": _("the unsubscribe page"),
                          "preferences": _("the preference centre"),
                          "hard_bounce": _("the address bounced"),
                          "complaint": _("a spam complaint")},
        "channel_labels": {"email": _("e-mail"), "sms": _("SMS"), "push": _("push")},
        "frequency_labels": {"any": _("every campaign"), "weekly": _("weekly at most"),
                             "monthly": _("monthly at most")},
    }


@bp.route("/subscribers/<int:subscriber_id>/export.json")
def export(subscriber_id: int) -> Any:
    """Everything held about the person, as the consent module exports it (their right of
    access), as a download."""
    found = _subscriber(subscriber_id)
    module = _consent()
    if module is None:
        abort(404)
    response = jsonify(module.export(found))
    response.headers["Content-Disposition"] = (
        f'attachment; filename="subscriber-{found.id}.json"')
    response.headers["Cache-Control"] = "no-store"
    return response


def _consent() -> Any:
    try:
        from plugins.newsletters import consent
    except ImportError:  # pragma: no cover - the module ships with the plugin
        return None
    return consent if hasattr(consent, "export") else None


# --- campaigns: writing ------------------------------------------------------------------


def _form_values(campaign: Campaign | None) -> dict[str, Any]:
    if request.method == "POST":
        form = request.form
        return {"name": form.get("name", ""), "theme": form.get("theme", ""),
                "segment": form.get("segment", ""),
                "include_resellers": form.get("include_resellers") == "yes",
                "fallback_locale": form.get("fallback_locale", "")}
    if campaign is None:
        return {"name": "", "theme": "", "segment": "", "include_resellers": True,
                "fallback_locale": ""}
    return {"name": campaign.name, "theme": campaign.theme, "segment": campaign.segment,
            "include_resellers": campaign.include_resellers,
            "fallback_locale": campaign.fallback_locale or ""}


def _campaign_form(campaign: Campaign | None) -> Any:
    tenant = _tenant()
    values = _form_values(campaign)
    error: campaigns.CampaignError | None = None
    if request.method == "POST":
        try:
            saved = campaigns.save(tenant, campaign, actor=current_user.email, **values)
        except campaigns.CampaignError as exc:
            db.session.rollback()
            error = exc
        else:
            flash(_("Campaign saved."), "success")
            return redirect(url_for(".campaign", campaign_id=saved.id), 303)
    return _page("campaign_form.html", 422 if error else 200, campaign=campaign,
                 values=values, error=error, themes=campaigns.themes(tenant),
                 languages=campaigns.languages(tenant), terms=list(segments.TERMS),
                 offers_resellers=not tenant.is_reseller)


@bp.route("/campaigns/new", methods=["GET", "POST"])
def new_campaign() -> Any:
    return _campaign_form(None)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
def edit_campaign(campaign_id: int) -> Any:
    campaign = _campaign(campaign_id)
    if campaign.status not in (DRAFT, SCHEDULED):
        flash(_("This campaign is %(status)s: it can no longer be changed.",
                status=campaigns.status_label(campaign.status)), "error")
        return redirect(url_for(".campaign", campaign_id=campaign.id), 303)
    return _campaign_form(campaign)


@bp.route("/campaigns/<int:campaign_id>/translations/<locale>", methods=["GET", "POST"])
def translation(campaign_id: int, locale: str) -> Any:
    tenant = _tenant()
    campaign = _campaign(campaign_id)
    if locale not in campaigns.languages(tenant):
        abort(404)
    existing = campaigns.translations_of(campaign).get(locale)
    values = {"subject": existing.subject if existing else "",
              "body": existing.body if existing else ""}
    error: campaigns.CampaignError | None = None
    if request.method == "POST":
        values = {"subject": request.form.get("subject", ""),
                  "body": request.form.get("body", "")}
        try:
            if request.form.get("action") == "delete":
                campaigns.delete_translation(campaign, locale)
                flash(_("The text in %(language)s was removed.", language=locale), "success")
            else:
                campaigns.save_translation(tenant, campaign, locale, **values)
                flash(_("The text in %(language)s was saved.", language=locale), "success")
        except campaigns.CampaignError as exc:
            db.session.rollback()
            error = exc
        else:
            return redirect(url_for(".campaign", campaign_id=campaign_id), 303)
    return _page("translation.html", 422 if error else 200, campaign=campaign,
                 locale=locale, values=values, error=error, exists=existing is not None,
                 editable=campaign.status in (DRAFT, SCHEDULED),
                 placeholders=("first_name", "name", "email", "shop_name", "office_name"))


# --- campaigns: the page, preview, test, sending -----------------------------------------


def _local(moment: datetime | None, tenant: TenantInfo) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tenant.timezone or "UTC"))


def _missing(tenant: TenantInfo, campaign_id: int) -> tuple[dict[str, int], int]:
    """Languages without translation, and the audience's size, counted as a job would."""
    with _apart(tenant):
        campaign = _campaign(campaign_id)
        readers = campaigns.audience(campaign, tenant)
        missing = campaigns.missing_among(readers, campaigns.translations_of(campaign),
                                          campaign.fallback_locale)
        return missing, len(readers)


@bp.route("/campaigns/<int:campaign_id>")
def campaign(campaign_id: int) -> Any:
    tenant = _tenant()
    found = _campaign(campaign_id)
    texts = campaigns.translations_of(found)
    missing, reach = ({}, None)
    if found.status in (DRAFT, SCHEDULED):
        missing, reach = _missing(tenant, campaign_id)
    return _page("campaign.html", campaign=found, texts=texts,
                 languages=campaigns.languages(tenant), progress=campaigns.progress(found),
                 missing=missing, reach=reach, statuses=campaigns.STATUSES,
                 scheduled_local=_local(found.scheduled_at, tenant),
                 started_local=_local(found.started_at, tenant),
                 finished_local=_local(found.finished_at, tenant),
                 timezone=tenant.timezone or "UTC", refresh_ms=REFRESH_MS,
                 editable=found.status in (DRAFT, SCHEDULED),
                 can_start=found.status in (DRAFT, SCHEDULED),
                 can_cancel=found.status in (DRAFT, SCHEDULED, RUNNING),
                 sending=found.status == RUNNING, done=found.status in (DONE, CANCELLED))


@bp.route("/campaigns/<int:campaign_id>/progress.json")
def progress(campaign_id: int) -> Response:
    found = _campaign(campaign_id)
    data = campaigns.progress(found)
    data["status_label"] = campaigns.status_label(found.status)
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/campaigns/<int:campaign_id>/preview/<locale>")
def preview(campaign_id: int, locale: str) -> Any:
    tenant = _tenant()
    found = _campaign(campaign_id)
    if locale not in campaigns.languages(tenant):
        abort(404)
    error, msg = None, None
    with _apart(tenant):
        try:
            msg = campaigns.preview(_campaign(campaign_id), locale, tenant)
        except (campaigns.CampaignError, mailing.ContentError) as exc:
            error = str(exc)
    parts: dict[str, str] = {}
    headers: list[tuple[str, str]] = []
    if msg is not None:
        for kind in ("plain", "html"):
            part = msg.get_body((kind,))
            parts[kind] = part.get_content() if part is not None else ""
        headers = [(name, str(msg[name])) for name in
                   ("From", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post")
                   if msg[name] is not None]
    return _page("preview.html", 200 if msg is not None else 422, campaign=found,
                 locale=locale, languages=campaigns.languages(tenant), error=error,
                 parts=parts, headers=headers)


@bp.route("/campaigns/<int:campaign_id>/test", methods=["POST"])
def test_send(campaign_id: int) -> Any:
    tenant = _tenant()
    found = _campaign(campaign_id)
    address = request.form.get("address", "").strip()[:254] or current_user.email
    locale = request.form.get("locale", "")
    if locale not in campaigns.languages(tenant):
        flash(_("Choose one of the shop's languages."), "error")
        return redirect(url_for(".campaign", campaign_id=found.id), 303)
    name = current_user.name
    with _apart(tenant):
        try:
            campaigns.test_send(_campaign(campaign_id), tenant, address, locale, name=name)
        except campaigns.CampaignError as exc:
            problem = str(exc)
        else:
            problem = ""
    if problem:
        flash(problem, "error")
    else:
        flash(_("A test message was sent to %(address)s.", address=address), "success")
    return redirect(url_for(".campaign", campaign_id=campaign_id), 303)


def _moment(value: str, tenant: TenantInfo) -> datetime | None:
    """A ``datetime-local`` value, in the shop's time zone, as an aware moment."""
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if local.tzinfo is not None:
        return local
    return local.replace(tzinfo=ZoneInfo(tenant.timezone or "UTC"))


@bp.route("/campaigns/<int:campaign_id>/schedule", methods=["POST"])
def schedule(campaign_id: int) -> Any:
    tenant = _tenant()
    found = _campaign(campaign_id)
    at = _moment(request.form.get("at", ""), tenant)
    try:
        if at is None:
            raise campaigns.CampaignError("scheduled_at", _(
                "Give a date and time, e.g. 2026-12-01 09:30."))
        campaigns.schedule(found, at)
    except campaigns.CampaignError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("The campaign will start on %(moment)s (%(zone)s).",
                moment=format_datetime(_local(at, tenant), "short"),
                zone=tenant.timezone or "UTC"), "success")
    return redirect(url_for(".campaign", campaign_id=campaign_id), 303)


@bp.route("/campaigns/<int:campaign_id>/start", methods=["POST"])
def start(campaign_id: int) -> Any:
    tenant = _tenant()
    _campaign(campaign_id)
    with _apart(tenant):
        try:
            added = campaigns.start(_campaign(campaign_id), tenant)
        except campaigns.CampaignError as exc:
            problem, added = str(exc), 0
        else:
            problem = ""
    if problem:
        flash(problem, "error")
    else:
        flash(translations.ngettext("Sending started: %(num)d message.",
                                    "Sending started: %(num)d messages.", added), "success")
    return redirect(url_for(".campaign", campaign_id=campaign_id), 303)


@bp.route("/campaigns/<int:campaign_id>/cancel", methods=["POST"])
def cancel(campaign_id: int) -> Any:
    found = _campaign(campaign_id)
    if found.status in (DONE, CANCELLED):
        flash(_("This campaign is %(status)s: there is nothing to cancel.",
                status=campaigns.status_label(found.status)), "error")
    else:
        stopped = campaigns.cancel(found)
        flash(translations.ngettext("Campaign cancelled; %(num)d message will not be sent.",
                                    "Campaign cancelled; %(num)d messages will not be sent.",
                                    stopped),
              "success")
    return redirect(url_for(".campaign", campaign_id=campaign_id), 303)
