"""E-mail into tickets: a customer's reply lands in its ticket, any other mail to the desk
becomes a ticket for review; nothing sent to the desk is lost.

The MTA hands each message to ``comptoir support inbound`` (standard input, or a file), e.g.
in Postfix's ``master.cf``: ``flags=Rq user=comptoir argv=/srv/comptoir/bin/comptoir support
inbound --recipient ${recipient}``. :func:`process` then:

1. **finds the shop**: a recipient (the ``--recipient`` envelope address, ``To``, ``Cc``,
   ``Delivered-To``, ``X-Original-To``) that is a shop's desk address (its ``inbound_address``
   setting) or a reply address on it (``support+<ticket>.<signature>@`` that domain). Reply
   addresses are signed with the shop (:func:`tickets.read_reply_address`), so the shop comes
   first and its signature decides. A reseller that inherits its office's desk address shares
   it: a signed reply address still finds the reseller's ticket, other mail goes to the
   office's desk (give the reseller its own address for its own desk);
2. **finds the ticket** from a signed reply address. Answers are matched by that address
   only, not by ``In-Reply-To``: the desk's mail may leave through the newsletters plugin,
   which numbers its own Message-IDs, and the desk does not record them;
3. **lands the message**: in the ticket (:func:`tickets.customer_reply`, ``via="email"``),
   or, with no valid token (none, a forged or stale one, a ticket that does not exist), in a
   new ticket of source ``email`` marked for review. A reply from another address than the
   ticket's customer lands too, marked for review with a note. Each attachment is checked
   like an upload (:func:`files.check`); a refused one is left out, the ticket marked for
   review with a note naming the file and why: the words always land.

The text kept is the message's plain-text part (else its HTML, stripped of tags) without the
quoted conversation: everything from a line such as "On Mon, 3 Mar 2026, Desk wrote:" (or the
French and German forms, or an "Original Message" rule) down is dropped, and so are lines
that start with ``>``. If that leaves nothing, the whole text is kept: better a long message
than a lost one.

The same message delivered twice (the MTA retried) lands once: its Message-ID is unique per
shop among tickets' messages; a message without one is identified by a digest of its bytes.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import sys
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import (
    TenantInfo,
    db,
    plugin_settings,
    plugin_translations,
    shop_context,
    tenants_with_plugin,
)
from plugins.support import tickets
from plugins.support.files import MAX_FILES, FileRefused, Upload, check
from plugins.support.models import Ticket, TicketMessage

log = logging.getLogger("comptoir.support")
translations = plugin_translations("plugins.support")
_ = translations.gettext

PLUGIN = "support"
#: Headers that name where the message was sent, besides the envelope recipient.
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To")

# What :func:`process` did.
ADDED = "added"  # a message in an existing ticket
OPENED = "opened"  # a new ticket, for review
DUPLICATE = "duplicate"  # landed before
NO_TENANT = "no_tenant"  # addressed to no shop's desk
UNREADABLE = "unreadable"  # not something a ticket can be made of (no sender...)

#: ``sysexits.h``: a failure worth retrying (the database is down...): the MTA keeps the
#: message and tries again, so nothing is lost.
EX_TEMPFAIL = 75

_QUOTE_HEADS = (
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Le\b.{0,300}\ba\s+écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,300}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Message d'origine|Ursprüngliche Nachricht)"
               r"\s*-{2,}\s*$", re.IGNORECASE),
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Result:
    """What became of one message, for the MTA (:attr:`exit_code`) and the log."""

    outcome: str
    #: A sentence saying what happened, for the log and the command's output.
    detail: str
    tenant: str | None = None
    ticket_number: int | None = None
    needs_review: bool = False
    #: Files left out, each with why.
    refused_files: tuple[str, ...] = field(default=())

    @property
    def landed(self) -> bool:
        """Whether the message is in a ticket now (this time or before)."""
        return self.outcome in (ADDED, OPENED, DUPLICATE)

    @property
    def exit_code(self) -> int:
        """0 when it landed; 2 when it never will (the MTA bounces it to its sender)."""
        return 0 if self.landed else 2


# --- reading the message -------------------------------------------------------------------


def _raw(msg: EmailMessage, name: str) -> list[str]:
    """The header's values as written: the policy's parser may choke on a malformed
    address header, and :func:`getaddresses` copes with anything."""
    return [str(value) for key, value in msg.raw_items() if key.lower() == name.lower()]


def _decoded(text: str) -> str:
    """A display name's encoded words (``=?utf-8?q?L=C3=A9a?=``) decoded, if they can be."""
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # a broken encoded word: the text as it came
        return text


