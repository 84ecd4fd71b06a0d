"""A real localstripe server (a stateful stand-in for Stripe's API, from PyPI) on a free port,
for the stripe plugin's tests and the browser tests; import the fixture into a conftest."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from tests.servers import free_port, wait_until_up


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "localstripe", "--port", str(port),
                               "--from-scratch"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/js.stripe.com/v3/", server, "localstripe")
    yield base
    server.terminate()
    server.wait(timeout=10)



def send_webhooks_to(localstripe: str, url: str, secret: str, name: str = "comptoir") -> None:
    """Register (or move) one of localstripe's webhook endpoints."""
    body = json.dumps({"url": url, "secret": secret}).encode()
    request = urllib.request.Request(f"{localstripe}/_config/webhooks/{name}", data=body,
                                     method="POST")
    urllib.request.urlopen(request, timeout=5).close()
