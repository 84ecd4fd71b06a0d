"""The reseller's dashboard, the staff's affiliate and payout pages, an affiliate's own
statement, and the referral links.

Everything a page shows is read in the shop's own tenant: a reseller sees its customers,
never another reseller's (another tenant's row is a 404 like any object that is not yours).
The dashboard shows each customer's name and company and what they bought, not their
addresses; an affiliate's own statement shows order numbers and amounts, no customer at all.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from comptoir.toolkit import (
    Order,
    db,
    login_next,
    plugin_translations,
    render_translated,
    shop_today,
)
from plugins.affiliates import ledger, payouts, referral, rules
from plugins.affiliates.models import (
    KINDS,
    Affiliate,
    Attribution,
    Binding,
    BindingChange,
    Entry,
    Payout,
    PayoutEntry,
    Rule,
)

domain = plugin_translations("plugins.affiliates")
_ = domain.gettext

STAFF_ROLES = ("staff", "tenant_admin")
IN_PROGRESS = ("pending_approval", "awaiting_payment", "placed", "paid", "shipped")

bp = Blueprint("affiliates", __name__, url_prefix="/affiliates", template_folder="templates")
links = Blueprint("affiliate_links", __name__, url_prefix="/r")


def page(template: str, status: int = 200, **context: Any) -> Any:
    return render_translated(domain, template, **context), status


def _is_staff() -> bool:
    return current_user.is_authenticated and current_user.role in STAFF_ROLES


@bp.before_request
def _signed_in() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    return None


def _staff_only() -> None:
    if not _is_staff():
        abort(403)


def _actor() -> str:
    return current_user.email


def menu_items() -> list[dict[str, str]] | None:
    if _is_staff():
        return [{"label": _("Commissions"), "url": url_for("affiliates.dashboard")}]
    if current_user.is_authenticated and db.session.scalars(select(Affiliate.id).where(
            Affiliate.user_id == current_user.id)).first():
        return [{"label": _("My commissions"), "url": url_for("affiliates.mine")}]
    return None


# -- referral links -----------------------------------------------------------------------


@links.route("/<code>")
def follow(code: str) -> Any:
    """A referral link: remember who sent the visitor, then show the shop (or ``next``)."""
    from comptoir.customers.auth import safe_next

    target = safe_next(request.args.get("next", "")) or url_for("index")
    response = redirect(target, 302)
    affiliate = referral.find(code)
    if affiliate is None:
        flash(_("This referral link is not valid; you can shop all the same."), "error")
        return response
    return _remember(response, affiliate)


def _remember(response: Any, affiliate: Affiliate) -> Any:
    """Leave the referral cookie on ``response``, unless the first click's partner keeps
    its claim (``first_click`` with a live cookie)."""
    if not referral.keeps_existing(g.tenant):
        response.set_cookie(referral.COOKIE, referral.cookie_value(g.tenant, affiliate),
                            max_age=referral.max_age(g.tenant), httponly=True,
                            samesite="Lax", secure=request.is_secure,
                            path=(request.script_root or "") + "/")
    return response


@links.route("", methods=["POST"])
def enter() -> Any:
    """A partner code typed on the cart page: the same as following the partner's link."""
    code = request.form.get("code", "").strip()[:32]
    response = redirect(url_for("orders.cart"), 303)
    affiliate = referral.find(code)
    if affiliate is None:
        flash(_("No partner has the code %(code)s; check it and try again.", code=code),
              "error")
        return response
    flash(_("Partner code %(code)s noted: thank you.", code=affiliate.code), "success")
    return _remember(response, affiliate)


def code_form() -> Any:
    """The cart page's "partner code" form, for a visitor no partner has brought yet."""
    from markupsafe import Markup

    if referral.from_cookie(g.tenant) is not None:
        return None
    if current_user.is_authenticated and db.session.scalars(select(Binding.id).where(
            Binding.user_id == current_user.id)).first():
        return None
    return Markup(render_translated(domain, "affiliates/_code_form.html"))


# -- the dashboard ------------------------------------------------------------------------


