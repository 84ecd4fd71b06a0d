"""The satisfaction survey after delivery: one per order, answered once, and an unhappy
customer contacted again.

- **When**: the periodic job ``support.surveys_due`` (hourly) looks, in every shop with the
  plugin, for orders still ``delivered`` whose delivery is at least ``survey_days`` days old
  (and at most :data:`WINDOW` older than that: a survey about a months-old parcel means
  nothing). ``survey_days`` 0 turns surveys off.
- **Once**: a :class:`Survey` row per order (unique per shop) is inserted before the mail
  goes; two runs at once insert it once, and only the run that inserted it mails. A mail
  that could not go (the server down...) removes the row again, so the next run tries
  again; the mail's key (``support:survey:<order>``) keeps a sender that remembers keys
  from sending twice.
- **How**: through :func:`comptoir.toolkit.transactional_mail` (the newsletters plugin when
  the shop runs it, else the core's mail), with a link to ``/support/survey/<token>`` on the
  shop's storefront. The token is signed with the app's secret under its own salt and names
  the shop and the survey: altered, expired (:data:`MAX_AGE`) or made for another shop, it
  is a 404 page that says so.
- **Answer**: a score from 1 to 5 and a comment, recorded once by a conditional UPDATE; a
  second answer is refused with a clear message and the first is kept. A score below
  ``survey_follow_up_below`` opens a follow-up ticket (source ``survey``) about the order, in
  the desk's queue like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, redirect, request, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import (
    Order,
    TenantInfo,
    as_tenant,
    current_tenant,
    db,
    periodic,
    plugin_settings,
    plugin_translations,
    render_translated,
    shop_context,
    tenants_with_plugin,
    transactional_mail,
)
from plugins.support import tickets
from plugins.support.errors import TicketError
from plugins.support.models import Survey

log = logging.getLogger("comptoir.support")
translations = plugin_translations("plugins.support")
_ = translations.gettext

bp = Blueprint("support_survey", __name__, url_prefix="/support/survey",
               template_folder="templates")

PLUGIN = "support"
#: Surveys go for deliveries between ``survey_days`` and ``survey_days`` + this ago.
WINDOW = timedelta(days=14)
#: How long a survey's link works.
MAX_AGE = 60 * 24 * 3600
SCORES = (1, 2, 3, 4, 5)
MAX_COMMENT = 2000
_SALT = "comptoir.support.survey"


# --- the link ------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_token(tenant_id: int, survey_id: int) -> str:
    """The survey's key, for its link: signed, and bound to the shop."""
    return _serializer().dumps([tenant_id, survey_id])


def read_token(token: str, tenant_id: int) -> tuple[int | None, bool]:
    """``(survey id, expired)``: the id if ``token`` is valid for shop ``tenant_id``."""
    if not isinstance(token, str) or not token or len(token) > 500:
        return None, False
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except SignatureExpired:
        return None, True
    except BadSignature:
        return None, False
    if (not isinstance(data, list) or len(data) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in data)
            or data[0] != tenant_id):
        return None, False
    return data[1], False


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Due:
    survey_id: int
    order_id: int
    number: int
    email: str
    name: str
    locale: str


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _delivered(before: datetime, since: datetime) -> list[Order]:
    """The current shop's orders still delivered, first delivered between ``since`` and
    ``before``, that have no survey yet."""
    from comptoir.orders.models import OrderEvent  # a core model the toolkit does not export

    first = (select(OrderEvent.order_id, func.min(OrderEvent.at).label("at"))
             .where(OrderEvent.to_status == "delivered").group_by(OrderEvent.order_id)
             .subquery())
    surveyed = select(Survey.order_id)
    return list(db.session.scalars(
        select(Order).join(first, first.c.order_id == Order.id)
        .where(first.c.at <= before, first.c.at > since, Order.status == "delivered",
               Order.id.not_in(surveyed))
        .order_by(Order.id)))


