"""The help desk's pages: the queue against the 48-hour promise, a ticket's whole history with
its answers and notes, reply templates, the FAQ, the promise's report and everything the shop
knows of one customer.

What shapes these pages:

- **staff only, one shop only**: ``staff`` and ``tenant_admin`` users (a visitor is sent to
  the login page, a customer gets a 403); every row is read in the shop's own tenant, so
  another shop's ticket, template or FAQ entry is a 404 like one that does not exist. Ticket
  numbers are per shop: two shops both have a ticket 1, each sees its own.
- **the queue is the promise**: tickets waiting for staff, the soonest due first, those that
  need a person's eye (an e-mail that matched no ticket, a refused file) before all; each
  shows how much business time is left, "due soon" within the warning window and "late"
  once the deadline passed. Business hours the settings make unusable are named in a banner
  (the clock then counts every hour, see :func:`tickets.schedule`).
- **every change goes through** :mod:`.tickets`, which checks and commits; bad input re-shows
  the page with status 400 and the message naming the problem, and nothing is stored.
- **internal notes stay inside**: shown here, set apart, never on the customer's page nor in
  their mail (:mod:`.notices` sends staff answers only).
- **an office writes, its resellers read**: reply templates and FAQ entries of the office are
  shown read-only on a reseller's pages ("from <office>"); the reseller adds its own. Changing
  the office's is a 403.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_babel import format_datetime, format_timedelta
from flask_login import current_user
from sqlalchemy import func, or_, select
from werkzeug.datastructures import FileStorage

from comptoir.toolkit import (
    Order,
    TenantInfo,
    current_tenant,
    customer_account,
    customer_callbacks,
    customer_returns,
    db,
    login_next,
    plugin_settings,
    plugin_translations,
    render_translated,
)
from plugins.support import files, hours, replies, tickets
from plugins.support.errors import TicketError
from plugins.support.models import (
    CLOSED,
    NOTE,
    OPEN,
    PENDING,
    STATUSES,
    Attachment,
    FaqEntry,
    Survey,
    Ticket,
    TicketMessage,
)

translations = plugin_translations("plugins.support")
_ = translations.gettext
_l = translations.lazy_gettext

PLUGIN = "support"
STAFF_ROLES = ("staff", "tenant_admin")
#: The queue's filters: what the ticket waits for, and whose it is.
STATUS_FILTERS = ("waiting", PENDING, CLOSED, "all")
ASSIGNEE_FILTERS = ("all", "mine", "unassigned")
#: The report's longest period, in days.
MAX_DAYS = 366
#: The longest FAQ answer kept, in characters.
MAX_ANSWER = 10000
#: Orders shown on a customer's page (the latest).
CUSTOMER_ORDERS = 50

SOURCE_LABELS = {
    "product": _l("product page"), "order": _l("order"), "account": _l("customer account"),
    "email": _l("e-mail"), "staff": _l("help desk"), "survey": _l("satisfaction survey"),
}

bp = Blueprint("support_staff", __name__, url_prefix="/staff/support",
               template_folder="templates")


def _is_staff() -> bool:
    return bool(current_user.is_authenticated and current_user.role in STAFF_ROLES)


@bp.before_request
def _staff_only() -> Any:
    if current_tenant() is None:  # the platform's own pages have no help desk
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    if not _is_staff():
        abort(403)
    return None


def menu_items() -> list[dict[str, str]] | None:
    """The staff's menu entry to the help desk (nothing for customers and visitors)."""
    if _is_staff():
        return [{"label": _("Help desk"), "url": url_for("support_staff.index")}]
    return None


def _tenant() -> TenantInfo:
    tenant = current_tenant()
    if tenant is None:
        abort(404)
    return tenant


def _page(name: str, code: int = 200, /, **context: Any) -> tuple[str, int]:
    return render_translated(translations, f"support/{name}", when=_when,
                             status_label=tickets.status_label, source_label=_source_label,
                             language=language, **context), code


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _when(moment: datetime | None, format: str = "short") -> str:
    """A moment the shop's way: the page's language, the shop's time zone (Babel)."""
    return format_datetime(_aware(moment), format) if moment is not None else ""


