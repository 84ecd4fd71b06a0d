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
import re
import smtplib
import ssl
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
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
    from_address = _one_address("sender", sender, deliverable=False)
    reply = _one_address("reply_to", reply_to, deliverable=True) if reply_to else None
    extra = _extra_headers(headers)
    if message_id is not None:
        _refuse_line_breaks("message_id", message_id)
        if not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id):
            raise ValueError(f"message_id: expected <left@right>, got {message_id!r}")

    msg = EmailMessage(policy=policy.default)
    msg["From"] = from_address
    msg["To"] = recipients
    if reply is not None:
        msg["Reply-To"] = reply
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=from_address.domain)
    for name, value in extra:
        msg[name] = value
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


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


def _outbox_name(msg: EmailMessage) -> str:
    # UTC time to the nanosecond first, so names sort in sending order; the Message-ID
    # makes them unique across processes writing into the same folder.
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds)) + f".{nanos:09d}Z"
    msgid = re.sub(r"[^A-Za-z0-9.@_-]", "", str(msg["Message-ID"])).replace("@", "_at_")
    return f"{stamp}-{msgid}.eml"


def _write_outbox(folder: Path, msg: EmailMessage) -> Path:
    """Write atomically: a reader (the admin, a test) never sees half a message."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / _outbox_name(msg)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(msg.as_bytes(policy=policy.default))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise MailError(f"could not write to the mail outbox {folder}: {exc}") from exc
    log.info("mail %s to %s written to %s", msg["Message-ID"], msg["To"], target)
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

    def send(self, msg: EmailMessage, *, envelope_from: str | None = None) -> None:
        """Deliver ``msg``; ``envelope_from`` is the bounce address (``MAIL FROM``).

        :raises MailRefused: the server refused the message or every recipient (with the
            code: a 5xx is a hard bounce); when only some recipients are refused the others
            got it, which is logged, not raised, since a retry would send it twice.
        :raises MailError: the server could not be reached or broke off.
        """
        if self.target is None:
            _write_outbox(self.outbox, msg)
            return
        try:
            refused = self._deliver(msg, envelope_from)
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = min(exc.recipients.values())
            raise MailRefused(f"could not send mail {msg['Message-ID']} via {self.target}: "
                              f"{_reason(exc)}", code, recipient=True,
                              detail=_text(answer)) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise MailRefused(f"could not send mail {msg['Message-ID']} via {self.target}: "
                              f"{_reason(exc)}", exc.smtp_code,
                              detail=_text(exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"could not send mail {msg['Message-ID']} via {self.target}: "
                            f"{_reason(exc)}") from exc
        if refused:
            log.warning("mail %s: the server refused %s", msg["Message-ID"],
                        ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in refused.items()))
        log.info("mail %s to %s sent via %s", msg["Message-ID"], msg["To"], self.target)

    def _deliver(self, msg: EmailMessage, envelope_from: str | None) -> dict[str, Any]:
        # A session the server closed is not resent on at once: the message may have been
        # accepted just before; the caller records a temporary failure and retries it
        # later, with the same Message-ID. The next message opens a fresh session.
        if self._client is None:
            self._client = self._open()
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
