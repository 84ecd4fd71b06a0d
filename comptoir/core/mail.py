"""Outgoing e-mail: one way to build a message, two ways to deliver it.

Callers (order confirmations, password resets, newsletters...) call :func:`send` inside an
app context. Whether a message is transactional or marketing is their business; they pass
``List-Unsubscribe`` and the like through ``headers``.

Delivery follows ``COMPTOIR_MAIL_URL``:

- empty (the default): the message is written as an ``.eml`` file into the outbox folder
  (``COMPTOIR_MAIL_OUTBOX``, default ``<instance>/outbox``), so a fresh machine needs no mail
  server and a developer, a test or the admin can read what would have gone out
  (:func:`outbox_messages`);
- ``smtp://[user:password@]host[:port]`` (plain, port 25), ``smtp+starttls://...`` (port 587,
  refuses to go on in clear if the server offers no STARTTLS) or ``smtps://...`` (TLS from
  the first byte, port 465): the message is handed to that server with :mod:`smtplib`.

Messages are built with the standard library's :mod:`email` package (``EmailMessage``, the
modern policy): it encodes non-ASCII headers (RFC 2047) and bodies, so French and Czech text
survive any relay. Everything a caller passes is checked before anything is written or sent:
a line break in a header value is refused (header injection), recipients are validated with
``email-validator``, and the error names the argument at fault.
"""

from __future__ import annotations

import logging
import os
import random
import re
import smtplib
import ssl
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import _encoded_words as _ew
from email import policy, quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app

log = logging.getLogger("comptoir.mail")

#: Seconds to wait for the SMTP server (connect, and each command) before giving up; a
#: request that sends mail must not hang on a dead relay.
SMTP_TIMEOUT = 10

_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
# Header field names are printable US-ASCII except ':' (RFC 5322, section 3.6.8).
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# Headers that send() sets itself from its arguments; overriding them through ``headers``
# would bypass the checks (Bcc would even leak into every copy of an .eml).
_RESERVED = frozenset(
    name.lower()
    for name in ("From", "Sender", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date",
                 "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding")
)


class MailError(Exception):
    """The message could not be delivered (server unreachable, refused, outbox unwritable).

    Raised after the message was fully built and checked, so retrying the same call later
    is sensible; the mail service itself never retries.
    """


