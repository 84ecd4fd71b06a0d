"""The customer's side of the help desk: the help centre with its FAQ, the question form, and
the customer's requests with their conversation.

What shapes these pages:

- **the answer may already exist**: the form suggests FAQ entries matching the subject as the
  customer types (``faq.json``), and without JavaScript a "Check the FAQ" button shows them;
  the help centre's search uses the same rules (:mod:`.faq`);
- **a question about something is asked from it**: product and order pages carry a link
  (page blocks) that opens the form about that product or order; an order is taken only
  when it is the customer's own, and otherwise the form says so and stores nothing (a 404
  would hide what went wrong from a customer who mistyped a number);
- **bad input stores nothing**: an empty subject, a bad address, a file refused re-show the
  form (status 400) with the message of :mod:`.tickets`, which names the field or the file;
- **a request is its customer's only**: the requests pages need an account, and another
  customer's ticket, or another shop's, is a 404 like a ticket that does not exist; internal
  notes and the desk's system entries are never shown, nor their files;
- **files go back as downloads** (``attachment``, ``nosniff``): a file a customer sent is
  never rendered as a page of this shop.

Guests can ask a question (name and address); they follow it by e-mail, since their
requests have no page: the thank-you page after sending shows the number and the deadline.
"""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import format_datetime, get_locale
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from comptoir.toolkit import (
    Markup,
    TenantInfo,
    current_tenant,
    db,
    plugin_settings,
    plugin_translations,
    render_translated,
)
from plugins.support import faq, files, tickets
from plugins.support.errors import TicketError
from plugins.support.models import CUSTOMER, STAFF, Attachment, Ticket, TicketMessage

translations = plugin_translations("plugins.support")
_ = translations.gettext

bp = Blueprint("support", __name__, url_prefix="/support", template_folder="templates")

PLUGIN = "support"
#: History entries a customer sees: their messages and the desk's answers (not the internal
#: notes, nor the system's entries, which name staff members).
VISIBLE = (CUSTOMER, STAFF)
#: How many FAQ entries the form suggests.
SUGGESTIONS = 5
#: The longest FAQ answer sent to the form's suggestions (the help centre shows it whole).
EXCERPT = 300
#: Session key of the tickets this browser opened as a guest (their thank-you pages).
GUEST_TICKETS = "support_guest_tickets"
#: Room left in a request for the form's text fields, beyond the files themselves.
FORM_ROOM = 1_000_000


def _tenant() -> TenantInfo:
    tenant = current_tenant()
    if tenant is None:  # platform pages have no help desk
        abort(404)
    return tenant


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_translated(translations, template, **context), status


def _locale() -> str:
    return str(get_locale())


def _when(moment: Any) -> str:
    """A moment the shop's way: its language, its time zone (Babel)."""
    return format_datetime(moment, "medium") if moment is not None else ""


def _max_bytes(tenant: TenantInfo) -> int:
    return int(plugin_settings(PLUGIN, tenant).get("max_attachment_mb", 10)) * 1_000_000


# --- hooks' helpers (wired in plugins/support/__init__.py) --------------------------------


def page_block(tenant: TenantInfo, slot: str, context: dict[str, Any]) -> Markup | None:
    """The link to ask about what the page shows: a product (slot ``product``) or an order
    (slot ``order``), opening the question form about it."""
    if slot == "product" and context.get("product") is not None:
        url = url_for("support.new", product=context["product"].sku)
        text = _("Ask a question about this product")
    elif slot == "order" and context.get("order") is not None:
        url = url_for("support.new", order=context["order"].number)
        text = _("Ask about this order")
    else:
        return None
    return Markup('<p class="support-ask"><a href="{}">{}</a></p>').format(url, text)


def menu_items() -> list[dict[str, str]]:
    """The storefront's "Help" link, to the help centre."""
    return [{"label": _("Help"), "url": url_for("support.help")}]


# --- the help centre -----------------------------------------------------------------------


