"""Realistic rows of the plugins served by the API: an approval request, an affiliate and
its commission, a newsletter subscriber; one of each per shop, ids by resource name.

``seed_plugins`` is called by ``tests/api/conftest.py``'s ``shops`` fixture on both shops, so
that the probe, schemathesis and the plugin resources' tests all run over them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.orders.models import Order
from plugins.affiliates.models import Affiliate, Entry
from plugins.approvals.models import Event, Member, Request
from plugins.newsletters.models import ConsentEvent, Subscriber
from tests.conftest import as_tenant

#: The plugins whose resources the API serves; enabled on both shops of the fixture.
API_PLUGINS = ("approvals", "affiliates", "newsletters")
#: The resources they add, as ``tests/api/test_resources.py`` probes them.
PLUGIN_RESOURCES = ("approvals", "affiliates", "commissions", "subscribers")


def seed_plugins(app, tenant, tag: str, ids: dict[str, int]) -> dict[str, int]:
    """Plugin rows around the order ``seed`` made (``ids["orders"]``) in ``tenant``."""
    with as_tenant(app, tenant):
        order = db.session.get(Order, ids["orders"])
        buyer = db.session.get(User, ids["customers"])
        boss = User(email=f"boss@{tag}.example", name="Boss", role="buyer",
                    company_id=buyer.company_id)
        boss.password_hash = "not-a-hash"
        db.session.add(boss)
        db.session.flush()
        db.session.add_all([
            Member(company_id=buyer.company_id, user_id=buyer.id, level=1,
                   ceiling=Decimal("1000.00"), reports_to=boss.id),
            Member(company_id=buyer.company_id, user_id=boss.id, level=2,
                   ceiling=Decimal("20000.00"), budget=True),
        ])
        request = Request(order_id=order.id, company_id=buyer.company_id,
                          requester_id=buyer.id, approver_id=boss.id, amount=order.total_net,
                          currency=order.currency, status="approved",
                          created_at=datetime(2026, 1, 1, 9, tzinfo=UTC),
                          decided_at=datetime(2026, 1, 1, 15, tzinfo=UTC), decided_by=boss.id,
                          reason="Budget line 12")
        db.session.add(request)
        db.session.flush()
        db.session.add_all([
            Event(company_id=buyer.company_id, request_id=request.id, actor=buyer.email,
                  action="submitted", note=str(order.total_net),
                  at=datetime(2026, 1, 1, 9, tzinfo=UTC)),
            Event(company_id=buyer.company_id, request_id=request.id, actor=boss.email,
                  action="approved", note="Budget line 12",
                  at=datetime(2026, 1, 1, 15, tzinfo=UTC)),
        ])
        affiliate = Affiliate(code=f"BLOG-{tag.upper()}", name=f"Blog {tag}",
                              email=f"blog@{tag}.example",
                              created_at=datetime(2025, 12, 1, tzinfo=UTC))
        db.session.add(affiliate)
        db.session.flush()
        line = order.lines[0]
        entry = Entry(affiliate_id=affiliate.id, order_id=order.id, order_line_id=line.id,
                      kind="commission", amount=Decimal("61.73"), currency=order.currency,
                      base=line.line_net, units=line.quantity, category="laptops",
                      at=datetime(2026, 1, 2, tzinfo=UTC))
        subscriber = Subscriber(email=f"reader@{tag}.example", name="Reader", locale="fr",
                                status="subscribed", themes=["promotions", "events"],
                                phone="+33 1 23 45 67 89",
                                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                                confirmed_at=datetime(2026, 1, 1, 0, 5, tzinfo=UTC))
        db.session.add_all([entry, subscriber])
        db.session.flush()
        db.session.add_all([
            ConsentEvent(subscriber_id=subscriber.id, action="requested", source="footer_form",
                         ip="192.0.2.10", at=datetime(2026, 1, 1, tzinfo=UTC)),
            ConsentEvent(subscriber_id=subscriber.id, action="confirmed", source="email_link",
                         wording_version="w1", ip="192.0.2.10",
                         at=datetime(2026, 1, 1, 0, 5, tzinfo=UTC)),
        ])
        found = {"approvals": request.id, "affiliates": affiliate.id,
                 "commissions": entry.id, "subscribers": subscriber.id,
                 "approvers": boss.id}
        db.session.commit()
        return found
