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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from pathlib import Path
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
) -> EmailMessage:
    """Check every argument, then build the message; nothing here touches the outside world.

    Separate from :func:`send` so that a caller (or a test) can look at what would be sent.
    The text part always exists (screen readers, text-only clients, spam filters want it);
    with ``html`` the message is ``multipart/alternative``, text first as RFC 2046 asks.
    Bodies are quoted-printable UTF-8: 7-bit clean for any relay, readable in the ``.eml``.
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

    msg = EmailMessage(policy=policy.default)
    msg["From"] = from_address
    msg["To"] = recipients
    if reply is not None:
        msg["Reply-To"] = reply
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=from_address.domain)
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
) -> str:
    """Build and deliver one message (in an app context); return its ``Message-ID``.

    :param to: one address (``addr`` or ``Name <addr>``) or a list of them, one per item;
        they all go into ``To`` and see each other, so send one message per customer.
    :param sender: defaults to ``COMPTOIR_MAIL_FROM``; a reseller may send under its name.
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
    url = (app.config.get("MAIL_URL") or "").strip()
    if url:
        _send_smtp(parse_mail_url(url), msg)
    else:
        _write_outbox(outbox_path(app), msg)
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


def _send_smtp(target: SmtpTarget, msg: EmailMessage) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP | None = None
    try:
        if target.scheme == "smtps":
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT,
                                      context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT)
        client.ehlo_or_helo_if_needed()
        if target.scheme == "smtp+starttls":
            client.starttls(context=context)  # raises if the server offers no STARTTLS
            client.ehlo()
        if target.username:
            client.login(target.username, target.password or "")
        refused = client.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"could not send mail {msg['Message-ID']} via {target}: "
                        f"{_reason(exc)}") from exc
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    if refused:
        log.warning("mail %s: the server refused %s", msg["Message-ID"],
                    ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in refused.items()))
    log.info("mail %s to %s sent via %s", msg["Message-ID"], msg["To"], target)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "every recipient was refused: " + ", ".join(
            f"{rcpt} ({code})" for rcpt, (code, _) in exc.recipients.items())
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