def _recipients(msg: EmailMessage, envelope: str) -> list[str]:
    values = [envelope] if envelope else []
    for name in RECIPIENT_HEADERS:
        values += _raw(msg, name)
    found = [addr.strip().strip("<>").lower() for _name, addr in getaddresses(values)]
    return list(dict.fromkeys(addr for addr in found if "@" in addr))


def _sender(msg: EmailMessage) -> tuple[str, str]:
    """``(name, address)`` of who wrote: ``From``, else ``Reply-To``, else ``Sender``."""
    for header in ("From", "Reply-To", "Sender"):
        for value in _raw(msg, header):
            name, addr = parseaddr(value)
            if addr and _EMAIL.fullmatch(addr.strip()):
                return _one_line(_decoded(name), 200), addr.strip().lower()
    return "", ""


def _one_line(text: str, size: int) -> str:
    return " ".join(_LINE_CONTROL.sub(" ", text or "").split())[:size]


def message_id(msg: EmailMessage, raw: bytes) -> str:
    """The message's Message-ID, or one made from its bytes (the same bytes delivered
    twice land once)."""
    found = _one_line(" ".join(_raw(msg, "Message-ID")[:1]), 1000)
    if found and len(found) <= 250:
        return found
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@inbound.comptoir>"


def _text(msg: EmailMessage) -> str:
    """The message's words: its plain-text part, else its HTML as text."""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # a structure the parser could not make sense of
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # an unknown charset...: the bytes as well as they decode
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = _html_to_text(content)
    return _CONTROL.sub("", content.replace("\r\n", "\n")).strip()


def _html_to_text(source: str) -> str:
    source = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", "", source)
    source = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>|</li\s*>|</tr\s*>", "\n", source)
    quoted = re.compile(r"(?is)<blockquote\b(?:(?!<blockquote\b).)*?</blockquote\s*>")
    while quoted.search(source):  # what it quotes, innermost first
        source = quoted.sub("", source)
    text = html.unescape(re.sub(r"<[^>]+>", "", source))
    return "\n".join(line.strip() for line in text.splitlines())


def _quote_head(line: str) -> bool:
    return any(head.match(line) for head in _QUOTE_HEADS)


def strip_quoted(text: str) -> str:
    """``text`` without the conversation it quotes (see the module's docstring); the whole
    text if nothing would be left."""
    lines = text.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        # Mail programs wrap a long "On ..., X <x@example.org> wrote:" over two lines.
        if _quote_head(line) or (line.strip() and following.strip()
                                 and _quote_head(f"{line} {following}")):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    result = "\n".join(kept).strip()
    return result or text.strip()


def _attachments(msg: EmailMessage) -> list[Upload]:
    found = []
    for part in msg.iter_attachments():
        name = part.get_filename() or ""
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
            name = name or "message.eml"
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        found.append(Upload(name or "file", part.get_content_type(), data))
    return found


@dataclass
class _Mail:
    """What a ticket needs of one e-mail."""

    message_id: str
    name: str
    sender: str
    subject: str
    body: str
    uploads: list[Upload]
    recipients: list[str]
    #: Sent by a program (an out-of-office reply, a list, a bounce): it still makes a
    #: ticket, but is not acknowledged, so two robots cannot answer each other forever.
    automatic: bool = False


def is_automatic(msg: EmailMessage, sender: str) -> bool:
    """RFC 3834's ``Auto-Submitted`` (anything but ``no``), the older ``Precedence:
    bulk/junk/list``, a mailing list's ``List-Id``, or a mailer daemon's address."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    local = sender.partition("@")[0].lower()
    return (auto != "no" or precedence in ("bulk", "junk", "list")
            or msg.get("List-Id") is not None
            or local in ("mailer-daemon", "postmaster", "noreply", "no-reply"))


def read(raw: bytes, recipient: str = "") -> _Mail:
    """Parse ``raw`` (RFC 5322) into what a ticket takes."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    name, sender = _sender(msg)
    return _Mail(message_id=message_id(msg, raw), name=name, sender=sender,
                 subject=_one_line(_decoded(" ".join(_raw(msg, "Subject")[:1])), 200),
                 body=strip_quoted(_text(msg)), uploads=_attachments(msg),
                 recipients=_recipients(msg, recipient.strip().lower()),
                 automatic=is_automatic(msg, sender))