def _claim(tenant: TenantInfo, orders: list[Order]) -> list[_Due]:
    """Insert a survey per order; the orders another run took meanwhile are left out."""
    due = []
    for order in orders:
        name = (order.billing_address or {}).get("name") or (
            order.user.name if order.user is not None else "")
        survey = Survey(order_id=order.id, order_number=order.number, user_id=order.user_id,
                        email=order.email.lower(), locale=tenant.locale)
        try:
            with db.session.begin_nested():
                db.session.add(survey)
                db.session.flush()
        except IntegrityError:
            continue  # another run is surveying this order
        due.append(_Due(survey.id, order.id, order.number, survey.email, str(name),
                        survey.locale))
    db.session.commit()
    return due


def words(tenant: TenantInfo, name: str, number: int, link: str) -> tuple[str, str]:
    """Subject and body of the survey's mail, in the current language."""
    first = (name or "").split(" ")[0]
    hello = _("Hello %(name)s,", name=first) if first else _("Hello,")
    subject = _("How did your order %(number)s go?", number=number)
    body = "\n\n".join((
        hello,
        _("Your order %(number)s was delivered a few days ago. Would you tell us, in one "
          "click, how satisfied you are with it and with our service?", number=number),
        link,
        _("If something went wrong, say so: the help desk of %(shop)s will contact you.",
          shop=tenant.name)))
    return subject, body


def send_due(tenant: TenantInfo, now: datetime | None = None) -> int:
    """Mail the surveys due in ``tenant``; returns how many went."""
    days = int(plugin_settings(PLUGIN, tenant).get("survey_days") or 0)
    if days <= 0:
        return 0
    now = now or datetime.now(UTC)
    before = now - timedelta(days=days)
    with as_tenant(tenant):
        due = _claim(tenant, _delivered(before, before - WINDOW))
    sent = 0
    for item in due:
        try:
            with shop_context(tenant, item.locale):
                link = url_for("support_survey.show",
                               token=make_token(tenant.id, item.survey_id), _external=True)
                subject, body = words(tenant, item.name, item.number, link)
            transactional_mail(tenant, to=item.email, subject=subject, body=body,
                               locale=item.locale,
                               dedupe_key=f"support:survey:{item.order_id}")
        except ValueError:  # an address the mail service refuses: never sendable
            log.warning("support: survey of order %s cannot be sent to %s", item.number,
                        item.email)
            continue
        except Exception:  # MailError, a server down...: the next run tries again
            log.exception("support: survey of order %s not sent", item.number)
            _forget(tenant, item.survey_id)
            continue
        with as_tenant(tenant):
            db.session.execute(update(Survey).where(Survey.id == item.survey_id)
                               .values(sent_at=datetime.now(UTC)))
            db.session.commit()
        sent += 1
    return sent


def _forget(tenant: TenantInfo, survey_id: int) -> None:
    """Remove a survey whose mail did not go, so that the next run sends it again."""
    db.session.rollback()
    with as_tenant(tenant):
        db.session.execute(delete(Survey).where(Survey.id == survey_id,
                                                Survey.sent_at.is_(None)))
        db.session.commit()


@periodic("support.surveys_due", minutes=60)
def surveys_due() -> int:
    """Mail the satisfaction surveys due in every shop with the plugin; returns how many
    went. One shop's failure is logged and does not stop the others."""
    sent = 0
    for tenant in tenants_with_plugin(PLUGIN):
        try:
            sent += send_due(tenant)
        except Exception:
            db.session.rollback()
            log.exception("support.surveys_due failed for %s", tenant.slug)
    return sent


# --- answering -----------------------------------------------------------------------------


def _tenant() -> TenantInfo:
    tenant = current_tenant()
    if tenant is None:
        abort(404)
    return tenant


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_translated(translations, template, **context), status