def _customers(sort: str, category: str) -> list[dict[str, Any]]:
    from comptoir.customers.models import Company, User

    rows = db.session.execute(
        select(Binding, User.name, User.company_id)
        .join(User, User.id == Binding.user_id)).all()
    companies = dict(db.session.execute(select(Company.id, Company.name)).all())
    per_user: dict[int, dict[str, Any]] = {}
    for binding, name, company_id in rows:
        per_user[binding.user_id] = {
            "user_id": binding.user_id, "name": name,
            "company": companies.get(company_id, ""), "affiliate_id": binding.affiliate_id,
            "orders": 0, "spent": Decimal("0"), "commission": Decimal("0"),
            "categories": defaultdict(lambda: Decimal("0"))}
    if per_user:
        orders = db.session.execute(select(Order.id, Order.user_id, Order.total_net).where(
            Order.user_id.in_(per_user), Order.status.notin_(("cancelled",)))).all()
        for _oid, user_id, net in orders:
            per_user[user_id]["orders"] += 1
            per_user[user_id]["spent"] += net
        owner = {oid: uid for oid, uid, _net in orders}
        for order_id, amount, base, cat in db.session.execute(
                select(Entry.order_id, Entry.amount, Entry.base, Entry.category)
                .where(Entry.order_id.in_(owner))).all():
            customer = per_user[owner[order_id]]
            customer["commission"] += amount
            customer["categories"][cat or ""] += base
    found = list(per_user.values())
    if category:
        found = [c for c in found if c["categories"].get(category, 0) > 0]
        found.sort(key=lambda c: c["categories"][category], reverse=True)
    elif sort == "spent":
        found.sort(key=lambda c: c["spent"], reverse=True)
    else:
        found.sort(key=lambda c: c["commission"], reverse=True)
    return found


@bp.route("/")
def dashboard() -> Any:
    _staff_only()
    from comptoir.toolkit import open_return, return_deadline

    sort = request.args.get("sort", "commission")
    category = request.args.get("category", "").strip().lower()[:80]
    affiliates = list(db.session.scalars(select(Affiliate).order_by(
        Affiliate.kind != "house", Affiliate.code)))
    accounts = {a.id: ledger.account(g.tenant, a.id) for a in affiliates}
    attributed = dict(db.session.execute(
        select(Attribution.order_id, Attribution.affiliate_id)).all())
    orders = list(db.session.scalars(select(Order).where(Order.id.in_(attributed))
                                     .order_by(Order.number.desc()).limit(500)))
    earned = ledger.earned_by_order([o.id for o in orders])
    in_progress = [o for o in orders if o.status in IN_PROGRESS]
    in_progress.sort(key=lambda o: o.expected_delivery)
    history = [o for o in orders if o.status not in IN_PROGRESS]
    alerts = [(o, r) for o in orders if (r := open_return(o)) is not None]
    categories = sorted({c for (c,) in db.session.execute(
        select(Entry.category).distinct()).all() if c})
    from comptoir.toolkit import quotes_summary

    return page("affiliates/dashboard.html", affiliates=affiliates, accounts=accounts,
                names={a.id: a for a in affiliates}, attributed=attributed,
                customers=_customers(sort, category), sort=sort, category=category,
                categories=categories, in_progress=in_progress, history=history[:100],
                alerts=alerts, earned=earned, deadline=lambda o: return_deadline(g.tenant, o),
                quotes=quotes_summary())


@bp.route("/ledger.csv")
def ledger_csv() -> Response:
    _staff_only()
    entries = list(db.session.scalars(select(Entry).order_by(Entry.id)))
    return _csv("commissions.csv", _ledger_rows(entries, {
        a.id: a.code for a in db.session.scalars(select(Affiliate))}))


def _ledger_rows(entries: list[Entry], codes: dict[int, str]) -> list[list[Any]]:
    status = ledger.statuses(g.tenant, entries)
    numbers = dict(db.session.execute(select(Order.id, Order.number).where(
        Order.id.in_({e.order_id for e in entries}))).all()) if entries else {}
    rows: list[list[Any]] = [["date", "affiliate", "order", "kind", "category", "units",
                              "base", "amount", "currency", "status"]]
    for e in entries:
        rows.append([e.at.date().isoformat(), codes.get(e.affiliate_id, ""),
                     numbers.get(e.order_id, ""), e.kind, e.category, e.units, e.base,
                     e.amount, e.currency, status[e.id]])
    return rows