# --- finding the shop and the ticket -------------------------------------------------------


def _desk(tenant: TenantInfo) -> tuple[str, str] | None:
    """``(local part, domain)`` of the shop's desk address, lower-cased."""
    inbound = (plugin_settings(PLUGIN, tenant).get("inbound_address") or "").strip().lower()
    local, at, domain = inbound.partition("@")
    return (local, domain) if at and local and domain else None


def _for_desk(address: str, desk: tuple[str, str]) -> bool:
    local, _at, domain = address.rpartition("@")
    return domain == desk[1] and (local == desk[0] or local.startswith(desk[0] + "+"))


def find(recipients: list[str]) -> tuple[TenantInfo | None, int | None]:
    """The shop the message was sent to, and the ticket id its reply address names (if a
    signature holds): a signed reply address first; else the shop whose desk address it is
    (an office before its resellers, which inherit the address)."""
    shops = [(tenant, desk) for tenant in tenants_with_plugin(PLUGIN)
             if (desk := _desk(tenant)) is not None]
    addressed = [(tenant, address) for tenant, desk in shops for address in recipients
                 if _for_desk(address, desk)]
    for tenant, address in addressed:
        ticket_id = tickets.read_reply_address(tenant, address)
        if ticket_id is not None:
            return tenant, ticket_id
    if not addressed:
        return None, None
    offices = [tenant for tenant, _address in addressed if not tenant.is_reseller]
    return (offices or [addressed[0][0]])[0], None


# --- landing -------------------------------------------------------------------------------


def _landed_before(mid: str) -> Ticket | None:
    row = db.session.scalars(select(TicketMessage).where(
        TicketMessage.email_message_id == mid)).first()
    return tickets.by_id(row.ticket_id) if row is not None else None


def _kept_files(tenant: TenantInfo, uploads: list[Upload]) -> tuple[list[Upload], list[str]]:
    """The attachments a ticket takes, and why each other one was left out."""
    limit = int(plugin_settings(PLUGIN, tenant).get("max_attachment_mb", 10)) * 1_000_000
    kept: list[Upload] = []
    refused: list[str] = []
    for upload in uploads:
        try:
            checked = check(upload, limit)
        except FileRefused as exc:
            refused.append(str(exc))
            continue
        if len(kept) >= MAX_FILES:
            refused.append(_("%(file)s was left out: at most %(n)s files per message.",
                             file=checked.filename, n=MAX_FILES))
            continue
        kept.append(checked)
    return kept, refused


def _fit(body: str, uploads: list[Upload]) -> tuple[str, list[Upload]]:
    """A body a ticket takes: never empty, and a long one cut with the whole text joined
    as a file."""
    if not body.strip():
        return (_("(This e-mail has no text.)") if not uploads else
                _("(This e-mail has no text; see its files.)")), uploads
    if len(body) <= tickets.MAX_BODY:
        return body, uploads
    note = "\n\n" + _("(Cut here: the whole text is in the file message.txt.)")
    whole = Upload("message.txt", "text/plain", body.encode("utf-8"))
    return body[:tickets.MAX_BODY - len(note)].rstrip() + note, [*uploads, whole]


def _review_notes(ticket: Ticket, notes: list[str]) -> None:
    for note in notes:
        tickets.flag_for_review(ticket, note)


def _into_ticket(tenant: TenantInfo, ticket: Ticket, mail: _Mail) -> Result:
    body, uploads = _fit(mail.body, mail.uploads)
    kept, refused = _kept_files(tenant, uploads)
    author = mail.sender or ticket.email
    message = tickets.customer_reply(tenant, ticket, body, author=author, uploads=kept,
                                     via="email", email_message_id=mail.message_id)
    if message is None:
        return Result(DUPLICATE, _("This e-mail is already in ticket %(number)s.",
                                   number=ticket.number), tenant.slug, ticket.number)
    notes = [_("A file of this e-mail was not kept: %(reason)s", reason=reason)
             for reason in refused]
    if mail.sender != ticket.email:
        notes.insert(0, _("This e-mail came from %(sender)s, not from the ticket's customer "
                          "(%(customer)s): check who wrote it before answering.",
                          sender=mail.sender or _("an unknown sender"),
                          customer=ticket.email))
    _review_notes(ticket, notes)
    return Result(ADDED, _("Added to ticket %(number)s.", number=ticket.number), tenant.slug,
                  ticket.number, needs_review=bool(notes), refused_files=tuple(refused))