@dataclass(frozen=True)
class SmtpTarget:
    """Where ``COMPTOIR_MAIL_URL`` says to send mail."""

    scheme: str  # "smtp", "smtp+starttls" or "smtps"
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:  # for logs and errors: never the password
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def parse_mail_url(url: str) -> SmtpTarget:
    """Read a ``COMPTOIR_MAIL_URL``; a wrong one is a configuration error naming the setting.

    User and password are percent-decoded, so a password holding ``@`` or ``:`` can be
    written ``%40`` / ``%3A``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(
            f"COMPTOIR_MAIL_URL must start with smtp://, smtp+starttls:// or smtps://, "
            f"got {parts.scheme or url!r}"
        )
    try:
        port = parts.port or _SCHEMES[scheme]
    except ValueError as exc:
        raise ValueError(f"COMPTOIR_MAIL_URL has a bad port: {exc}") from None
    if not parts.hostname:
        raise ValueError("COMPTOIR_MAIL_URL names no host")
    return SmtpTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _refuse_line_breaks(field: str, value: str) -> None:
    # A CR or LF in a header value would start a new header (or the body): injection.
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"{field}: line breaks are not allowed in a mail header")


def _one_address(field: str, value: str, *, deliverable: bool) -> Address:
    """Parse ``addr`` or ``Name <addr>``; ``deliverable`` asks for a real, public domain."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected an address as text, got {type(value).__name__}")
    _refuse_line_breaks(field, value)
    if not value.strip():
        raise ValueError(f"{field}: empty address")
    if _PLAIN_ADDRESS.fullmatch(value):
        name, addr = "", value  # what parsing a bare address gives, without parsing it
    else:
        if len(getaddresses([value])) != 1:
            raise ValueError(f"{field}: one address per item, got {value!r}")
        name, addr = parseaddr(value)
    if deliverable:
        try:
            # No SMTPUTF8 (non-ASCII before the @): many relays still refuse it. Domains
            # may be international; the header carries their ASCII (punycode) form.
            checked = validate_email(addr, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as exc:
            raise ValueError(f"{field}: invalid address {value!r}: {exc}") from None
        addr = checked.ascii_email or checked.normalized
    elif addr.count("@") != 1 or not all(addr.split("@")) or any(c.isspace() for c in addr):
        # The sender is ours (COMPTOIR_MAIL_FROM): `no-reply@localhost` is fine in development.
        raise ValueError(f"{field}: invalid address {value!r}")
    local, _, domain = addr.rpartition("@")
    try:
        return Address(display_name=name, username=local, domain=_ascii_domain(domain))
    except (ValueError, IndexError) as exc:  # headerregistry's own checks
        raise ValueError(f"{field}: invalid address {value!r}: {exc}") from None


def _recipients(field: str, to: str | Iterable[str]) -> list[Address]:
    items = [to] if isinstance(to, str) else list(to)
    if not items or all(isinstance(i, str) and not i.strip() for i in items):
        raise ValueError(f"{field}: no recipient given")
    return [_one_address(field, item, deliverable=True) for item in items]


def _extra_headers(headers: Mapping[str, str] | None) -> list[tuple[str, str]]:
    checked: list[tuple[str, str]] = []
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"headers: {name!r} is not a valid header name")
        if name.lower() in _RESERVED:
            raise ValueError(f"headers: {name} is set by send() itself; use its argument")
        if not isinstance(value, str):
            raise ValueError(f"headers[{name!r}]: expected text, got {type(value).__name__}")
        _refuse_line_breaks(f"headers[{name!r}]", value)
        checked.append((name, value))
    return checked


#: Headers whose value is a list of ``<URL>`` (RFC 2369, RFC 8058) or a list id (RFC 2919):
#: encoded words are not allowed in them, and mail providers' one-click unsubscribe reads
#: them as written, so they go on one line (RFC 5322 allows 998 characters) rather than
#: being folded into ``=?utf-8?q?...?=`` pieces as the email package does with a long URL.
_VERBATIM = frozenset({"list-unsubscribe", "list-unsubscribe-post", "list-id", "list-help",
                       "list-subscribe", "list-post", "list-owner", "list-archive"})
_LINE_LIMIT = 998


class MailPolicy(EmailPolicy):
    """``email.policy.default``, except that list headers are written verbatim (see above):
    the email package's own extension point, so every flattening (smtplib's, the outbox's)
    agrees."""

    def _verbatim(self, name: str, value: Any) -> str | None:
        text = str(value)
        if (name.lower() in _VERBATIM and text.isascii() and "\r" not in text
                and "\n" not in text and len(name) + 2 + len(text) <= _LINE_LIMIT):
            return f"{name}: {text}{self.linesep}"
        return None

    def fold(self, name: str, value: Any) -> str:
        return self._verbatim(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        line = self._verbatim(name, value)
        return line.encode("ascii") if line else super().fold_binary(name, value)


#: What every message is built and written with.
MAIL_POLICY = MailPolicy()


@dataclass(frozen=True)
class _Checked:
    """A message's parts once every argument was checked (see :func:`build_message`)."""

    recipients: list[Address]
    subject: str
    text: str
    html: str | None
    sender: Address
    reply_to: Address | None
    extra: list[tuple[str, str]]
    message_id: str | None


@lru_cache(maxsize=256)
def _known_sender(value: str) -> Address:
    # A shop's sender is the same for all its messages: checked once (an error is not
    # cached, so a bad one fails every time).
    return _one_address("sender", value, deliverable=False)


def _check(
    to: str | Iterable[str], subject: str, text: str, html: str | None, *, sender: str,
    reply_to: str | None, headers: Mapping[str, str] | None, message_id: str | None,
) -> _Checked:
    recipients = _recipients("to", to)
    if not isinstance(subject, str):
        raise ValueError("subject: expected text")
    _refuse_line_breaks("subject", subject)
    if not subject.strip():
        raise ValueError("subject: empty subject")
    if not isinstance(text, str):
        raise ValueError("text: expected the plain-text body as text")
    if html is not None and not isinstance(html, str):
        raise ValueError("html: expected the HTML body as text")
    from_address = (_known_sender(sender) if isinstance(sender, str)
                    else _one_address("sender", sender, deliverable=False))
    reply = _one_address("reply_to", reply_to, deliverable=True) if reply_to else None
    extra = _extra_headers(headers)
    if message_id is not None:
        _refuse_line_breaks("message_id", message_id)
        if not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id):
            raise ValueError(f"message_id: expected <left@right>, got {message_id!r}")
    return _Checked(recipients, subject, text, html, from_address, reply, extra, message_id)


