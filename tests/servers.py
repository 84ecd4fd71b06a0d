"""Helpers for the tests that start real servers in processes of their own (gunicorn,
localstripe): a free port, and waiting until the server answers."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, what: str, seconds: float = 30) -> None:
    """Poll ``url`` until it answers 200; fail the test with the server's last words if it
    exits or stays silent for ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"{what} did not start: {server.stderr.read()[-2000:]}")
        time.sleep(0.2)
