"""The customer's loyalty pages: the points statement, the "points to spend" form, the invite
page; and the invite link itself (``/invite/<code>``).

Every page is the logged-in customer's own (a visitor is sent to log in), read in the shop's
tenant: another shop's customer, code or points are simply not there. Dates and numbers are
formatted by Babel in the shop's language (``1 240 points``, ``12 janv. 2027``). A shop that
turned the programme off answers 404, as for any page it does not have.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, make_response, redirect, request, url_for
from flask_babel import format_date, format_number
from flask_login import current_user
from sqlalchemy import select

from comptoir.toolkit import Order, db, login_next, money, render_translated, shop_today
from plugins.promotions import loyalty, sponsorship
from plugins.promotions.loyalty_models import (
    ADJUST,
    EARN,
    EXPIRE,
    REVERSE,
    REWARD,
    SPEND,
    PointsDraw,
    PointsEntry,
    PointsLot,
)

translations = loyalty.translations
_ = translations.gettext

bp = Blueprint("promotions_account", __name__, url_prefix="/account/loyalty",
               template_folder="templates")
invite = Blueprint("promotions_invite", __name__, url_prefix="/invite")


def _page(template: str, status: int = 200, **context: Any) -> Any:
    return render_translated(translations, template, fmt=format_number, **context), status


@bp.before_request
def _customer_only() -> Any:
    if g.get("tenant") is None or not loyalty.enabled(g.tenant):
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    return None


# -- the statement and the points form ------------------------------------------------------


def describe(entry: PointsEntry, numbers: dict[int, int], lots: dict[int, PointsLot]) -> str:
    """What a statement line says, in the shop's language."""
    number = numbers.get(entry.order_id or 0, "")
    if entry.kind == EARN:
        return _("Earned on order %(number)s", number=number)
    if entry.kind == SPEND:
        return _("Used on order %(number)s", number=number)
    if entry.kind == REVERSE and entry.points > 0:
        return _("Given back: order %(number)s cancelled or returned", number=number)
    if entry.kind == REVERSE:
        words = _("Taken back: goods of order %(number)s returned or cancelled",
                  number=number)
        if entry.shortfall:
            words += " " + translations.ngettext(
                "(%(points)s point could not be taken back: it was spent already)",
                "(%(points)s points could not be taken back: they were spent already)",
                entry.shortfall, points=format_number(entry.shortfall))
        return words
    if entry.kind == EXPIRE:
        lot = lots.get(entry.id)
        if lot is not None and lot.expires_on is not None:
            return _("Expired: points earned on %(earned)s, valid until %(until)s",
                     earned=format_date(lot.earned_on, "medium"),
                     until=format_date(lot.expires_on, "medium"))
        return _("Expired")
    if entry.kind == REWARD:
        return _("Reward: a friend you invited ordered")
    if entry.kind == ADJUST:
        return _("Adjusted by the shop: %(reason)s", reason=entry.note)
    return entry.kind


@bp.route("/")
def statement() -> Any:
    tenant = g.tenant
    account, entries = loyalty.statement(current_user.id)
    today = shop_today(tenant)
    order_ids = {e.order_id for e in entries if e.order_id is not None}
    numbers = dict(db.session.execute(select(Order.id, Order.number).where(
        Order.id.in_(order_ids))).all()) if order_ids else {}
    expiries = [e.id for e in entries if e.kind == EXPIRE]
    lots = {entry_id: lot for entry_id, lot in db.session.execute(
        select(PointsDraw.entry_id, PointsLot).join(PointsLot, PointsLot.id == PointsDraw.lot_id)
        .where(PointsDraw.entry_id.in_(expiries))).all()} if expiries else {}
    have = loyalty.spendable(account, today) if account is not None else 0
    soon = loyalty.next_expiry(account, today)
    rows = [(format_date(e.at, "medium"), describe(e, numbers, lots), e.points)
            for e in entries]
    return _page("promotions/account_points.html", have=have,
                 have_worth=loyalty.worth(tenant, have), soon=soon,
                 soon_date=format_date(soon[1], "long") if soon else None, rows=rows,
                 chosen=loyalty.chosen_points(tenant, current_user),
                 spend_open=loyalty.point_value(tenant) > 0,
                 earn_rate=loyalty.points_per_unit(tenant),
                 invite_open=sponsorship.enabled(tenant))


def _parse_points(raw: str) -> int | None:
    text = (raw or "").strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if not text.isdigit() or len(text) > 9:
        return None
    return int(text)