def _new_ticket(tenant: TenantInfo, mail: _Mail, why: str) -> Result:
    if not mail.sender:
        return Result(UNREADABLE, _("This e-mail has no sender address to answer: not "
                                    "taken."), tenant.slug)
    body, uploads = _fit(mail.body, mail.uploads)
    kept, refused = _kept_files(tenant, uploads)
    try:
        ticket = tickets.open_ticket(
            tenant, email=mail.sender, name=mail.name,
            subject=mail.subject or _("E-mail without a subject"), body=body, source="email",
            locale=tenant.locale, uploads=kept, via="email",
            email_message_id=mail.message_id, needs_review=True,
            acknowledge=not mail.automatic)
    except tickets.TicketError as refused:  # an address too long to be one...: never
        db.session.rollback()  # taken, so not worth the MTA's retries
        return Result(UNREADABLE, str(refused), tenant.slug)
    except IntegrityError:  # the same e-mail, delivered twice at once
        db.session.rollback()
        found = _landed_before(mail.message_id)
        return Result(DUPLICATE, _("This e-mail is already in ticket %(number)s.",
                                   number=found.number if found else "?"), tenant.slug,
                      found.number if found else None)
    notes = [why] + [_("A file of this e-mail was not kept: %(reason)s", reason=reason)
                     for reason in refused]
    _review_notes(ticket, notes)
    return Result(OPENED, _("New ticket %(number)s, to review.", number=ticket.number),
                  tenant.slug, ticket.number, needs_review=True, refused_files=tuple(refused))


def process(raw: bytes, recipient: str = "") -> Result:
    """Land one e-mail (RFC 5322 bytes) in its shop's help desk; see the module's docstring.

    In an app context, with no tenant (the CLI's). ``recipient`` is the envelope recipient,
    when the MTA passes it. Errors of the database propagate: the MTA should retry.
    """
    if not isinstance(raw, bytes | bytearray):
        raise TypeError("process() takes the message's bytes")
    mail = read(bytes(raw), recipient)
    tenant, ticket_id = find(mail.recipients)
    if tenant is None:
        if not mail.recipients:
            return Result(NO_TENANT, _("This e-mail names no recipient address."))
        return Result(NO_TENANT, _("No help desk has the address %(addresses)s.",
                                   addresses=", ".join(mail.recipients)))
    with shop_context(tenant):
        found = _landed_before(mail.message_id)
        if found is not None:
            return Result(DUPLICATE, _("This e-mail is already in ticket %(number)s.",
                                       number=found.number), tenant.slug, found.number)
        ticket = tickets.by_id(ticket_id) if ticket_id is not None else None
        if ticket is not None:
            result = _into_ticket(tenant, ticket, mail)
        else:
            why = (_("This e-mail's reply address names a ticket that does not exist: "
                     "check who wrote it before answering.") if ticket_id is not None else
                   _("This e-mail was sent to %(addresses)s and matched no ticket: check "
                     "who wrote it before answering.",
                     addresses=", ".join(mail.recipients)))
            result = _new_ticket(tenant, mail, why)
    log.info("support inbound %s: %s", mail.message_id, result.detail)
    return result


# --- the command ---------------------------------------------------------------------------


@click.command("inbound")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--recipient", default="", metavar="ADDRESS",
              help="The envelope recipient, if the MTA passes it (Postfix: ${recipient}).")
@with_appcontext
def inbound_command(source: Any, recipient: str) -> None:
    """Put one e-mail (FILE, or standard input) into the help desk of the shop it was sent
    to.

    Exits 0 once it is in a ticket (or was before); 2 when no shop's desk has the address
    or the e-mail cannot make a ticket (the MTA bounces it to its sender); 75 on a failure
    worth retrying (the MTA keeps the message and tries again later).
    """
    raw = source.read()
    if not raw.strip():
        click.echo(_("No message to read."), err=True)
        sys.exit(2)
    try:
        result = process(raw, recipient=recipient)
    except Exception as exc:  # the database is down...: let the MTA try again later
        log.exception("support inbound failed")
        click.echo(_("Not taken for now, to be retried: %(reason)s", reason=str(exc)),
                   err=True)
        sys.exit(EX_TEMPFAIL)
    click.echo(result.detail, err=not result.landed)
    sys.exit(result.exit_code)