def _assemble(checked: _Checked, date: str, message_id: str) -> EmailMessage:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = checked.sender
    msg["To"] = checked.recipients
    if checked.reply_to is not None:
        msg["Reply-To"] = checked.reply_to
    msg["Subject"] = checked.subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    for name, value in checked.extra:
        msg[name] = value
    msg.set_content(checked.text, charset="utf-8", cte="quoted-printable")
    if checked.html is not None:
        msg.add_alternative(checked.html, subtype="html", charset="utf-8",
                            cte="quoted-printable")
    return msg


def build_message(
    to: str | Iterable[str],
    subject: str,
    text: str,
    html: str | None = None,
    *,
    sender: str,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """Check every argument, then build the message; nothing here touches the outside world.

    Separate from :func:`send` so that a caller (or a test) can look at what would be sent.
    The text part always exists (screen readers, text-only clients, spam filters want it);
    with ``html`` the message is ``multipart/alternative``, text first as RFC 2046 asks.
    Bodies are quoted-printable UTF-8: 7-bit clean for any relay, readable in the ``.eml``.
    ``message_id`` (``<...@domain>``) lets a sender that may retry give every attempt the
    same id, so the receiving side can tell a duplicate; by default a fresh one is made.
    """
    checked = _check(to, subject, text, html, sender=sender, reply_to=reply_to,
                     headers=headers, message_id=message_id)
    return _assemble(checked, format_datetime(datetime.now(UTC)),
                     message_id or make_msgid(domain=checked.sender.domain))


# --- the same message, flattened without building it -----------------------------------
#
# A newsletter campaign builds thousands of messages that differ only by a few values. The
# email package's modern policy parses every header it is given into a tree and folds it
# back, and its content manager re-parses the Content-Type it writes: most of the time
# a campaign spent per message. flat_message() writes the bytes smtplib.send_message()
# would have sent for build_message()'s message, directly, taking the email package's own
# folding for every header value it cannot prove simple (cached: a campaign's From, List-ID
# and most subjects repeat). tests/newsletters/test_flat_message.py holds it to that,
# byte for byte, on French, Czech, long and odd values.

#: The policy smtplib.send_message() flattens with (the message's, SMTP line ends).
_WIRE = MAIL_POLICY.clone(linesep="\r\n")
_MAX = _WIRE.max_line_length or 78
#: Printable ASCII words separated by single spaces: folded, such a value is itself.
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_PLAIN_MSGID = re.compile(r"<[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>")
_PLAIN_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov"
    r"|Dec) \d{4} \d\d:\d\d:\d\d \+0000")