def _csv(name: str, rows: list[list[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        # A cell a spreadsheet would run as a formula is kept as text.
        writer.writerow([f"'{c}" if isinstance(c, str) and c and c[0] in "=+-@\t\r" else c
                         for c in row])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- affiliates and their rules -----------------------------------------------------------


@bp.route("/partners", methods=["GET", "POST"])
def partners() -> Any:
    _staff_only()
    error = None
    if request.method == "POST":
        form = request.form
        code = form.get("code", "").strip().upper()
        kind = form.get("kind", "affiliate")
        if not referral.CODE.fullmatch(code):
            error = _("Code: 2 to 32 capital letters, digits or hyphens.")
        elif kind not in KINDS or kind == "house":
            error = _("Kind: choose one of the list.")
        elif not form.get("name", "").strip():
            error = _("Name: required.")
        elif code == referral.house_code(g.tenant) or db.session.scalars(
                select(Affiliate.id).where(Affiliate.code == code)).first():
            error = _("Code: %(code)s is taken already.", code=code)
        else:
            affiliate = Affiliate(code=code, name=form["name"].strip()[:200], kind=kind,
                                  email=form.get("email", "").strip().lower()[:254],
                                  payout_account=form.get("payout_account", "").strip()[:64])
            db.session.add(affiliate)
            db.session.commit()
            flash(_("Affiliate %(code)s created: add its commission rules.", code=code),
                  "success")
            return redirect(url_for("affiliates.partner", affiliate_id=affiliate.id), 303)
    found = list(db.session.scalars(select(Affiliate).order_by(Affiliate.code)))
    return page("affiliates/partners.html", 400 if error else 200, partners=found,
                kinds=[k for k in KINDS if k != "house"], error=error, form=request.form)


def _affiliate(affiliate_id: int) -> Affiliate:
    found = db.session.get(Affiliate, affiliate_id)
    if found is None:
        abort(404)
    return found


@bp.route("/partners/<int(max=2147483647):affiliate_id>", methods=["GET", "POST"])
def partner(affiliate_id: int) -> Any:
    _staff_only()
    affiliate = _affiliate(affiliate_id)
    error = None
    if request.method == "POST":
        action = request.form.get("action", "add")
        if action == "remove":
            rule = db.session.get(Rule, request.form.get("rule", type=int) or 0)
            if rule is None or rule.affiliate_id != affiliate.id:
                abort(404)
            db.session.delete(rule)
            db.session.commit()
            flash(_("Rule removed."), "success")
            return redirect(url_for("affiliates.partner", affiliate_id=affiliate.id), 303)
        try:
            rules.add_rule(affiliate, category=request.form.get("category", ""),
                           kind=request.form.get("kind", "percent"),
                           value=request.form.get("value", ""),
                           min_monthly_volume=request.form.get("min_monthly_volume", "0"))
            db.session.commit()
            flash(_("Rule added."), "success")
            return redirect(url_for("affiliates.partner", affiliate_id=affiliate.id), 303)
        except rules.RuleError as refused:
            db.session.rollback()
            affiliate = _affiliate(affiliate_id)
            error = refused
    link = url_for("affiliate_links.follow", code=affiliate.code, _external=True)
    return page("affiliates/partner.html", 400 if error else 200, affiliate=affiliate,
                link=link, error=error, account=ledger.account(g.tenant, affiliate.id),
                form=request.form)


@bp.route("/customers/<int(max=2147483647):user_id>/binding", methods=["POST"])
def rebind(user_id: int) -> Any:
    """Staff move a customer to another affiliate (audited)."""
    _staff_only()
    from comptoir.customers.models import User

    if db.session.get(User, user_id) is None:
        abort(404)
    target = referral.find(request.form.get("code", ""))
    if target is None:
        flash(_("No affiliate has the code %(code)s.", code=request.form.get("code", "")[:32]),
              "error")
        return redirect(url_for("affiliates.dashboard"), 303)
    try:
        referral.move(user_id, target, _actor(), request.form.get("reason", ""))
        flash(_("The customer is now %(code)s's.", code=target.code), "success")
    except ValueError as refused:
        db.session.rollback()
        flash(str(refused), "error")
    return redirect(url_for("affiliates.dashboard"), 303)


@bp.route("/customers/<int(max=2147483647):user_id>/history")
def binding_history(user_id: int) -> Any:
    _staff_only()
    changes = list(db.session.scalars(select(BindingChange).where(
        BindingChange.user_id == user_id).order_by(BindingChange.id)))
    codes = {a.id: a.code for a in db.session.scalars(select(Affiliate))}
    return page("affiliates/binding_history.html", changes=changes, codes=codes)


# -- payouts ------------------------------------------------------------------------------


@bp.route("/payouts", methods=["GET", "POST"])
def payout_list() -> Any:
    _staff_only()
    if request.method == "POST":
        from datetime import date

        try:
            until = date.fromisoformat(request.form.get("until", ""))
        except ValueError:
            flash(_("Period end: give a date (YYYY-MM-DD)."), "error")
            return redirect(url_for("affiliates.payout_list"), 303)
        if until >= shop_today(g.tenant):
            flash(_("Period end: a payout run covers days that are over."), "error")
            return redirect(url_for("affiliates.payout_list"), 303)
        made = payouts.run(g.tenant, until, _actor())
        flash(_("%(count)s statements made.", count=len(made)), "success")
        return redirect(url_for("affiliates.payout_list"), 303)
    found = list(db.session.scalars(select(Payout).order_by(Payout.id.desc())))
    from datetime import timedelta

    return page("affiliates/payouts.html", payouts=found,
                last_day=shop_today(g.tenant) - timedelta(days=1))


def _payout(payout_id: int) -> Payout:
    found = db.session.get(Payout, payout_id)
    if found is None:
        abort(404)
    return found


def _statement_entries(payout: Payout) -> list[Entry]:
    return list(db.session.scalars(select(Entry).join(
        PayoutEntry, PayoutEntry.entry_id == Entry.id).where(
        PayoutEntry.payout_id == payout.id).order_by(Entry.id)))


@bp.route("/payouts/<int(max=2147483647):payout_id>", methods=["GET", "POST"])
def statement(payout_id: int) -> Any:
    payout = _payout(payout_id)
    own = payout.affiliate.user_id is not None and payout.affiliate.user_id == current_user.id
    if not (_is_staff() or own):
        abort(404)
    if request.method == "POST":
        _staff_only()
        try:
            payouts.pay(g.tenant, payout, _actor(), request.form.get("reference", ""))
            flash(_("Payout %(reference)s paid.", reference=payout.reference), "success")
        except payouts.PayoutError as refused:
            db.session.rollback()
            flash(str(refused), "error")
        return redirect(url_for("affiliates.statement", payout_id=payout_id), 303)
    entries = _statement_entries(payout)
    if request.args.get("format") == "csv":
        return _csv(f"{payout.reference}.csv",
                    _ledger_rows(entries, {payout.affiliate_id: payout.affiliate.code}))
    numbers = dict(db.session.execute(select(Order.id, Order.number).where(
        Order.id.in_({e.order_id for e in entries}))).all()) if entries else {}
    return page("affiliates/statement.html", payout=payout, entries=entries, numbers=numbers,
                staff=_is_staff())


# -- an affiliate's own statement ---------------------------------------------------------


@bp.route("/me")
def mine() -> Any:
    affiliate = db.session.scalars(select(Affiliate).where(
        Affiliate.user_id == current_user.id)).first()
    if affiliate is None:
        abort(404)
    entries = list(db.session.scalars(select(Entry).where(
        Entry.affiliate_id == affiliate.id).order_by(Entry.id.desc())))
    numbers = dict(db.session.execute(select(Order.id, Order.number).where(
        Order.id.in_({e.order_id for e in entries}))).all()) if entries else {}
    status = ledger.statuses(g.tenant, entries)
    found_payouts = list(db.session.scalars(select(Payout).where(
        Payout.affiliate_id == affiliate.id).order_by(Payout.id.desc())))
    return page("affiliates/mine.html", affiliate=affiliate, entries=entries, statuses=status,
                numbers=numbers, account=ledger.account(g.tenant, affiliate.id),
                payouts=found_payouts,
                link=url_for("affiliate_links.follow", code=affiliate.code, _external=True))