def _survey_or_error(tenant: TenantInfo, token: str) -> Survey | tuple[str, int]:
    survey_id, expired = read_token(token, tenant.id)
    survey = None
    if survey_id is not None:
        survey = db.session.scalars(select(Survey).where(Survey.id == survey_id)).first()
    if survey is None:
        message = (_("This survey link has expired.") if expired else
                   _("This survey link is not valid."))
        return _page("support/survey_invalid.html", 404, message=message, expired=expired)
    return survey


def _form(survey: Survey, token: str, *, status: int = 200, error: str = "",
          score: str = "", comment: str = "", notice: str = "") -> tuple[str, int]:
    return _page("support/survey.html", status, survey=survey, token=token, scores=SCORES,
                 error=error, score=score, comment=comment, notice=notice,
                 max_comment=MAX_COMMENT)


@bp.route("/<token>")
def show(token: str) -> Any:
    """The survey: the order's number, a score from 1 to 5 and a comment; or the answer
    already given."""
    found = _survey_or_error(_tenant(), token)
    if not isinstance(found, Survey):
        return found
    return _form(found, token)


@bp.route("/<token>", methods=["POST"])
def answer(token: str) -> Any:
    """Record the answer once; a low score opens a follow-up ticket."""
    tenant = _tenant()
    found = _survey_or_error(tenant, token)
    if not isinstance(found, Survey):
        return found
    survey = found
    raw_score = (request.form.get("score") or "").strip()
    comment = (request.form.get("comment") or "").strip().replace("\r\n", "\n")
    if survey.score is not None:
        return _form(survey, token, status=409, notice=_(
            "This survey was already answered; the first answer is kept."))
    score = int(raw_score) if raw_score.isdigit() and len(raw_score) == 1 else None
    if score not in SCORES:
        return _form(survey, token, status=400, comment=comment,
                     error=_("Score: choose a score from 1 to 5."))
    if len(comment) > MAX_COMMENT:
        return _form(survey, token, status=400, score=raw_score, comment=comment,
                     error=_("Comment: at most %(size)s characters.", size=MAX_COMMENT))
    done = db.session.execute(
        update(Survey).where(Survey.id == survey.id, Survey.score.is_(None))
        .values(score=score, comment=comment, answered_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if done != 1:  # answered in another tab meanwhile
        db.session.refresh(survey)
        return _form(survey, token, status=409, notice=_(
            "This survey was already answered; the first answer is kept."))
    follow_below = int(plugin_settings(PLUGIN, tenant).get("survey_follow_up_below", 3))
    if score < follow_below:
        _follow_up(tenant, survey.id, score, comment)
    return redirect(url_for("support_survey.show", token=token), 303)


def _follow_up(tenant: TenantInfo, survey_id: int, score: int, comment: str) -> None:
    """Open the follow-up ticket of a low score (once), and link it to the survey. A ticket
    that cannot be opened is logged: the answer itself is kept whatever happens."""
    survey = db.session.scalars(select(Survey).where(Survey.id == survey_id)).one()
    if survey.ticket_id is not None:
        return
    order = db.session.scalars(select(Order).where(Order.id == survey.order_id)).first()
    name = ""
    if order is not None:
        name = (order.billing_address or {}).get("name") or (
            order.user.name if order.user is not None else "")
    body = _("Satisfaction survey of order %(number)s: %(score)s out of 5.",
             number=survey.order_number, score=score)
    body += "\n\n" + (comment or _("No comment."))
    try:
        ticket = tickets.open_ticket(
            tenant, email=survey.email, name=str(name)[:200], user_id=survey.user_id,
            subject=_("Survey: %(score)s/5 for order %(number)s", score=score,
                      number=survey.order_number),
            body=body, source="survey", locale=survey.locale,
            order_number=survey.order_number if order is not None else None)
    except TicketError:
        db.session.rollback()
        log.exception("support: no follow-up ticket for survey %s", survey_id)
        return
    db.session.execute(update(Survey).where(Survey.id == survey_id)
                       .values(ticket_id=ticket.id)
                       .execution_options(synchronize_session=False))
    db.session.commit()