#: Headers the policy does not treat as unstructured text (addresses, dates, MIME...).
_STRUCTURED = frozenset(_WIRE.header_factory.registry) - {"subject"}
_EW_CHROME = len("=?utf-8?q??=")
_PART_TEXT = (b'Content-Type: text/plain; charset="utf-8"\r\n'
              b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
# add_alternative() builds the HTML part as a message of its own, hence its MIME-Version.
_PART_HTML = (b'Content-Type: text/html; charset="utf-8"\r\n'
              b"Content-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n")


@lru_cache(maxsize=4096)
def _folded(name: str, value: str) -> str:
    """The email package's own folding of ``name: value`` (what it writes on the wire)."""
    return _WIRE.header_factory(name, value).fold(policy=_WIRE)


def _header(name: str, value: str) -> str:
    lowered = name.lower()
    if lowered in _VERBATIM and (line := _WIRE._verbatim(name, value)):
        return line
    fits = len(name) + 2 + len(value) <= _MAX
    if fits:
        if lowered == "to" or lowered == "reply-to":
            plain = _PLAIN_ADDRESS.fullmatch(value)
        elif lowered == "message-id":
            plain = _PLAIN_MSGID.fullmatch(value)
        elif lowered == "date":
            plain = _PLAIN_DATE.fullmatch(value)
        else:
            plain = (lowered not in _STRUCTURED and "=?" not in value
                     and _PLAIN.fullmatch(value))
        if plain:
            return f"{name}: {value}\r\n"
    elif (lowered not in _STRUCTURED and len(value) >= _MAX and len(name) <= 40
          and "=?" not in value and " " not in value and _PLAIN.fullmatch(value)):
        return _folded_word(name, value)
    return _folded(name, value)


def _folded_word(name: str, value: str) -> str:
    """What the policy makes of one unbreakable ASCII word longer than a line in an
    unstructured header (a List-Unsubscribe URL): encoded words, each as long as fits.

    The email package finds each piece by encoding a line's worth and dropping one
    character at a time until it fits, encoding again each time; this finds the same cut
    from the characters' encoded lengths, then encodes each piece once.
    """
    lines = [f"{name}: "]
    rest = value
    while rest:
        remaining = _MAX - len(lines[-1])
        room = remaining - _EW_CHROME
        if room <= 0:  # as the email package does (a name of 40 characters leaves room)
            lines.append(" ")
            continue
        word = rest[:room]
        # Drop characters from the end until the encoded word (Q, or B when Q is 5 longer)
        # fits, as the email package does, updating the lengths instead of re-encoding.
        best = len(word)
        q_size = _ew.len_q(word.encode("ascii"))
        while True:
            b_size = 4 * ((best + 2) // 3)
            if (q_size if q_size - b_size < 5 else b_size) + _EW_CHROME <= remaining:
                break
            best -= 1
            q_size -= _Q_LENGTH[ord(word[best])]
        lines[-1] += _ew.encode(word[:best], charset="utf-8")
        rest = rest[best:]
        if rest:
            lines.append(" ")
    return "\r\n".join(lines) + "\r\n"


_Q_LENGTH = [len(_ew.encode_q(bytes([byte]))) for byte in range(128)]


def _qp_body(text: str) -> bytes:
    """The content manager's quoted-printable body for ``text``, with SMTP line ends."""
    lines = text.encode("utf-8").splitlines()
    body = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _MAX)
    return body.replace("\n", "\r\n").encode("ascii")


_SAMPLE = "=" * 15 + "0" * 19 + "=="


def _boundary(*parts: bytes) -> str:
    # The generator's boundary: random, and found in none of the parts.
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="
        marker = b"--" + boundary.encode("ascii")
        if not any(marker in part for part in parts):
            return boundary


def _flatten_fast(checked: _Checked, date: str, message_id: str) -> bytes | None:
    """The bytes smtplib would send for ``_assemble(checked, date, message_id)``, or
    ``None`` where this shortcut does not apply (text only; ``Resent-`` headers, which
    change smtplib's idea of the envelope)."""
    if checked.html is None or any(name.lower().startswith("resent-")
                                   for name, _ in checked.extra):
        return None
    head = [_folded("From", str(checked.sender)),
            _header("To", ", ".join(str(address) for address in checked.recipients))]
    if checked.reply_to is not None:
        head.append(_folded("Reply-To", str(checked.reply_to)))
    head += [_header("Subject", checked.subject), _header("Date", date),
             _header("Message-ID", message_id)]
    head += [_header(name, value) for name, value in checked.extra]
    text = _PART_TEXT + _qp_body(checked.text)
    html = _PART_HTML + _qp_body(checked.html)
    boundary = _boundary(text, html)
    head.append("MIME-Version: 1.0\r\n")
    # Every boundary has the same length and characters, so the same folding.
    head.append(_folded("Content-Type", f'multipart/alternative; boundary="{_SAMPLE}"')
                .replace(_SAMPLE, boundary))
    delimiter = f"--{boundary}".encode("ascii")
    return b"".join((
        "".join(head).encode("ascii"), b"\r\n",
        delimiter, b"\r\n", text, b"\r\n", delimiter, b"\r\n", html,
        b"\r\n", delimiter, b"--\r\n"))


@dataclass(frozen=True)
class FlatMessage:
    """A message as the bytes that go to the SMTP server, with what sending it needs.

    :func:`flat_message` makes it; :meth:`Mailer.send` sends ``data`` with
    ``sendmail`` (no re-parsing, no flattening), or writes it to the outbox.
    """

    checked: _Checked
    date: str
    message_id: str
    #: CRLF line ends; ``None``: send :meth:`as_message` the ordinary way.
    data: bytes | None

    @property
    def sender(self) -> str:
        """The envelope sender smtplib would take from ``From``."""
        return self.checked.sender.addr_spec

    @property
    def recipients(self) -> list[str]:
        return [address.addr_spec for address in self.checked.recipients]

    @property
    def to(self) -> str:
        return ", ".join(str(address) for address in self.checked.recipients)

    def as_message(self) -> EmailMessage:
        """The same message built by the email package (same Date and Message-ID)."""
        return _assemble(self.checked, self.date, self.message_id)


def flat_message(
    to: str | Iterable[str],
    subject: str,
    text: str,
    html: str | None = None,
    *,
    sender: str,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
) -> FlatMessage:
    """:func:`build_message`, checked the same way, as the bytes smtplib would send.

    For a sender of many similar messages (a newsletter campaign): about a tenth of the
    cost of building an ``EmailMessage`` and flattening it at sending time.

    :raises ValueError: bad input, naming the argument, as :func:`build_message`.
    """
    checked = _check(to, subject, text, html, sender=sender, reply_to=reply_to,
                     headers=headers, message_id=message_id)
    date = format_datetime(datetime.now(UTC))
    msgid = message_id or make_msgid(domain=checked.sender.domain)
    return FlatMessage(checked, date, msgid, _flatten_fast(checked, date, msgid))


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"invalid domain {domain!r}") from None


