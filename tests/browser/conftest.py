"""A real server (gunicorn, migrated, demo loaded) and a real browser (Chromium).

The server is started the way production starts it, in its own process; the browser is
Debian's Chromium driven by Playwright (Playwright cannot download its own browsers here).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _empty_postgresql

CHROMIUM = os.environ.get("COMPTOIR_TEST_CHROMIUM", "/usr/bin/chromium")
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _comptoir(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "comptoir"), *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="package")
def live_instance(tmp_path_factory) -> Path:
    """The live server's instance folder: its e-mails land in ``outbox/`` (no SMTP here)."""
    return tmp_path_factory.mktemp("live-instance")


@pytest.fixture(scope="package")
def live_server(database, live_instance) -> Iterator[str]:
    instance = live_instance
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    env.update(COMPTOIR_INSTANCE_PATH=str(instance), COMPTOIR_SECRET_KEY="browser-tests")
    if database.is_postgresql:
        env["COMPTOIR_DATABASE_URL"] = database.owner_url  # demo data written as the owner
        serve_url = database.app_url
    else:
        serve_url = f"sqlite:///{instance / 'live.sqlite3'}"
        env["COMPTOIR_DATABASE_URL"] = serve_url
    _comptoir(env, "db", "upgrade")
    _comptoir(env, "demo")
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "comptoir:create_app()"],
        env={**env, "COMPTOIR_DATABASE_URL": serve_url},
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"gunicorn did not start: {server.stderr.read()[-2000:]}")
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=20)
    if database.is_postgresql:
        _empty_postgresql(database.owner_url)


@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    shots = os.environ.get("COMPTOIR_TEST_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        test_name = os.environ.get("PYTEST_CURRENT_TEST", "page").split(":")[-1].split()[0]
        page.screenshot(path=str(Path(shots) / f"{test_name}.png"), full_page=True)
    context.close()

