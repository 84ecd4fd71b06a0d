"""Pages of the approval chain: what waits for me, the decision page, the chain editor,
technical validation, the deputy form and the audit export.

Only the company's own people see its requests: another company's or another tenant's
request is a 404, like every object that is not yours. Templates are rendered with this
plugin's translations bound to ``_``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for
from flask_babel import format_date
from flask_login import current_user, login_required
from sqlalchemy import select

from comptoir.toolkit import Order, db, plugin_translations, render_translated, shop_today
from plugins.approvals import audit, delegation, reviews, service
from plugins.approvals import chain as chains
from plugins.approvals.models import PENDING, Event, Request, Review

domain = plugin_translations("plugins.approvals")
_ = domain.gettext

bp = Blueprint("approvals", __name__, url_prefix="/approvals", template_folder="templates")


def page(template: str, status: int = 200, **context: Any) -> Any:
    return render_translated(domain, template, **context), status


@bp.before_request
@login_required
def _company_people_only() -> None:
    if getattr(current_user, "company_id", None) is None:
        abort(403)


def menu_items() -> list[dict[str, str]] | None:
    if not current_user.is_authenticated or getattr(current_user, "company_id", None) is None:
        return None
    return [{"label": _("Approvals"), "url": url_for("approvals.index")}]


def _own_request(request_id: int) -> Request:
    found = db.session.get(Request, request_id)
    if found is None or found.company_id != current_user.company_id:
        abort(404)
    mine = (found.requester_id == current_user.id
            or service.may_decide(found, current_user, shop_today(g.tenant))
            or current_user.role == "company_admin")
    if not mine:
        abort(404)
    return found


def _users(company_id: int) -> dict[int, Any]:
    from comptoir.customers.models import User

    return {u.id: u for u in db.session.scalars(
        select(User).where(User.company_id == company_id).order_by(User.name))}


@bp.route("/")
def index() -> Any:
    return _index()


def _index(status: int = 200, **errors: Any) -> Any:
    """The approvals home: what waits for me, what I asked, and the forms to submit a
    configuration, name a deputy or export the trail. ``errors`` re-show a refused form."""
    company = current_user.company_id
    requests = list(db.session.scalars(
        select(Request).where(Request.company_id == company).order_by(Request.id.desc())))
    today = shop_today(g.tenant)
    waiting = [r for r in requests
               if r.status == PENDING and service.may_decide(r, current_user, today)]
    mine = [r for r in requests if r.requester_id == current_user.id]
    company_reviews = reviews.company_reviews(company)
    chain = chains.members(company)
    member = chain.get(current_user.id)
    delegating = (member is not None and member.deputy is not None
                  and member.deputy_until is not None and member.deputy_until >= today)
    return page("approvals/index.html", status, waiting=waiting, mine=mine,
                users=_users(company),
                reviews_waiting=[r for r in company_reviews
                                 if r.status == PENDING and reviews.may_review(r, current_user)],
                my_reviews=[r for r in company_reviews if r.requester_id == current_user.id],
                cart_lines=reviews.cart_lines(current_user),
                configurations=reviews.visible_configurations(current_user),
                member=member, delegating=delegating,
                deputies=delegation.candidates(current_user) if member is not None else [],
                today=today, latest=today + timedelta(days=delegation.MAX_DAYS),
                form=request.form if request.method == "POST" else {}, **errors)


@bp.route("/<int(max=2147483647):request_id>", methods=["GET", "POST"])
def show(request_id: int) -> Any:
    found = _own_request(request_id)
    error = None
    if request.method == "POST":
        try:
            outcome = service.decide(g.tenant, found, current_user,
                                     request.form.get("decision", ""),
                                     request.form.get("reason", ""))
        except service.DecisionError as refused:
            db.session.rollback()
            error = str(refused)
            found = _own_request(request_id)
        else:
            flash(_("Approved at your level; the next approver is asked by e-mail.")
                  if outcome == "endorsed"
                  else _("Decision recorded; the buyer is told by e-mail."), "success")
            return redirect(url_for("approvals.show", request_id=request_id), 303)
    chain = chains.members(found.company_id)
    users = _users(found.company_id)
    history = list(db.session.scalars(
        select(Event).where(Event.request_id == found.id).order_by(Event.id)))
    return page(
        "approvals/decision.html", 200 if error is None else 400, req=found,
        order=db.session.get(Order, found.order_id), users=users, chain=chain,
        authority=chain.get(found.approver_id), history=history, error=error,
        can_decide=found.status == PENDING
        and service.may_decide(found, current_user, shop_today(g.tenant)),
    )


@bp.route("/chain", methods=["GET", "POST"])
def chain_editor() -> Any:
    if current_user.role != "company_admin":
        abort(403)
    company = current_user.company_id
    users = _users(company)
    error = None
    if request.method == "POST":
        try:
            links = _links_from(request.form, users)
            chains.save(company, links, {uid: u.email for uid, u in users.items()})
            chains.set_sequential(company, bool(request.form.get("sequential")))
            db.session.add(Event(company_id=company, actor=current_user.email,
                                 action="chain_changed",
                                 note="; ".join(f"{users[link.user_id].email}: level "
                                                f"{link.level}, ceiling {link.ceiling}"
                                                for link in links)
                                 + ("; sequential" if request.form.get("sequential") else "")))
            db.session.commit()
        except chains.ChainError as refused:
            db.session.rollback()
            error = refused
        else:
            flash(_("Approval chain saved."), "success")
            return redirect(url_for("approvals.chain_editor"), 303)
    from comptoir.toolkit import plugin_settings

    return page("approvals/chain.html", 200 if error is None else 400, users=users,
                chain=chains.members(company), error=error,
                default_ceiling=plugin_settings("approvals")["signing_limits"][0],
                sequential=chains.is_sequential(company),
                form=request.form if request.method == "POST" else None)


def _links_from(form: Any, users: dict[int, Any]) -> list[chains.Link]:
    links = []
    for user_id, user in users.items():
        prefix = f"u{user_id}-"
        if not form.get(prefix + "in_chain"):
            continue
        level = form.get(prefix + "level", "").strip()
        if not level.isdigit():
            raise chains.ChainError(user.email, _("the level is a whole number from 1 to 9"))
        boss = form.get(prefix + "reports_to", "").strip()
        if boss and not boss.isdigit():
            raise chains.ChainError(user.email, _("choose whom they report to"))
        links.append(chains.Link(
            user_id=user_id, level=int(level),
            ceiling=chains.parse_amount(user.email, form.get(prefix + "ceiling", "")),
            reports_to=int(boss) if boss else None,
            budget=bool(form.get(prefix + "budget")),
            technical=bool(form.get(prefix + "technical"))))
    return links


# -- technical validation ------------------------------------------------------------------


@bp.route("/reviews", methods=["POST"])
def submit_review() -> Any:
    """Submit the cart (``kind=cart``) or a standard configuration (``kind=configuration``,
    ``code``) for technical validation."""
    from plugins.approvals.notify import ask_reviewer

    try:
        if request.form.get("kind") == "configuration":
            submitted = reviews.submit_configuration(current_user, request.form.get("code", ""))
        else:
            submitted = reviews.submit_cart(current_user)
        db.session.commit()
    except reviews.ReviewError as refused:
        db.session.rollback()
        return _index(400, review_error=str(refused))
    ask_reviewer(submitted)
    flash(_("Submitted for technical validation; the reviewer is told by e-mail."), "success")
    return redirect(url_for("approvals.review", review_id=submitted.id), 303)


def _own_review(review_id: int) -> Review:
    found = db.session.get(Review, review_id)
    if found is None or not reviews.may_see(found, current_user):
        abort(404)
    return found


@bp.route("/reviews/<int(max=2147483647):review_id>", methods=["GET", "POST"])
def review(review_id: int) -> Any:
    from plugins.approvals.notify import tell_review_outcome

    found = _own_review(review_id)
    error = None
    if request.method == "POST":
        try:
            reviews.decide(found, current_user, request.form.get("decision", ""),
                           request.form.get("note", ""))
            db.session.commit()
        except reviews.ReviewError as refused:
            db.session.rollback()
            error = str(refused)
            found = _own_review(review_id)
        else:
            db.session.refresh(found)
            tell_review_outcome(found)
            flash(_("Answer recorded; the buyer is told by e-mail."), "success")
            return redirect(url_for("approvals.review", review_id=review_id), 303)
    history = list(db.session.scalars(
        select(Event).where(Event.review_id == found.id).order_by(Event.id)))
    return page("approvals/review.html", 200 if error is None else 400, review=found,
                users=_users(found.company_id), history=history, error=error,
                can_review=found.status == PENDING and reviews.may_review(found, current_user))


# -- absence -------------------------------------------------------------------------------


@bp.route("/deputy", methods=["POST"])
def deputy() -> Any:
    """Name a deputy until a date, or end the delegation (``action=end``)."""
    try:
        if request.form.get("action") == "end":
            ended = delegation.end(current_user)
            message = (_("Delegation ended: you decide again.") if ended
                       else _("You had no deputy."))
        else:
            member = delegation.delegate(current_user, request.form.get("deputy", ""),
                                         request.form.get("until", ""), shop_today(g.tenant))
            message = _("Your deputy decides in your place until %(date)s.",
                        date=format_date(member.deputy_until, "long"))
        db.session.commit()
    except delegation.DelegationError as refused:
        db.session.rollback()
        return _index(400, deputy_error=str(refused))
    flash(message, "success")
    return redirect(url_for("approvals.index"), 303)


# -- audit ---------------------------------------------------------------------------------


@bp.route("/audit.csv")
def audit_csv() -> Any:
    """Every event of the company's trail, for the company admin only."""
    if current_user.role != "company_admin":
        abort(403)
    header = [_("Date (UTC)"), _("Actor"), _("Action"), _("Request"), _("Order"),
              _("Technical validation"), _("Note")]
    body = audit.to_csv(header, audit.rows(current_user.company_id))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="approvals-audit.csv"'})
