"""A real server (gunicorn, migrated, demo loaded) and a real browser (Chromium).

The server is started the way production starts it, in its own process; the browser is
Debian's Chromium driven by Playwright (Playwright cannot download its own browsers here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _empty_postgresql
from tests.servers import free_port, wait_until_up

CHROMIUM = os.environ.get("COMPTOIR_TEST_CHROMIUM", "/usr/bin/chromium")
BIN = Path(sys.executable).parent


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
def live_server(database, live_instance, localstripe) -> Iterator[str]:
    instance = live_instance
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    # Card payments go to localstripe, as with script/server; jobs (Stripe's webhooks) run
    # inside the server, since no worker runs beside it here.
    env.update(COMPTOIR_INSTANCE_PATH=str(instance), COMPTOIR_SECRET_KEY="browser-tests",
               COMPTOIR_STRIPE_API_BASE=localstripe, COMPTOIR_JOBS_URL="immediate")
    if database.is_postgresql:
        env["COMPTOIR_DATABASE_URL"] = database.owner_url  # demo data written as the owner
        serve_url = database.app_url
    else:
        serve_url = f"sqlite:///{instance / 'live.sqlite3'}"
        env["COMPTOIR_DATABASE_URL"] = serve_url
    _comptoir(env, "db", "upgrade")
    _comptoir(env, "demo")
    port = free_port()
    # Links in mail sent by jobs lead back to this server (the demo's shops have no domain).
    env["COMPTOIR_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "comptoir:create_app()"],
        env={**env, "COMPTOIR_DATABASE_URL": serve_url},
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/healthz", server, "gunicorn")
    from comptoir.demo import DEMO_STRIPE
    from tests.localstripe import send_webhooks_to

    send_webhooks_to(localstripe, f"{base}/s/acme-informatique/stripe/webhook",
                     DEMO_STRIPE["webhook_secret"], name="acme-informatique")
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