def language(code: str) -> str:
    """A language's name in itself ("English", "Français (France)"); a code Babel does not
    know (a ticket from an odd e-mail client) is shown as it is rather than failing."""
    try:
        name = Locale.parse(code).display_name or code
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def _source_label(source: str) -> str:
    return str(SOURCE_LABELS[source]) if source in SOURCE_LABELS else source


def duration(delta: timedelta) -> str:
    """Business time in words ("5 hours", "20 minutes"), never rounded up to days: 48
    business hours are a week of calendar days, and "2 days" would mislead."""
    seconds = abs(delta.total_seconds())
    granularity = "hour" if seconds >= 3600 else "minute"
    return format_timedelta(timedelta(seconds=seconds), granularity=granularity,
                            threshold=10**9)


def schedule_problem(tenant: TenantInfo) -> str | None:
    """What is wrong with the business-hours settings (the message names the setting), or
    ``None`` when they can be used."""
    try:
        hours.Schedule.of(tenant)
    except hours.ScheduleError as exc:
        return str(exc)
    return None


def _deadline(tenant: TenantInfo, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """Where ``ticket`` stands against the promise, in words for a badge."""
    state = tickets.due_state(tenant, ticket, now)
    left = tickets.time_left(tenant, ticket, now) if state is not None else None
    if state == tickets.BREACHED:
        late = now - _aware(ticket.due_at)  # type: ignore[operator]
        text = _("late by %(time)s", time=duration(late))
    elif left is not None:
        text = _("%(time)s of business time left", time=duration(left))
    else:
        text = ""
    labels = {tickets.BREACHED: _("late"), tickets.WARNING: _("due soon")}
    return {"state": state, "label": labels.get(state or "", ""), "left": text,
            "due": _when(ticket.due_at)}


def _names() -> dict[str, str]:
    """Staff members' names by e-mail, to show who a ticket is assigned to."""
    return {email.lower(): name or email for email, name in tickets.staff_members()}


# --- the queue -----------------------------------------------------------------------------


@bp.route("/")
def index() -> Any:
    """Tickets for the desk, filtered; by default those waiting for staff, soonest due
    first, those to review before all."""
    tenant = _tenant()
    status = request.args.get("status", "waiting")
    status = status if status in STATUS_FILTERS else "waiting"
    who = request.args.get("assignee", "all")
    who = who if who in ASSIGNEE_FILTERS else "all"
    q = request.args.get("q", "").strip()[:100]
    assignee = {"mine": current_user.email, "unassigned": "", "all": None}[who]
    rows = tickets.queue(status=None if status == "all" else status, assignee=assignee, q=q)
    rows.sort(key=lambda ticket: not ticket.needs_review)  # stable: the order is kept
    now = datetime.now(UTC)
    items = [(ticket, _deadline(tenant, ticket, now)) for ticket in rows]
    filtered = status != "waiting" or who != "all" or bool(q)
    return _page("staff_queue.html", items=items, status=status, assignee=who, q=q,
                 filtered=filtered, names=_names(), problem=schedule_problem(tenant))


# --- one ticket ----------------------------------------------------------------------------


def _ticket(number: int) -> Ticket:
    found = tickets.get(number)
    if found is None:
        abort(404)
    return found


def _customer(ticket: Ticket) -> Any:
    """The customer's account in this shop, if they have one."""
    return customer_account(ticket.email)


def _ticket_page(ticket: Ticket, status: int = 200, error: str | None = None,
                 values: dict[str, str] | None = None) -> Any:
    tenant = _tenant()
    values = dict(values or {})
    chosen = None
    if "reply" not in values and request.method == "GET" and request.args.get("template"):
        chosen, text, problem = _template_text(request.args.get("template", ""), ticket)
        if problem:
            error, status = problem, 400
        else:
            values["reply"] = text
    templates = replies.templates_for(ticket.locale)
    return _page(
        "staff_ticket.html", status, ticket=ticket, messages=ticket.messages, error=error,
        values=values, deadline=_deadline(tenant, ticket, datetime.now(UTC)),
        templates=templates, chosen=chosen, staff=tickets.staff_members(),
        names=_names(), account=_customer(ticket), statuses=STATUSES, note=NOTE,
        reply_address=tickets.reply_address(tenant, ticket),
        accept=files.accepted_types(), max_files=files.MAX_FILES,
        problem=schedule_problem(tenant), is_own=lambda row: replies.is_own(row, tenant))


def _template_text(value: str, ticket: Ticket) -> tuple[Any, str, str | None]:
    """The template chosen by id, rendered for ``ticket``: (template, text, problem)."""
    try:
        template_id = int(value)
    except ValueError:
        return None, "", _("Choose a template from the list.")
    template = replies.get(template_id)
    if template is None:
        return None, "", _("Choose a template from the list.")
    try:
        return template, replies.render(template.body, ticket, current_user, _tenant()), None
    except replies.TemplateRefused as exc:
        return template, "", str(exc)


@bp.route("/<int(max=2147483647):number>")
def ticket(number: int) -> Any:
    """The whole history (answers, notes, system entries, files) and the desk's forms;
    ``?template=<id>`` fills the answer with that template (no JavaScript needed)."""
    return _ticket_page(_ticket(number))


@bp.route("/<int(max=2147483647):number>/templates/<int(max=2147483647):template_id>.json")
def template_json(number: int, template_id: int) -> Any:
    """A template rendered for this ticket, for the page's script to fill the answer."""
    found = _ticket(number)
    _chosen, text, problem = _template_text(str(template_id), found)
    response = jsonify({"error": problem} if problem else {"body": text})
    response.headers["Cache-Control"] = "no-store"
    return response, 400 if problem else 200


def _uploads(storages: list[FileStorage]) -> list[files.Upload]:
    """The files sent with a form, read with bounds (:func:`files.read_uploads`);
    :func:`files.check` (inside :mod:`.tickets`) decides."""
    limit = int(plugin_settings(PLUGIN, _tenant()).get("max_attachment_mb", 10)) * 1_000_000
    return files.read_uploads(storages, limit)


def _act(number: int, action: Any, done: str, values: dict[str, str] | None = None) -> Any:
    """Run ``action(tenant, ticket)``; on success flash ``done`` and go back to the ticket,
    on :class:`TicketError` re-show the page (400) with the message, nothing changed."""
    tenant = _tenant()
    found = _ticket(number)
    try:
        action(tenant, found)
    except TicketError as exc:
        db.session.rollback()
        return _ticket_page(_ticket(number), 400, error=str(exc), values=values)
    flash(done, "success")
    return redirect(url_for(".ticket", number=number), 303)


@bp.route("/<int(max=2147483647):number>/reply", methods=["POST"])
def reply(number: int) -> Any:
    """Answer the customer (mailed to them); "Reply and close" also closes the ticket."""
    body = request.form.get("body", "")
    close = request.form.get("action") == "close"
    uploads = _uploads(request.files.getlist("attachments"))

    def action(tenant: TenantInfo, ticket: Ticket) -> None:
        tickets.staff_reply(tenant, ticket, body, actor=current_user.email, uploads=uploads,
                            close=close)

    done = _("Answer sent; the ticket is closed.") if close else _("Answer sent.")
    return _act(number, action, done, {"reply": body})


@bp.route("/<int(max=2147483647):number>/note", methods=["POST"])
def note(number: int) -> Any:
    """An internal note, for the desk only."""
    body = request.form.get("body", "")
    uploads = _uploads(request.files.getlist("attachments"))

    def action(tenant: TenantInfo, ticket: Ticket) -> None:
        tickets.add_note(tenant, ticket, body, actor=current_user.email, uploads=uploads)

    return _act(number, action, _("Note added."), {"note": body})


@bp.route("/<int(max=2147483647):number>/assign", methods=["POST"])
def assign(number: int) -> Any:
    """Give the ticket to a staff member of this shop, to oneself ("me"), or to nobody."""
    chosen = request.form.get("assignee", "").strip()
    assignee = current_user.email if chosen == "me" else chosen

    def action(tenant: TenantInfo, ticket: Ticket) -> None:
        tickets.assign(tenant, ticket, assignee, actor=current_user.email)

    done = (_("Ticket assigned to %(who)s.", who=assignee) if assignee
            else _("Nobody is in charge of the ticket now."))
    return _act(number, action, done)


@bp.route("/<int(max=2147483647):number>/status", methods=["POST"])
def status(number: int) -> Any:
    """Close, reopen, or mark as waiting for the customer."""
    wanted = request.form.get("status", "")

    def action(tenant: TenantInfo, ticket: Ticket) -> None:
        tickets.set_status(tenant, ticket, wanted, actor=current_user.email)

    return _act(number, action, _("Status: %(status)s.", status=tickets.status_label(wanted)))


@bp.route("/<int(max=2147483647):number>/reviewed", methods=["POST"])
def reviewed(number: int) -> Any:
    """Clear the "to review" flag."""

    def action(tenant: TenantInfo, ticket: Ticket) -> None:
        tickets.mark_reviewed(tenant, ticket, actor=current_user.email)

    return _act(number, action, _("Marked as reviewed."))


@bp.route("/<int(max=2147483647):number>/files/<int(max=2147483647):file_id>")
def download(number: int, file_id: int) -> Any:
    """A file of the ticket (notes' files included: this is the desk), as a download that
    the browser never renders as a page of the shop."""
    found_ticket = _ticket(number)
    found = db.session.scalars(
        select(Attachment).join(TicketMessage, TicketMessage.id == Attachment.message_id)
        .where(Attachment.id == file_id, Attachment.ticket_id == found_ticket.id,
               TicketMessage.ticket_id == found_ticket.id)).first()
    if found is None:
        abort(404)
    response = send_file(io.BytesIO(found.data), mimetype=found.content_type,
                         as_attachment=True, download_name=found.filename, max_age=0,
                         etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- reply templates -----------------------------------------------------------------------


def _template(template_id: int, *, own: bool) -> Any:
    """A template this shop may read (404 otherwise); ``own``: one it may change (the
    office's, seen from a reseller, is a 403)."""
    found = replies.get(template_id)
    if found is None:
        abort(404)
    if own and not replies.is_own(found, _tenant()):
        abort(403)
    return found


@bp.route("/templates")
def templates() -> Any:
    """The shop's templates, and the office's for a reseller (read-only)."""
    tenant = _tenant()
    rows = replies.templates_for()
    return _page("staff_templates.html", own=[r for r in rows if replies.is_own(r, tenant)],
                 inherited=[r for r in rows if not replies.is_own(r, tenant)],
                 placeholders=replies.PLACEHOLDERS)


def _template_form(template: Any) -> Any:
    tenant = _tenant()
    if request.method == "POST":
        values = {"name": request.form.get("name", ""),
                  "locale": request.form.get("locale", ""),
                  "body": request.form.get("body", "")}
    elif template is not None:
        values = {"name": template.name, "locale": template.locale, "body": template.body}
    else:
        values = {"name": "", "locale": tenant.locale, "body": ""}
    error: replies.TemplateRefused | None = None
    if request.method == "POST":
        try:
            replies.save(tenant, template, actor=current_user.email, **values)
        except replies.TemplateRefused as exc:
            db.session.rollback()
            error = exc
        else:
            flash(_("Template “%(name)s” saved.", name=values["name"].strip()), "success")
            return redirect(url_for(".templates"), 303)
    return _page("staff_template_form.html", 400 if error else 200, reply_template=template,
                 values=values, error=error, languages=tenant.languages,
                 placeholders=replies.PLACEHOLDERS)


@bp.route("/templates/new", methods=["GET", "POST"])
def new_template() -> Any:
    return _template_form(None)


@bp.route("/templates/<int(max=2147483647):template_id>/edit", methods=["GET", "POST"])
def edit_template(template_id: int) -> Any:
    return _template_form(_template(template_id, own=True))


@bp.route("/templates/<int(max=2147483647):template_id>/delete", methods=["POST"])
def delete_template(template_id: int) -> Any:
    found = _template(template_id, own=True)
    name = found.name
    replies.delete(_tenant(), found)
    flash(_("Template “%(name)s” deleted.", name=name), "success")
    return redirect(url_for(".templates"), 303)


# --- FAQ -----------------------------------------------------------------------------------


class FaqRefused(TicketError):
    """An FAQ entry that cannot be saved; ``field`` is the form field at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _faq_entry(entry_id: int, *, own: bool) -> FaqEntry:
    found = db.session.scalars(select(FaqEntry).where(FaqEntry.id == entry_id)).first()
    if found is None:
        abort(404)
    if own and found.tenant_id != _tenant().id:
        abort(403)
    return found


def _one_line(value: str, size: int, field: str, label: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise FaqRefused(_("%(field)s: this field is required.", field=label), field)
    if len(text) > size or "\n" in text or "\r" in text:
        raise FaqRefused(_("%(field)s: at most %(size)s characters, on one line.",
                           field=label, size=size), field)
    return text


def save_faq(tenant: TenantInfo, entry: FaqEntry | None, form: dict[str, str]) -> FaqEntry:
    """Create or change one of ``tenant``'s FAQ entries from the form's values, and commit.

    :raises FaqRefused: a missing question or answer, a language the shop does not offer, a
        position that is not a number; nothing is saved.
    """
    if entry is not None and entry.tenant_id != tenant.id:
        raise FaqRefused(_("This entry belongs to %(office)s: it cannot be changed here.",
                           office=tenant.office_name), "question")
    locale = form.get("locale", "")
    if locale not in tenant.languages:
        raise FaqRefused(_("Choose one of the shop's languages."), "locale")
    question = _one_line(form.get("question", ""), 300, "question", _("Question"),
                         required=True)
    # A browser counts a line break once against the textarea's maxlength, sends "\r\n".
    answer = (form.get("answer") or "").replace("\r\n", "\n").strip()
    if not answer:
        raise FaqRefused(_("%(field)s: this field is required.", field=_("Answer")), "answer")
    if len(answer) > MAX_ANSWER:
        raise FaqRefused(_("%(field)s: at most %(size)s characters.", field=_("Answer"),
                           size=MAX_ANSWER), "answer")
    keywords = _one_line(form.get("keywords", ""), 300, "keywords", _("Keywords"),
                         required=False)
    try:
        position = int((form.get("position") or "0").strip())
    except ValueError:
        position = None
    if position is None or not -10000 <= position <= 10000:
        raise FaqRefused(_("Position: a whole number, e.g. 10 (lower comes first)."),
                         "position")
    if entry is None:
        entry = FaqEntry()
        db.session.add(entry)
    entry.locale, entry.question, entry.answer = locale, question, answer
    entry.keywords, entry.position = keywords, position
    entry.published = form.get("published") == "yes"
    entry.updated_at = datetime.now(UTC)
    db.session.commit()
    return entry


@bp.route("/faq")
def faq_list() -> Any:
    """The shop's FAQ entries by language and position, and the office's for a reseller
    (read-only: they show on the reseller's storefront too)."""
    tenant = _tenant()
    rows = db.session.scalars(select(FaqEntry).order_by(
        FaqEntry.locale, FaqEntry.position, FaqEntry.id)).all()
    return _page("staff_faq.html", own=[r for r in rows if r.tenant_id == tenant.id],
                 inherited=[r for r in rows if r.tenant_id != tenant.id])


def _faq_form(entry: FaqEntry | None) -> Any:
    tenant = _tenant()
    if request.method == "POST":
        values = {key: request.form.get(key, "") for key in
                  ("locale", "question", "answer", "keywords", "position", "published")}
    elif entry is not None:
        values = {"locale": entry.locale, "question": entry.question, "answer": entry.answer,
                  "keywords": entry.keywords, "position": str(entry.position),
                  "published": "yes" if entry.published else ""}
    else:
        values = {"locale": tenant.locale, "question": "", "answer": "", "keywords": "",
                  "position": "0", "published": "yes"}
    error: FaqRefused | None = None
    if request.method == "POST":
        try:
            save_faq(tenant, entry, values)
        except FaqRefused as exc:
            db.session.rollback()
            error = exc
        else:
            flash(_("FAQ entry saved."), "success")
            return redirect(url_for(".faq_list"), 303)
    return _page("staff_faq_form.html", 400 if error else 200, entry=entry, values=values,
                 error=error, languages=tenant.languages)


@bp.route("/faq/new", methods=["GET", "POST"])
def new_faq() -> Any:
    return _faq_form(None)


@bp.route("/faq/<int(max=2147483647):entry_id>/edit", methods=["GET", "POST"])
def edit_faq(entry_id: int) -> Any:
    return _faq_form(_faq_entry(entry_id, own=True))


@bp.route("/faq/<int(max=2147483647):entry_id>/delete", methods=["POST"])
def delete_faq(entry_id: int) -> Any:
    found = _faq_entry(entry_id, own=True)
    db.session.delete(found)
    db.session.commit()
    flash(_("FAQ entry deleted."), "success")
    return redirect(url_for(".faq_list"), 303)


# --- the report ----------------------------------------------------------------------------


@bp.route("/report")
def report() -> Any:
    """How the promise was kept over the last ``days`` days (30 unless told), and week by
    week; the tickets waiting now and how many are late."""
    tenant = _tenant()
    try:
        days = int(request.args.get("days", "30"))
    except ValueError:
        days = 30
    days = min(max(days, 1), MAX_DAYS)
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    total = tickets.report(tenant, since, now, now)
    weeks = []
    end = now
    while end > since:
        start = max(since, end - timedelta(days=7))
        weeks.append((start, end, tickets.report(tenant, start, end, now)))
        end = start
    return _page("staff_report.html", days=days, since=since, until=now, total=total,
                 weeks=weeks, promise=int(plugin_settings(PLUGIN, tenant).get(
                     "promise_hours", 48)), problem=schedule_problem(tenant))


# --- one customer --------------------------------------------------------------------------


@bp.route("/customers")
def customer() -> Any:
    """Everything the shop knows of one customer (by e-mail address): their tickets, orders,
    returns, callbacks with what came of them, and satisfaction surveys. A reseller's staff
    see their own customers: every list is read in this shop only."""
    email = request.args.get("email", "").strip().lower()[:254]
    if not email:
        return _page("staff_customer.html", email="", account=None)
    account = customer_account(email)
    user_id = account.id if account is not None else None
    by_customer = [func.lower(Order.email) == email]
    if user_id is not None:
        by_customer.append(Order.user_id == user_id)
    orders = db.session.scalars(select(Order).where(or_(*by_customer)).order_by(
        Order.created_at.desc(), Order.id.desc()).limit(CUSTOMER_ORDERS)).all()
    surveys_by = [func.lower(Survey.email) == email]
    if user_id is not None:
        surveys_by.append(Survey.user_id == user_id)
    surveys = db.session.scalars(select(Survey).where(or_(*surveys_by)).order_by(
        Survey.created_at.desc(), Survey.id.desc())).all()
    found = tickets.for_customer(user_id, email)
    return _page("staff_customer.html", email=email, account=account, tickets=found,
                 orders=orders, returns=customer_returns(email, user_id),
                 callbacks=customer_callbacks(email, user_id), surveys=surveys,
                 ticket_numbers={t.id: t.number for t in found}, open_status=OPEN)
