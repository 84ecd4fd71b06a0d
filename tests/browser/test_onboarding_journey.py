"""In Chromium, on the demo, issue #9's journey: the platform admin onboards a reseller from
the browser and it is live at once; its admin, invited by e-mail, chooses a password, turns a
plugin on and registers an API client; the client reads its shop's orders through the API
and nothing of another shop's."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from comptoir.core.mail import read_outbox
from comptoir.demo import DEMO_PASSWORD, PLATFORM_ADMIN

SLUG = "durand-revente"
ADMIN = "gerant@durand-revente.example"


def test_a_reseller_onboarded_from_the_browser_runs_its_shop_and_its_api(
        live_server, live_instance, page):
    # The platform admin logs in on the platform's host and onboards a reseller of fr.
    page.goto(live_server + "/platform/login")
    page.locator("#email").fill(PLATFORM_ADMIN[0])
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("#password").press("Enter")
    page.goto(live_server + "/platform/tenants/new")
    page.locator("#f-slug").fill(SLUG)
    page.locator("#f-name").fill("Durand Revente")
    page.locator("#f-kind").select_option("reseller")
    page.locator("#f-parent").select_option("fr")
    page.locator("#f-admin_email").fill(ADMIN)
    page.locator("#f-admin_name").fill("Paule Durand")
    page.locator("button[type=submit]", has_text=re.compile(".")).last.click()
    expect(page).to_have_url(re.compile(f"/platform/tenants/{SLUG}$"))

    # Live at once, in the other gunicorn worker too: no restart.
    for _ in range(4):
        assert httpx.get(f"{live_server}/s/{SLUG}/").status_code == 200

    # The invitation reaches its admin, who chooses a password and is logged in.
    invitation = [m for m in read_outbox(live_instance / "outbox") if ADMIN in str(m["To"])][-1]
    link = re.search(r"https?://\S+/password/set/\S+", invitation.get_body(("plain",))
                     .get_content()).group(0)
    page.context.clear_cookies()
    page.goto(link)
    page.locator("#password").fill("une revente bien gardée")
    page.locator("#confirm").fill("une revente bien gardée")
    page.locator("#confirm").press("Enter")
    expect(page.locator(".who")).to_be_visible()

    # She turns the promotions plugin on for her shop...
    page.goto(f"{live_server}/s/{SLUG}/staff/settings/plugins")
    section = page.locator("#plugin-promotions")
    section.locator("select[name=state]").select_option("on")
    section.locator("form").first.locator("button[type=submit]").click()
    expect(page.locator("#plugin-promotions .badge.ok")).to_be_visible()

    # ... and registers an API client that may read orders; its secret is shown once.
    page.goto(f"{live_server}/s/{SLUG}/settings/api-clients")
    register = page.locator("form:has(input[name=scope])")
    register.locator("input[name=name]").fill("ERP")
    register.locator("input[name=scope][value='orders:read']").check()
    register.locator("button[type=submit]").click()
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()

    # The client reads its shop's orders (none yet) and nothing of any other shop's.
    answer = httpx.post(f"{live_server}/s/{SLUG}/api/v1/oauth/token", auth=(client_id, secret),
                        data={"grant_type": "client_credentials", "scope": "orders:read"})
    assert answer.status_code == 200, answer.text
    bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    own = httpx.get(f"{live_server}/s/{SLUG}/api/v1/orders", headers=bearer)
    assert own.status_code == 200 and own.json()["data"] == []
    elsewhere = httpx.get(f"{live_server}/s/acme-informatique/api/v1/orders", headers=bearer)
    assert elsewhere.status_code == 401
    for order_id in range(1, 30):  # the demo's orders all belong to other shops
        assert httpx.get(f"{live_server}/s/{SLUG}/api/v1/orders/{order_id}",
                         headers=bearer).status_code == 404
