"""Two approvers deciding at the same moment yield one decision; the order is placed once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from comptoir.core.db import db
from comptoir.orders.models import Order, OrderEvent
from plugins.approvals.models import Event, Member, Request
from tests.approvals.conftest import log_in, order
from tests.conftest import as_tenant, requires_postgresql

ROUNDS = 5


@requires_postgresql
def test_the_approver_and_the_deputy_clicking_at_once_decide_once(app, shop):
    _fr, acme, _other = shop
    with as_tenant(app, acme):
        members = {m.ceiling: m for m in db.session.scalars(select(Member))}
        director, chef = members[Decimal("500000")], members[Decimal("20000")]
        director.deputy, director.deputy_until = chef.user_id, date.today() + timedelta(days=1)
        db.session.commit()
    buyer = app.test_client()
    log_in(buyer, "buyer@durand.example")
    deciders = {"boss@durand.example": app.test_client(), "chef@durand.example": app.test_client()}
    for email, client in deciders.items():
        log_in(client, email)

    for _round in range(ROUNDS):
        assert order(buyer, "SERVER", 2).status_code == 303
        with as_tenant(app, acme):
            request_id = db.session.scalars(
                select(Request.id).order_by(Request.id.desc())).first()
        path = f"/s/acme/approvals/{request_id}"
        start = threading.Barrier(2)

        def decide(pair: tuple[str, str], path: str = path, start: threading.Barrier = start
                   ) -> int:
            email, decision = pair
            start.wait(10)
            reason = "" if decision == "approve" else "Non"
            return deciders[email].post(path, data={"decision": decision,
                                                    "reason": reason}).status_code

        with ThreadPoolExecutor(2) as pool:
            answers = sorted(pool.map(decide, [("boss@durand.example", "approve"),
                                               ("chef@durand.example", "reject")]))
        assert answers == [303, 400]

    with as_tenant(app, acme):
        orders = list(db.session.scalars(select(Order)))
        assert len(orders) == ROUNDS
        assert all(o.status in ("placed", "cancelled") for o in orders)
        for o in orders:
            steps = db.session.scalars(select(OrderEvent.to_status).where(
                OrderEvent.order_id == o.id, OrderEvent.from_status == "pending_approval"))
            assert len(list(steps)) == 1  # one decision moved it, once
        decided = db.session.scalars(select(Event.action).where(
            Event.action != "submitted")).all()
        assert len(decided) == ROUNDS