@bp.route("/spend", methods=["POST"])
def spend() -> Any:
    """Keep how many points the customer wants off the order under way (a choice kept in
    the session, per shop; see :func:`loyalty.choose_points`). A bad number changes
    nothing and says why."""
    tenant = g.tenant
    back = url_for("orders.cart") if request.form.get("next") == "cart" else url_for(
        "promotions_account.statement")
    if loyalty.point_value(tenant) <= 0:
        flash(_("This shop does not take points as payment; nothing was changed."), "error")
        return redirect(back, 303)
    account = loyalty.account_of(current_user.id)
    have = loyalty.spendable(account, shop_today(tenant)) if account is not None else 0
    action = request.form.get("action", "")
    if action == "none":
        loyalty.choose_points(tenant, current_user, 0)
        flash(_("Your points will not be used on this order."), "success")
        return redirect(back, 303)
    points = have if action == "all" else _parse_points(request.form.get("points", ""))
    if points is None:
        flash(_("“%(value)s” is not a number of points: enter a whole number such as 500. "
                "Nothing was changed.", value=request.form.get("points", "")[:20]), "error")
        return redirect(back, 303)
    if points > have:
        flash(translations.ngettext(
            "You have %(points)s point to spend: %(asked)s is too many. Nothing was changed.",
            "You have %(points)s points to spend: %(asked)s is too many. Nothing was "
            "changed.", have, points=format_number(have), asked=format_number(points)),
            "error")
        return redirect(back, 303)
    loyalty.choose_points(tenant, current_user, points)
    if points == 0:
        flash(_("Your points will not be used on this order."), "success")
    else:
        flash(translations.ngettext(
            "%(points)s point (%(worth)s) will come off your order, as far as the goods "
            "allow.", "%(points)s points (%(worth)s) will come off your order, as far as the "
            "goods allow.", points, points=format_number(points),
            worth=money(loyalty.worth(tenant, points))), "success")
    return redirect(back, 303)


# -- the invite page ------------------------------------------------------------------------


@bp.route("/invite")
def invite_page() -> Any:
    tenant = g.tenant
    if not sponsorship.enabled(tenant):
        abort(404)
    code = sponsorship.code_for(current_user.id)
    db.session.commit()
    friends = sponsorship.friends_of(current_user.id)
    rows = [(sponsorship.masked(f.friend_email), format_date(f.created_at, "medium"),
             f.status, format_date(f.rewarded_at, "medium") if f.rewarded_at else "",
             f.reward_points) for f in friends]
    body, status = _page(
        "promotions/account_invite.html",
        link=url_for("promotions_invite.follow", code=code.code, _external=True),
        code=code.code, offer=sponsorship.offer_words(tenant),
        reward=int(sponsorship.settings(tenant).get("sponsor_reward_points") or 0),
        rows=rows)
    page = make_response(body, status)
    # This browser is the sponsor's own: an invite of theirs is worth nothing in it.
    _mark_own(page, current_user.id)
    return page


def _mark_own(response: Any, user_id: int) -> None:
    response.set_cookie(sponsorship.OWN_COOKIE, sponsorship.own_cookie_value(g.tenant, user_id),
                        max_age=365 * 86400, httponly=True, samesite="Lax",
                        secure=request.is_secure, path=(request.script_root or "") + "/")


@invite.route("/<code>")
def follow(code: str) -> Any:
    """An invite link: remember who invited the visitor (a signed cookie), then show the
    shop. An unknown code (or another shop's) says so and leaves no cookie."""
    tenant = g.get("tenant")
    if tenant is None or not sponsorship.enabled(tenant):
        abort(404)
    response = redirect(url_for("index"), 302)
    found = sponsorship.find(code[:32])
    if found is None:
        flash(_("This invite link is not valid; you can shop all the same."), "error")
        return response
    user = current_user if current_user.is_authenticated else None
    if (user is not None and user.id == found.user_id) or (
            found.user_id in sponsorship.own_sponsors(tenant)):
        flash(_("This is your own invite link: share it with your friends, the offer is for "
                "them."), "error")
        _mark_own(response, found.user_id)
        return response
    if user is not None and not sponsorship.may_be_sponsored(tenant, user):
        flash(_("Invite links are for new customers; your account keeps its own offers."),
              "error")
        return response
    offer = sponsorship.offer_words(tenant)
    flash(_("Welcome! A friend invited you: %(offer)s.", offer=offer) if offer else
          _("Welcome! A friend invited you."), "success")
    response.set_cookie(sponsorship.COOKIE, sponsorship.cookie_value(tenant, found),
                        max_age=sponsorship.max_age(tenant), httponly=True, samesite="Lax",
                        secure=request.is_secure, path=(request.script_root or "") + "/")
    return response