def send(
    to: str | list[str],
    subject: str,
    text: str,
    html: str | None = None,
    *,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
    sender: str | None = None,
    via: str | None = None,
) -> str:
    """Build and deliver one message (in an app context); return its ``Message-ID``.

    :param to: one address (``addr`` or ``Name <addr>``) or a list of them, one per item;
        they all go into ``To`` and see each other, so send one message per customer.
    :param sender: defaults to ``COMPTOIR_MAIL_FROM``; a reseller may send under its name.
    :param via: an ``smtp://`` URL to use instead of ``COMPTOIR_MAIL_URL`` (an office that
        sends from its own domain's server).
    :param headers: extra headers such as ``List-Unsubscribe``; those ``send`` sets itself
        (From, To, Subject, Date...) are refused rather than silently doubled.
    :raises ValueError: bad input, naming the argument; nothing was written or sent.
    :raises MailError: the outbox or the SMTP server failed; the caller decides to retry.

    The Message-ID is returned so callers can store it (threading replies, matching
    bounces). When some but not all recipients are refused by the SMTP server, the others
    did get the message: this is logged, not raised, since a retry would send it twice.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    msg = build_message(
        to, subject, text, html,
        sender=sender or app.config["MAIL_FROM"], reply_to=reply_to, headers=headers,
    )
    with connection(via) as mailer:
        mailer.send(msg)
    return str(msg["Message-ID"])


def outbox_path(app: Flask) -> Path:
    """``COMPTOIR_MAIL_OUTBOX``, or ``outbox/`` in the instance folder."""
    configured = app.config.get("MAIL_OUTBOX") or ""
    return Path(configured) if configured else Path(app.instance_path) / "outbox"


def _identity(msg: EmailMessage | FlatMessage) -> tuple[str, str]:
    """``(Message-ID, To)`` of a message, for file names and logs."""
    if isinstance(msg, FlatMessage):
        return msg.message_id, msg.to
    return str(msg["Message-ID"]), str(msg["To"])


def _outbox_name(msg: EmailMessage | FlatMessage) -> str:
    # UTC time to the nanosecond first, so names sort in sending order; the Message-ID
    # makes them unique across processes writing into the same folder.
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds)) + f".{nanos:09d}Z"
    msgid = re.sub(r"[^A-Za-z0-9.@_-]", "", _identity(msg)[0]).replace("@", "_at_")
    return f"{stamp}-{msgid}.eml"


def _write_outbox(folder: Path, msg: EmailMessage | FlatMessage) -> Path:
    """Write atomically: a reader (the admin, a test) never sees half a message."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / _outbox_name(msg)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(msg, FlatMessage) and msg.data is not None:
                    out.write(msg.data.replace(b"\r\n", b"\n"))  # as as_bytes() writes it
                else:
                    message = msg.as_message() if isinstance(msg, FlatMessage) else msg
                    out.write(message.as_bytes(policy=MAIL_POLICY))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise MailError(f"could not write to the mail outbox {folder}: {exc}") from exc
    log.info("mail %s to %s written to %s", *_identity(msg), target)
    return target