@bp.route("/", endpoint="help")
def help_centre() -> Any:
    """The FAQ in the visitor's language (the office's entries and the shop's own), with a
    search box; a search that finds nothing says so and offers to ask."""
    _tenant()
    q = request.args.get("q", "")[:faq.MAX_QUERY].strip()
    locale = _locale()
    found = faq.search(q, locale, limit=50) if q else faq.entries(locale)
    return _page("support/help.html", q=q, entries=found,
                 searched=bool(q), searchable=bool(faq.query_terms(q, locale)))


@bp.route("/faq.json")
def suggestions() -> Any:
    """The FAQ entries matching ``q`` (the form's subject), best first, for the form's live
    suggestions: at most :data:`SUGGESTIONS`, answers cut to :data:`EXCERPT` characters."""
    _tenant()
    q = request.args.get("q", "")[:faq.MAX_QUERY]
    found = faq.search(q, _locale(), limit=SUGGESTIONS)
    response = jsonify({"query": q, "results": [_suggestion(entry) for entry in found]})
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


def _suggestion(entry: Any) -> dict[str, Any]:
    answer = entry.answer if len(entry.answer) <= EXCERPT else (
        entry.answer[:EXCERPT].rsplit(" ", 1)[0] + "…")
    return {"id": entry.id, "question": entry.question, "answer": answer,
            "url": url_for("support.help", _anchor=f"faq-{entry.id}")}


# --- the question form ---------------------------------------------------------------------


def _product(sku: str) -> tuple[str, str]:
    """The product's SKU and name, or :class:`TicketError` if the shop does not sell it."""
    return tickets.check_product(sku)  # the same rule as open_ticket's


def _order_error(number: str) -> str | None:
    """Why a logged-in customer may not ask about order ``number``, or ``None``; a guest's
    order is checked against the address they give, when they send."""
    if not number or not current_user.is_authenticated:
        return None
    try:
        tickets.check_order(number, current_user.id,  # open_ticket's own rule
                             current_user.email.lower())
    except TicketError as error:
        return str(error)
    return None


def _form_values(source: Any) -> dict[str, str]:
    return {
        "subject": (source.get("subject") or "")[:200],
        # Not cut: too long is said (tickets._body), never silently shortened.
        "message": source.get("message") or "",
        "name": (source.get("name") or "")[:200],
        "email": (source.get("email") or "")[:254],
        "phone": (source.get("phone") or "")[:40],
        "product": (source.get("product") or "").strip()[:64],
        "order": (source.get("order") or "").strip().lstrip("#")[:12],
    }


