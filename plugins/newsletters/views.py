"""The reader's pages: subscribe, confirm, preferences, unsubscribe (one click), tracking.

Every page works without an account: a reader comes from a message, and the signed link
(:mod:`.tokens`) proves who they are. A few rules shape the pages:

- a GET never changes anything: mail gateways follow links to scan them, so confirming and
  leaving are buttons (POST), except that RFC 8058's one-click POST needs no page at all,
  no cookie and no CSRF token (the signed link is the proof);
- the pages do not tell who is subscribed: the subscribe and "unsubscribe by address" forms
  answer the same whatever the address;
- a link that is forged, altered, another shop's or too old gets a page that says so and
  offers the way forward (subscribe again, ask for a new link);
- the tracking pixel and click links set a timestamp on their delivery, as the shop that sent
  it (an office's campaign is followed on its reseller's storefront), and the pixel answers
  the same image whatever the token: it tells nothing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, redirect, request
from flask_babel import get_locale
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import (
    Markup,
    TenantInfo,
    as_tenant,
    csrf_exempt,
    current_tenant,
    db,
    plugin_translations,
    render_translated,
    tenant_by_id,
)
from plugins.newsletters import consent, models, tokens
from plugins.newsletters.models import FREQUENCIES, SUBSCRIBED, UNSUBSCRIBED, Delivery

bp = Blueprint("newsletters", __name__, url_prefix="/newsletter", template_folder="templates")

translations = plugin_translations("plugins.newsletters")
_ = translations.gettext

#: A 1x1 transparent GIF: the open pixel.
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00"
         b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
ONE_CLICK = "One-Click"


def _tenant() -> TenantInfo:
    tenant = current_tenant()
    if tenant is None:  # platform pages have no reader pages
        abort(404)
    return tenant


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_translated(translations, template, **context), status


def _locale() -> str:
    return str(get_locale())


def _ip() -> str:
    return (request.remote_addr or "")[:45]


def _agent() -> str:
    return request.headers.get("User-Agent", "")[:300]


@bp.after_request
def _private(response: Response) -> Response:
    """Pages reached by a personal link are nobody else's: not cached, not indexed, and
    their address (the token) not passed on to sites they link to."""
    if request.view_args and "token" in request.view_args:
        response.headers.setdefault("Cache-Control", "no-store, private")
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _link_error(error: tokens.TokenError, *, offer: str) -> tuple[str, int]:
    """The page for a link that cannot be used; ``offer`` is the way forward: ``subscribe``
    (a confirmation link) or ``manage`` (ask for a new link by address)."""
    message = _("This link has expired.") if error.expired else _("This link is not valid.")
    return _page("newsletters/link_error.html", 400, message=message, expired=error.expired,
                 offer=offer, **_form_context(_tenant()))


# --- subscribing ---------------------------------------------------------------------------


def _form_context(tenant: TenantInfo, locale: str | None = None) -> dict[str, Any]:
    """What the subscribe form shows: the wording in the reader's language, and its
    version, so a change of wording between showing and posting is noticed."""
    code = consent.offered_locale(tenant, locale or _locale()) or tenant.locale
    text, version = consent.wording(tenant, code)
    return {"consent_text": text, "wording_version": version, "form_locale": code}


def subscribe_block() -> Markup | None:
    """The storefront footer's subscribe form (not on the newsletter's own pages, which
    show their own form or are about a subscription already)."""
    tenant = current_tenant()
    if tenant is None or request.blueprint == bp.name:
        return None
    return Markup(render_translated(translations, "newsletters/_subscribe_form.html",
                                    prefix="nl-footer", values={},
                                    **_form_context(tenant)))


@bp.route("/subscribe")
def subscribe_page() -> Any:
    return _page("newsletters/subscribe.html", values={}, error=None,
                 **_form_context(_tenant()))


@bp.route("/subscribe", methods=["POST"])
def subscribe() -> Any:
    """Ask for a subscription; the answer never tells whether the address was known."""
    tenant = _tenant()
    form = request.form
    wanted = form.get("locale", "")[:20] or _locale()
    values = {"email": form.get("email", "")[:254], "name": form.get("name", "")[:200]}
    error = None
    if form.get("consent") not in ("on", "1", "yes", "true"):
        error = _("Please tick the box to agree to receive the newsletter: we cannot "
                  "subscribe you without your consent.")
    elif form.get("wording_version") and form.get("wording_version") != \
            consent.wording(tenant, consent.offered_locale(tenant, wanted)
                            or tenant.locale)[1]:
        error = _("The wording you agree to has just changed: please read it again.")
    else:
        try:
            consent.subscribe(tenant, values["email"], locale=wanted, source="footer_form",
                              ip=_ip(), user_agent=_agent(), name=values["name"])
        except ValueError as exc:
            db.session.rollback()
            error = str(exc)
        except IntegrityError:
            # The same address sent twice at once: the other request recorded it and mails
            # the confirmation; this one has nothing to add.
            db.session.rollback()
    if error is not None:
        return _page("newsletters/subscribe.html", 400, values=values, error=error,
                     **_form_context(tenant, wanted))
    return _page("newsletters/check_inbox.html")


@bp.route("/confirm/<token>")
def confirm(token: str) -> Any:
    """Show the confirmation button; a GET confirms nothing (link scanners follow GETs)."""
    tenant = _tenant()
    try:
        subscriber = consent.confirmation_for(tenant, token)
    except tokens.TokenError as error:
        return _link_error(error, offer="subscribe")
    return _page("newsletters/confirm.html", subscriber=subscriber, token=token,
                 done=subscriber.status == SUBSCRIBED,
                 manage=consent.manage_token(tenant, subscriber))


@bp.route("/confirm/<token>", methods=["POST"])
def confirm_post(token: str) -> Any:
    tenant = _tenant()
    try:
        subscriber = consent.confirm(tenant, token, ip=_ip(), user_agent=_agent())
    except tokens.TokenError as error:
        db.session.rollback()
        return _link_error(error, offer="subscribe")
    return _page("newsletters/confirm.html", subscriber=subscriber, token=token, done=True,
                 manage=consent.manage_token(tenant, subscriber))


# --- the preference centre -----------------------------------------------------------------


def theme_label(code: str) -> str:
    labels = {"promotions": _("Promotions"), "new_products": _("New products"),
              "events": _("Events"), "advice": _("Advice")}
    return labels.get(code) or code.replace("_", " ").capitalize()


def _frequency_labels() -> dict[str, str]:
    return {"any": _("Every newsletter"), "weekly": _("At most one a week"),
            "monthly": _("At most one a month")}


def _current_values(subscriber: models.Subscriber) -> dict[str, Any]:
    return {"channels": list(subscriber.channels or []), "frequency": subscriber.frequency,
            "themes": list(subscriber.themes or []), "locale": subscriber.locale,
            "tracking": bool(subscriber.tracking), "name": subscriber.name or "",
            "birthday": subscriber.birthday.isoformat() if subscriber.birthday else "",
            "phone": subscriber.phone or ""}


def _posted_values() -> dict[str, Any]:
    form = request.form
    return {"channels": form.getlist("channels"), "frequency": form.get("frequency", ""),
            "themes": form.getlist("themes"), "locale": form.get("locale", ""),
            "tracking": form.get("tracking") in ("on", "1"),
            "name": form.get("name", "")[:400], "birthday": form.get("birthday", "")[:20],
            "phone": form.get("phone", "")[:80]}


def _birthday(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(_("Birthday: enter a date such as 1990-05-31.")) from None


def _preferences_page(tenant: TenantInfo, subscriber: models.Subscriber, token: str,
                      values: dict[str, Any], status: int = 200, error: str | None = None,
                      saved: bool = False) -> tuple[str, int]:
    return _page("newsletters/preferences.html", status, subscriber=subscriber, token=token,
                 values=values, error=error, saved=saved,
                 themes=[(t, theme_label(t)) for t in consent.theme_choices(tenant)],
                 frequencies=[(f, _frequency_labels()[f]) for f in FREQUENCIES],
                 languages=list(tenant.languages or (tenant.locale,)),
                 tracking_offered=consent.tracking_offered(tenant))


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> Any:
    """The preference centre, reached from any message without logging in."""
    tenant = _tenant()
    try:
        subscriber = consent.find_by_token(tenant, token)
    except tokens.TokenError as error:
        return _link_error(error, offer="manage")
    if request.method == "GET":
        return _preferences_page(tenant, subscriber, token, _current_values(subscriber))
    values = _posted_values()
    try:
        consent.update_preferences(
            tenant, subscriber, channels=values["channels"], frequency=values["frequency"],
            themes=values["themes"], locale=values["locale"],
            tracking=values["tracking"] and consent.tracking_offered(tenant),
            name=values["name"], birthday=_birthday(values["birthday"]),
            phone=values["phone"], ip=_ip(), user_agent=_agent())
    except ValueError as exc:
        db.session.rollback()
        subscriber = consent.find_by_token(tenant, token)
        return _preferences_page(tenant, subscriber, token, values, 400, error=str(exc))
    return _preferences_page(tenant, subscriber, token, _current_values(subscriber),
                             saved=True)


@bp.route("/preferences/<token>/data.json")
def export(token: str) -> Any:
    """Everything the shop holds about the reader, with their consent history."""
    tenant = _tenant()
    try:
        subscriber = consent.find_by_token(tenant, token)
    except tokens.TokenError as error:
        return _link_error(error, offer="manage")
    body = json.dumps(consent.export(subscriber), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="newsletter-data.json"'})


# --- leaving -------------------------------------------------------------------------------


@bp.route("/unsubscribe/<token>")
def unsubscribe(token: str) -> Any:
    """A page with one button: leaving takes one click more than the link, never a login."""
    tenant = _tenant()
    try:
        subscriber = consent.find_by_token(tenant, token)
    except tokens.TokenError as error:
        return _link_error(error, offer="manage")
    return _page("newsletters/unsubscribe.html", subscriber=subscriber, token=token,
                 left=subscriber.status == UNSUBSCRIBED)


@bp.route("/unsubscribe/<token>", methods=["POST"])
@csrf_exempt
def unsubscribe_post(token: str) -> Any:
    """Leave the list: the page's button, or a mail provider's RFC 8058 one-click POST
    (``List-Unsubscribe=One-Click``, no cookie, no CSRF token: the signed link proves it)."""
    tenant = _tenant()
    try:
        subscriber = consent.find_by_token(tenant, token)
    except tokens.TokenError as error:
        return _link_error(error, offer="manage")
    one_click = request.form.get("List-Unsubscribe") == ONE_CLICK
    consent.withdraw(tenant, subscriber, source="one_click" if one_click
                     else "unsubscribe_page", ip=_ip(), user_agent=_agent())
    return _page("newsletters/unsubscribed.html", **_form_context(tenant))


@bp.route("/unsubscribe")
def unsubscribe_by_address_page() -> Any:
    _tenant()
    return _page("newsletters/unsubscribe.html", subscriber=None, token=None, left=False,
                 asked=False)


@bp.route("/unsubscribe", methods=["POST"])
def unsubscribe_by_address() -> Any:
    """Mail a subscribed address its own link to leave; say the same for any address."""
    tenant = _tenant()
    consent.send_manage_link(tenant, request.form.get("email", "")[:254])
    return _page("newsletters/unsubscribe.html", subscriber=None, token=None, left=False,
                 asked=True)


# --- tracking ------------------------------------------------------------------------------


def _sender(claim: tokens.Claim) -> TenantInfo:
    """The shop that sent the tracked message, if this storefront may speak for it (itself,
    or one of its resellers, whose readers get the office's campaigns); else a 404."""
    here = _tenant()
    sender = tenant_by_id(claim.tenant_id)
    if sender is None or (here.id != sender.id and here.office_id != sender.id):
        abort(404)
    return sender


def _mark(sender: TenantInfo, delivery_id: int, *, clicked: bool) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    db.session.commit()  # the request's own transaction, before working as the sender
    with as_tenant(sender):
        db.session.execute(update(Delivery).where(
            Delivery.id == delivery_id, Delivery.opened_at.is_(None)).values(opened_at=now))
        if clicked:
            db.session.execute(update(Delivery).where(
                Delivery.id == delivery_id, Delivery.clicked_at.is_(None))
                .values(clicked_at=now))
        db.session.commit()


@bp.route("/o/<token>.gif")
def opened(token: str) -> Any:
    """The open pixel (only in messages to readers who turned tracking on)."""
    try:
        claim = tokens.read(tokens.OPEN, token)
    except tokens.TokenError:
        claim = None
    if claim is not None:
        _mark(_sender(claim), claim.target_id, clicked=False)
    return Response(PIXEL, mimetype="image/gif", headers={
        "Cache-Control": "no-store, no-cache, must-revalidate, private", "Pragma": "no-cache",
        "Expires": "0"})


@bp.route("/c/<token>")
def click(token: str) -> Any:
    """A tracked link: note the click, then go where the message pointed."""
    _tenant()
    try:
        claim = tokens.read(tokens.CLICK, token)
    except tokens.TokenError as error:
        return _link_error(error, offer="none")
    url = claim.extra
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")) \
            or any(c.isspace() or ord(c) < 32 for c in url):
        return _link_error(tokens.TokenError("This link is not valid."), offer="none")
    _mark(_sender(claim), claim.target_id, clicked=True)
    return redirect(url, 302)
