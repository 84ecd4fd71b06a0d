"""The company admin edits the decision chain; a chain that cannot work is refused whole."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers.models import User
from plugins.approvals.chain import ChainError, Link, check, parse_amount
from plugins.approvals.models import Member
from tests.approvals.conftest import log_in
from tests.conftest import as_tenant

USERS = {1: "a@x.example", 2: "b@x.example", 3: "c@x.example"}


def test_a_sound_chain_passes():
    chain = [Link(1, 1, Decimal("0"), 2), Link(2, 2, Decimal("20000"), 3, budget=True),
             Link(3, 3, Decimal("500000"), None, budget=True)]
    assert check(chain, USERS) == chain


@pytest.mark.parametrize(("links", "problem"), [
    ([Link(1, 1, Decimal("0"), 2), Link(2, 2, Decimal("10"), 1, budget=True)],
     "not above theirs"),
    ([Link(1, 1, Decimal("0"), 1)], "cannot report to themselves"),
    ([Link(1, 1, Decimal("0"), 2), Link(2, 2, Decimal("10"), None)],
     "nobody at the top of the chain may approve budgets"),
    ([Link(1, 1, Decimal("0"), 9)], "not in the chain"),
    ([Link(4, 1, Decimal("0"), None, budget=True)], "not one of the company's"),
    ([Link(1, 10, Decimal("0"), None, budget=True)], "levels go from 1 to 9"),
])
def test_a_chain_that_cannot_work_is_refused(links, problem):
    with pytest.raises(ChainError, match=problem):
        check(links, USERS)


@pytest.mark.parametrize("raw", ["-1", "abc", "1.234", 1.5, "1e15"])
def test_a_ceiling_is_a_decimal_amount(raw):
    with pytest.raises(ChainError):
        parse_amount("x", raw)


def test_ceilings_accept_french_writing():
    assert parse_amount("x", "20 000,50") == Decimal("20000.50")


def _chain(app, acme):
    with as_tenant(app, acme):
        return sorted((m.level, m.ceiling, m.reports_to is None)
                      for m in db.session.scalars(select(Member)))


def _form(app, acme):
    """The chain editor's form as the page shows it now."""
    form = {}
    with as_tenant(app, acme):
        users = {u.email: u.id for u in db.session.scalars(select(User))}
        for m in db.session.scalars(select(Member)):
            p = f"u{m.user_id}-"
            form.update({p + "in_chain": "1", p + "level": str(m.level),
                         p + "ceiling": str(m.ceiling),
                         p + "reports_to": str(m.reports_to or "")})
            if m.budget:
                form[p + "budget"] = "1"
    return form, users


def test_the_company_admin_raises_a_ceiling_in_the_browser(app, shop):
    _fr, acme, _other = shop
    admin = app.test_client()
    log_in(admin, "boss@durand.example")
    assert admin.get("/s/acme/approvals/chain").status_code == 200
    form, users = _form(app, acme)
    form[f"u{users['boss@durand.example']}-ceiling"] = "700 000,00"
    assert admin.post("/s/acme/approvals/chain", data=form).status_code == 303
    assert (3, Decimal("700000.00"), True) in _chain(app, acme)


def test_a_broken_chain_is_refused_and_the_old_one_kept(app, shop):
    _fr, acme, _other = shop
    admin = app.test_client()
    log_in(admin, "boss@durand.example")
    before = _chain(app, acme)
    form, users = _form(app, acme)
    # The director reports to the buyer: the chain would go round.
    form[f"u{users['boss@durand.example']}-reports_to"] = str(users["buyer@durand.example"])
    refused = admin.post("/s/acme/approvals/chain", data=form)
    assert refused.status_code == 400
    assert 'role="alert"' in refused.get_data(as_text=True)
    assert _chain(app, acme) == before
    form, users = _form(app, acme)
    form[f"u{users['chef@durand.example']}-ceiling"] = "-5"
    assert admin.post("/s/acme/approvals/chain", data=form).status_code == 400
    assert _chain(app, acme) == before


def test_only_the_company_admin_edits_the_chain(app, shop):
    buyer = app.test_client()
    log_in(buyer, "buyer@durand.example")
    assert buyer.get("/s/acme/approvals/chain").status_code == 403