class MailRefused(MailError):
    """The server answered the message (or its only recipient) with an error code.

    ``permanent`` (a 5xx answer) means retrying will not help: a hard bounce. A 4xx answer
    is temporary: greylisting, a full mailbox, a server busy; try again later.
    """

    def __init__(self, message: str, code: int, *, recipient: bool = False,
                 detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        #: Whether the recipient was refused (at RCPT), rather than the sender or the
        #: content: only then is the address itself in question.
        self.recipient = recipient
        self.detail = detail

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600

    @property
    def hard_bounce(self) -> bool:
        """The address does not exist or cannot receive mail (RFC 3463: 5.1.x, 5.2.x, or
        a bare 5xx at RCPT). A policy refusal (5.7.x: relay denied, spam, authentication)
        is the sender's problem, never a reason to stop writing to the reader."""
        if not (self.recipient and self.permanent):
            return False
        enhanced = re.match(r"\s*(\d)\.(\d{1,3})\.\d{1,3}", self.detail)
        return enhanced is None or enhanced.group(2) in ("1", "2")


class Mailer:
    """One open way out for many messages: an SMTP session kept open, or the outbox folder.

    Sending a campaign through one session instead of one connection per message is what
    keeps the newsletters plugin close to a raw :mod:`smtplib` loop. A session the server
    closed is opened again for the next message (never to resend the one that failed).
    """

    def __init__(self, target: SmtpTarget | None, outbox: Path) -> None:
        self.target = target
        self.outbox = outbox
        self._client: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        assert self.target is not None
        target = self.target
        context = ssl.create_default_context()
        if target.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT)
        try:
            client.ehlo_or_helo_if_needed()
            if target.scheme == "smtp+starttls":
                client.starttls(context=context)  # raises if the server offers no STARTTLS
                client.ehlo()
            if target.username:
                client.login(target.username, target.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def send(self, msg: EmailMessage | FlatMessage, *,
             envelope_from: str | None = None) -> None:
        """Deliver ``msg``; ``envelope_from`` is the bounce address (``MAIL FROM``).

        A :class:`FlatMessage` goes as its bytes (``sendmail``); an ``EmailMessage`` is
        flattened by ``send_message``. Both put the same bytes on the wire.

        :raises MailRefused: the server refused the message or every recipient (with the
            code: a 5xx is a hard bounce); when only some recipients are refused the others
            got it, which is logged, not raised, since a retry would send it twice.
        :raises MailError: the server could not be reached or broke off.
        """
        if self.target is None:
            _write_outbox(self.outbox, msg)
            return
        msgid, to = _identity(msg)
        try:
            refused = self._deliver(msg, envelope_from)
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = min(exc.recipients.values())
            raise MailRefused(f"could not send mail {msgid} via {self.target}: "
                              f"{_reason(exc)}", code, recipient=True,
                              detail=_text(answer)) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise MailRefused(f"could not send mail {msgid} via {self.target}: "
                              f"{_reason(exc)}", exc.smtp_code,
                              detail=_text(exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"could not send mail {msgid} via {self.target}: "
                            f"{_reason(exc)}") from exc
        if refused:
            log.warning("mail %s: the server refused %s", msgid,
                        ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in refused.items()))
        log.info("mail %s to %s sent via %s", msgid, to, self.target)

    def _deliver(self, msg: EmailMessage | FlatMessage,
                 envelope_from: str | None) -> dict[str, Any]:
        # A session the server closed is not resent on at once: the message may have been
        # accepted just before; the caller records a temporary failure and retries it
        # later, with the same Message-ID. The next message opens a fresh session.
        if self._client is None:
            self._client = self._open()
        if isinstance(msg, FlatMessage):
            mail_from = envelope_from or msg.sender
            recipients = msg.recipients
            if msg.data is not None and (mail_from + "".join(recipients)).isascii():
                # What send_message() would do, minus parsing and flattening again.
                return self._client.sendmail(mail_from, recipients, msg.data)
            msg = msg.as_message()  # SMTPUTF8 and the rest: send_message() decides
        return self._client.send_message(msg, from_addr=envelope_from)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


@contextmanager
def connection(via: str | None = None) -> Iterator[Mailer]:
    """A :class:`Mailer` for ``via`` (an ``smtp://`` URL), else ``COMPTOIR_MAIL_URL``, else
    the outbox folder; closed on leaving. In an app context."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    url = (via if via is not None else (app.config.get("MAIL_URL") or "")).strip()
    mailer = Mailer(parse_mail_url(url) if url else None, outbox_path(app))
    try:
        yield mailer
    finally:
        mailer.close()


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "every recipient was refused: " + ", ".join(
            f"{rcpt} ({code} {_text(answer)})" for rcpt, (code, answer)
            in exc.recipients.items())
    return str(exc) or type(exc).__name__


def outbox_messages(app: Flask) -> list[EmailMessage]:
    """The messages in the outbox, oldest first and newest last (development, tests, admin)."""
    return read_outbox(outbox_path(app))


def read_outbox(folder: Path) -> list[EmailMessage]:
    """The ``.eml`` files of an outbox folder, parsed, oldest first (another process's too)."""
    if not folder.is_dir():
        return []
    parser = BytesParser(policy=policy.default)
    messages: list[EmailMessage] = []
    for path in sorted(folder.glob("*.eml")):
        with path.open("rb") as source:
            messages.append(parser.parse(source))  # type: ignore[arg-type]
    return messages
