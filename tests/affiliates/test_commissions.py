"""From a referral link to a payout: the customer is bound, the order credited, the
commission pending, then payable, reversed line by line on a partial return, paid out; a
second reseller sees none of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from comptoir.core.db import db
from comptoir.orders.models import Order, OrderEvent, ReturnRequest
from plugins.affiliates import ledger, payouts
from plugins.affiliates.models import Attribution, Binding, Entry, Payout
from tests.conftest import as_tenant
from tests.orders.conftest import ADDRESS, add, log_in, staff_client

RETURN_FIELD = "qty-{}"


def move(staff, number, status):
    assert staff.post(f"/s/acme/staff/orders/{number}/status",
                      data={"status": status}).status_code == 303


def entries(app, tenant):
    with as_tenant(app, tenant):
        rows = db.session.scalars(select(Entry).order_by(Entry.id)).all()
        return [(e.kind, e.amount, e.units, e.category) for e in rows]


def snapshot(app, tenant):
    from comptoir.tenants.resolution import directory

    with app.app_context():
        return directory().by_id(tenant.id)


def delivered_days_ago(app, tenant, number, days):
    """Move the delivery back in time, as if the withdrawal period had run."""
    with as_tenant(app, tenant):
        order_id = db.session.scalars(select(Order.id).where(Order.number == number)).one()
        db.session.execute(update(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.to_status == "delivered"
        ).values(at=datetime.now(UTC) - timedelta(days=days)))
        db.session.commit()


def test_a_referred_guest_buys_and_the_partner_earns_per_line(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    guest = app.test_client()
    followed = guest.get("/s/acme/r/blogpro?next=/s/acme/cart")
    assert followed.status_code == 302 and followed.headers["Location"].endswith("/s/acme/cart")
    assert "comptoir_ref=" in followed.headers["Set-Cookie"]
    add(guest, "LAPTOP-FR", "2")
    add(guest, "MONITOR")
    assert guest.post("/s/acme/checkout", data={
        **ADDRESS, "payment_method": "bank_transfer", "email": "lea@example.org",
        "shipping_method": "express"}).status_code == 303
    with as_tenant(app, acme):
        assert db.session.scalars(select(Attribution.source)).one() == "link"
    assert entries(app, acme) == []  # nothing is earned before the money arrives
    move(staff, 1, "paid")
    # 10 % of the laptops' 2,000 net; the screen's category pays a flat 15 per unit; the
    # express shipping (15.00) and the VAT earn nothing.
    assert entries(app, acme) == [("commission", Decimal("200.00"), 2, ""),
                                  ("commission", Decimal("15.00"), 1, "ecrans")]
    page = staff.get("/s/acme/affiliates/").get_data(as_text=True)
    assert "Blog Info Pro" in page and "215,00" in page


def test_the_house_earns_a_partial_return_reverses_and_a_payout_pays_the_rest(
        app, staff, partner_shop):
    fr, acme, other = partner_shop
    buyer = app.test_client()
    log_in(buyer)
    add(buyer, "LAPTOP-FR", "2")
    assert buyer.post("/s/acme/checkout", data={**ADDRESS, "payment_method": "invoice"}
                      ).status_code == 303
    with as_tenant(app, acme):
        assert db.session.scalars(select(Binding.source)).one() == "storefront"
    move(staff, 1, "shipped")  # an invoice order earns when it ships
    assert entries(app, acme) == [("commission", Decimal("100.00"), 2, "")]  # 5 % of 2,000
    move(staff, 1, "delivered")
    dashboard = staff.get("/s/acme/affiliates/").get_data(as_text=True)
    assert "Buyer" in dashboard and "100,00" in dashboard  # the customer and the pending sum

    with as_tenant(app, acme):
        line_id = db.session.scalars(select(Order)).one().lines[0].id
    assert buyer.post("/s/acme/orders/1/return", data={
        "reason": "un de trop", RETURN_FIELD.format(line_id): "1"}).status_code == 303
    alerts = staff.get("/s/acme/affiliates/").get_data(as_text=True)
    assert "un de trop" in alerts  # the reseller hears of the return before it arrives
    with as_tenant(app, acme):
        request_id = db.session.scalars(select(ReturnRequest.id)).one()
    for action in ("accept", "receive"):
        staff.post(f"/s/acme/staff/returns/{request_id}", data={"action": action})
    assert entries(app, acme)[1:] == [("reversal", Decimal("-50.00"), -1, "")]

    tenant = snapshot(app, acme)
    with app.test_request_context(), as_tenant(app, acme):
        house = db.session.scalars(select(Attribution.affiliate_id)).one()
        assert ledger.account(tenant, house).pending["EUR"] == Decimal("50.00")
        assert payouts.run(tenant, datetime.now(UTC).date(), "staff") == []  # nothing payable
    delivered_days_ago(app, acme, 1, 20)  # the withdrawal period is over
    with app.test_request_context(), as_tenant(app, acme):
        assert ledger.account(tenant, house).payable["EUR"] == Decimal("50.00")
        made = payouts.run(tenant, datetime.now(UTC).date(), "staff")
        assert [(p.amount, p.currency) for p in made] == [(Decimal("50.00"), "EUR")]
        payout_id = made[0].id
    statement = staff.get(f"/s/acme/affiliates/payouts/{payout_id}").get_data(as_text=True)
    assert "50,00" in statement and "-50,00" in statement.replace("\u2212", "-")
    refused = staff.post(f"/s/acme/affiliates/payouts/{payout_id}", data={"reference": ""},
                         follow_redirects=True)
    assert "reference" in refused.get_data(as_text=True)
    staff.post(f"/s/acme/affiliates/payouts/{payout_id}", data={"reference": "VIR-2026-11"})
    with app.test_request_context(), as_tenant(app, acme):
        assert db.session.get(Payout, payout_id).status == "paid"
        assert ledger.account(tenant, house).paid["EUR"] == Decimal("50.00")
        # A late reversal (a goodwill return after the payout) is netted next time.
        order = db.session.scalars(select(Order)).one()
        ledger.reverse(tenant, order, {line_id: 2})
        assert ledger.account(tenant, house).payable["EUR"] == Decimal("-50.00")

    # The other reseller sees none of it, and cannot reach acme's statement.
    other_staff = staff_client(app, other, "ventes@bytes.example", slug="bytes")
    page = other_staff.get("/s/bytes/affiliates/").get_data(as_text=True)
    assert "Buyer" not in page and "Blog Info Pro" not in page
    assert other_staff.get(f"/s/bytes/affiliates/payouts/{payout_id}").status_code == 404
    with as_tenant(app, other):
        assert db.session.scalars(select(Entry)).all() == []


def test_a_partner_code_typed_on_the_cart_page_counts_like_its_link(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    guest = app.test_client()
    add(guest, "LAPTOP-FR")
    cart = guest.get("/s/acme/cart").get_data(as_text=True)
    assert 'name="code"' in cart  # nobody brought this visitor yet
    wrong = guest.post("/s/acme/r", data={"code": "NOPE"})
    assert wrong.status_code == 303 and "comptoir_ref=" not in wrong.headers.get(
        "Set-Cookie", "")
    right = guest.post("/s/acme/r", data={"code": "blogpro"})
    assert "comptoir_ref=" in right.headers["Set-Cookie"]
    assert 'name="code"' not in guest.get("/s/acme/cart").get_data(as_text=True)
    assert guest.post("/s/acme/checkout", data={
        **ADDRESS, "payment_method": "bank_transfer", "email": "lea@example.org"}
    ).status_code == 303
    with as_tenant(app, acme):
        from plugins.affiliates.models import Affiliate

        code = db.session.scalars(select(Affiliate.code).join(
            Attribution, Attribution.affiliate_id == Affiliate.id)).one()
    assert code == "BLOGPRO"


def test_the_operator_runs_a_shops_payouts_from_the_cli(app, staff, partner_shop):
    _fr, acme, _other = partner_shop
    buyer = app.test_client()
    log_in(buyer)
    add(buyer, "LAPTOP-FR", "2")
    buyer.post("/s/acme/checkout", data={**ADDRESS, "payment_method": "invoice"})
    for status in ("shipped", "delivered"):
        move(staff, 1, status)
    delivered_days_ago(app, acme, 1, 20)
    runner = app.test_cli_runner()
    today = datetime.now(UTC).date().isoformat()
    refused = runner.invoke(args=["affiliates", "payout", "acme", "--until", today])
    assert refused.exit_code != 0 and "day that is over" in refused.output
    delivered_days_ago(app, acme, 1, 20)
    with as_tenant(app, acme):  # booked before yesterday, as a month-end run would find it
        db.session.execute(update(Entry).values(at=datetime.now(UTC) - timedelta(days=2)))
        db.session.commit()
    today = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    done = runner.invoke(args=["affiliates", "payout", "acme", "--until", today])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("PAY-ACME-") and "100.00 EUR" in done.output
    again = runner.invoke(args=["affiliates", "payout", "acme", "--until", today])
    assert again.output.startswith("no statement")  # nothing is paid out twice
    for args, problem in ((["nope"], "no shop 'nope'"), (["fr"], "plugin is off"),
                          (["acme", "--until", "31/12"], "is not a date")):
        refused = runner.invoke(args=["affiliates", "payout", *args,
                                      *(["--until", today] if len(args) == 1 else [])])
        assert refused.exit_code != 0 and problem in refused.output