def _form(tenant: TenantInfo, values: dict[str, str], *, error: str | None = None,
          status: int = 200, suggested: list[Any] | None = None,
          product_name: str = "") -> tuple[str, int]:
    return _page("support/new.html", status, values=values, error=error,
                 suggested=suggested, product_name=product_name,
                 accept=files.accepted_types(), max_files=files.MAX_FILES,
                 max_mb=_max_bytes(tenant) // 1_000_000)


def _uploads(storages: list[FileStorage]) -> list[files.Upload]:
    """The files sent with the form, as :class:`files.Upload` (empty inputs skipped);
    :func:`files.check` decides, inside :mod:`.tickets`, which are taken.

    Read with bounds (:func:`files.read_uploads`): a chunked request has no Content-Length
    for :func:`_too_large` to judge, and must not be read whole into memory either."""
    return files.read_uploads(storages, _max_bytes(_tenant()))


def _too_large(tenant: TenantInfo) -> str | None:
    """A request larger than every file at its largest, told before anything is read."""
    room = files.MAX_FILES * _max_bytes(tenant) + FORM_ROOM
    if request.content_length is not None and request.content_length > room:
        return _("Attachments: the files together are too large (at most %(num)s files of "
                 "%(size)s MB each).", num=files.MAX_FILES,
                 size=_max_bytes(tenant) // 1_000_000)
    return None


@bp.route("/new")
def new() -> Any:
    """The question form, prefilled from ``?product=SKU``, ``?order=N`` or ``?subject=``."""
    tenant = _tenant()
    values = _form_values(request.args)
    error, product_name = None, ""
    if values["product"]:
        try:
            values["product"], product_name = _product(values["product"])
        except TicketError as problem:
            error, values["product"] = str(problem), ""
    error = _order_error(values["order"]) or error
    return _form(tenant, values, error=error, status=400 if error else 200,
                 suggested=faq.search(values["subject"], _locale(), SUGGESTIONS)
                 if values["subject"] else None, product_name=product_name)


@bp.route("/new", methods=["POST"])
def send() -> Any:
    """Send the question, or (``action=faq``, the no-JavaScript fallback) show the FAQ
    entries matching the subject first. Bad input re-shows the form, nothing stored."""
    tenant = _tenant()
    too_large = _too_large(tenant)
    if too_large:
        return _form(tenant, _form_values({}), error=too_large, status=400)
    values = _form_values(request.form)
    product_name = ""
    if values["product"]:
        try:
            values["product"], product_name = _product(values["product"])
        except TicketError as problem:
            values["product"] = ""
            return _form(tenant, values, error=str(problem), status=400)
    if request.form.get("action") == "faq":
        return _form(tenant, values, product_name=product_name,
                     suggested=faq.search(values["subject"], _locale(), SUGGESTIONS))
    if current_user.is_authenticated:
        user_id, email, name = current_user.id, current_user.email, current_user.name
    else:
        user_id, email, name = None, values["email"], values["name"]
    source = ("order" if values["order"] else "product" if values["product"]
              else "account" if user_id is not None else "web")
    try:
        ticket = tickets.open_ticket(
            tenant, email=email, name=name, subject=values["subject"], body=values["message"],
            source=source, locale=_locale(), user_id=user_id, phone=values["phone"],
            product_sku=values["product"] or None, order_number=values["order"] or None,
            uploads=_uploads(request.files.getlist("attachments")))
    except TicketError as problem:
        db.session.rollback()
        return _form(tenant, values, error=str(problem), status=400,
                     product_name=product_name)
    due = _when(ticket.due_at)
    if user_id is not None:
        flash(_("Your question is sent as request %(number)s; we answer by %(due)s at the "
                "latest.", number=ticket.number, due=due), "success")
        return redirect(url_for("support.ticket", number=ticket.number), 303)
    opened = [key for key in session.get(GUEST_TICKETS, []) if isinstance(key, str)]
    session[GUEST_TICKETS] = [*opened, _receipt_key(tenant, ticket.number)][-10:]
    return redirect(url_for("support.thanks", number=ticket.number), 303)


def _receipt_key(tenant: TenantInfo, number: int) -> str:
    """What the session remembers of a guest's ticket: its shop too, since numbers are per
    shop and a session cookie could be carried from one shop's path to another's."""
    return f"{tenant.id}:{number}"


@bp.route("/thanks/<int(max=2147483647):number>")
def thanks(number: int) -> Any:
    """A guest's receipt: the request's number and when the answer is due. Only the browser
    that sent it sees it (the ticket is remembered in its session)."""
    tenant = _tenant()
    mine = _receipt_key(tenant, number) in session.get(GUEST_TICKETS, [])
    ticket = tickets.get(number) if mine else None
    if ticket is None:
        abort(404)
    return _page("support/thanks.html", ticket=ticket, due=_when(ticket.due_at))


# --- the customer's requests ---------------------------------------------------------------


def _mine(number: int) -> Ticket:
    """The logged-in customer's ticket ``number``, if their account's (as
    :func:`tickets.for_account` counts them); anything else is a 404."""
    ticket = tickets.get(number)
    if ticket is None or ticket.user_id != current_user.id:
        abort(404)
    return ticket


@bp.route("/tickets")
@login_required
def my_tickets() -> Any:
    _tenant()
    return _page("support/tickets.html",
                 tickets=tickets.for_account(current_user.id))


def _ticket_page(ticket: Ticket, *, error: str | None = None, status: int = 200,
                 reply: str = "", token: str | None = None) -> tuple[str, int]:
    """The request's page, for its account holder or (``token``) a guest's signed link;
    the links on it keep to the way it was opened."""
    tenant = _tenant()
    history = [m for m in ticket.messages if m.kind in VISIBLE]
    if token is None:
        reply_url = url_for("support.reply", number=ticket.number)
        file_url = lambda file: url_for("support.download", number=ticket.number,  # noqa: E731
                                        file_id=file.id)
    else:
        reply_url = url_for("support.shared_reply", token=token)
        file_url = lambda file: url_for("support.shared_download", token=token,  # noqa: E731
                                        file_id=file.id)
    return _page("support/ticket.html", status, ticket=ticket, history=history,
                 due=_when(ticket.due_at), error=error, reply=reply, when=_when,
                 accept=files.accepted_types(), max_files=files.MAX_FILES,
                 max_mb=_max_bytes(tenant) // 1_000_000, reply_url=reply_url,
                 file_url=file_url, guest=token is not None)


@bp.route("/tickets/<int(max=2147483647):number>")
@login_required
def ticket(number: int) -> Any:
    """The customer's request: its conversation (answers and their own messages), its
    files, where it stands, and a form to add a message."""
    _tenant()
    return _ticket_page(_mine(number))


@bp.route("/tickets/<int(max=2147483647):number>", methods=["POST"])
@login_required
def reply(number: int) -> Any:
    """Add the customer's message (and files); the request waits for the desk again."""
    tenant = _tenant()
    ticket = _mine(number)
    too_large = _too_large(tenant)
    if too_large:
        return _ticket_page(ticket, error=too_large, status=400)
    body = request.form.get("message", "")
    try:
        tickets.customer_reply(tenant, ticket, body, author=current_user.email,
                               uploads=_uploads(request.files.getlist("attachments")))
    except TicketError as problem:
        db.session.rollback()
        return _ticket_page(_mine(number), error=str(problem), status=400, reply=body)
    flash(_("Your message is added to request %(number)s.", number=ticket.number), "success")
    return redirect(url_for("support.ticket", number=ticket.number), 303)


@bp.route("/tickets/<int(max=2147483647):number>/files/<int(max=2147483647):file_id>")
@login_required
def download(number: int, file_id: int) -> Any:
    """A file of the customer's request, as a download; a file of an internal note is not
    theirs to see (404)."""
    _tenant()
    return _send(_mine(number), file_id)


# --- a guest's request, through the signed link in its e-mails ----------------------------


def _shared(token: str) -> Ticket:
    """The ticket a guest's signed link opens in this shop; anything else is a 404."""
    ticket_id = tickets.read_access_token(_tenant(), token) if len(token) < 500 else None
    ticket = tickets.by_id(ticket_id) if ticket_id is not None else None
    if ticket is None:
        abort(404)
    return ticket


@bp.route("/r/<token>")
def shared(token: str) -> Any:
    """A request opened from the link in its e-mails: the same page as in an account, for
    a guest who has none."""
    return _ticket_page(_shared(token), token=token)


@bp.route("/r/<token>", methods=["POST"])
def shared_reply(token: str) -> Any:
    """A guest adds a message (and files) to their request from its page."""
    tenant = _tenant()
    ticket = _shared(token)
    too_large = _too_large(tenant)
    if too_large:
        return _ticket_page(ticket, error=too_large, status=400, token=token)
    body = request.form.get("message", "")
    try:
        tickets.customer_reply(tenant, ticket, body, author=ticket.email,
                               uploads=_uploads(request.files.getlist("attachments")))
    except TicketError as problem:
        db.session.rollback()
        return _ticket_page(_shared(token), error=str(problem), status=400, reply=body,
                            token=token)
    flash(_("Your message is added to request %(number)s.", number=ticket.number), "success")
    return redirect(url_for("support.shared", token=token), 303)


@bp.route("/r/<token>/files/<int(max=2147483647):file_id>")
def shared_download(token: str, file_id: int) -> Any:
    """A file of a guest's request, as a download."""
    return _send(_shared(token), file_id)


def _send(ticket: Ticket, file_id: int) -> Any:
    """``file_id`` of ``ticket``, if on a message the customer may see, as a download."""
    found = db.session.scalars(
        select(Attachment).join(TicketMessage, TicketMessage.id == Attachment.message_id)
        .where(Attachment.id == file_id, Attachment.ticket_id == ticket.id,
               TicketMessage.ticket_id == ticket.id, TicketMessage.kind.in_(VISIBLE))).first()
    if found is None:
        abort(404)
    response = send_file(io.BytesIO(found.data), mimetype=found.content_type,
                         as_attachment=True, download_name=found.filename,
                         max_age=0, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
