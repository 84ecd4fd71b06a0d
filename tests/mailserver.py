"""A real SMTP server for tests: aiosmtpd listening on 127.0.0.1, collecting what it gets.

Tests that send mail over SMTP use the ``smtp_server`` fixture (import it into the test
module or a ``conftest.py``: ``from tests.mailserver import smtp_server``) and point the app
at it with ``app_factory(MAIL_URL=smtp_server.url)``. Received messages are parsed with the
modern policy, so ``msg["Subject"]`` and ``msg.get_body(("plain",)).get_content()`` come back
decoded. ``running_smtp_server(auth=...)`` starts one that requires a login.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One SMTP transaction: the envelope as well as the message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    url: str
    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]


class _Collector:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        # As a mailbox stores it: LF line ends, so bodies compare with Python strings.
        message = BytesParser(policy=policy.default).parsebytes(content.replace(b"\r\n", b"\n"))
        self.server.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A TCP port nothing listens on right now (also handy for "server down" tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_smtp_server(auth: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    """Start aiosmtpd in a thread; with ``auth``, it accepts that user and password only."""
    port = free_port()
    server = SmtpServer(url=f"smtp://127.0.0.1:{port}", host="127.0.0.1", port=port)
    kwargs: dict[str, Any] = {}
    if auth is not None:
        user, password = auth

        def authenticator(_server: Any, _session: Any, _envelope: Any, _mechanism: str,
                          data: Any) -> AuthResult:
            ok = (isinstance(data, LoginPassword)
                  and data.login.decode() == user and data.password.decode() == password)
            if ok:
                server.logins.append(user)
            return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535

        # Plain-text AUTH is fine on the loopback interface of a test. AUTH is offered,
        # not required (aiosmtpd warns about requiring it without TLS): tests check
        # `logins` to see that the client did log in.
        kwargs = {"authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(_Collector(server), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free port of 127.0.0.1, stopped after the test."""
    with running_smtp_server() as server:
        yield server
