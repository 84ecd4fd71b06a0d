"""Helpers shared by the tests of technical validation, reminders, delegation and audit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers.models import Company, User
from plugins.approvals.models import Event, Member, Request
from tests.approvals.conftest import log_in, order
from tests.conftest import as_tenant


def user_ids(app, tenant) -> dict[str, int]:
    with as_tenant(app, tenant):
        return {u.email: u.id for u in db.session.scalars(select(User))}


def members(app, tenant) -> dict[str, tuple]:
    """email -> (deputy e-mail, deputy_until, technical) for the chain's members."""
    with as_tenant(app, tenant):
        emails = {u.id: u.email for u in db.session.scalars(select(User))}
        return {emails[m.user_id]: (emails.get(m.deputy), m.deputy_until, m.technical)
                for m in db.session.scalars(select(Member))}


def set_member(app, tenant, email: str, **fields) -> None:
    with as_tenant(app, tenant):
        user = db.session.scalars(select(User).where(User.email == email)).one()
        member = db.session.scalars(select(Member).where(Member.user_id == user.id)).one()
        for name, value in fields.items():
            setattr(member, name, value)
        db.session.commit()


def actions(app, tenant) -> list[str]:
    with as_tenant(app, tenant):
        return [e.action for e in db.session.scalars(select(Event).order_by(Event.id))]


def shop_today(app, slug: str) -> date:
    """Today in the shop's time zone, as the plugin counts delegation days."""
    from comptoir.tax.basis import today
    from comptoir.tenants.resolution import directory

    with app.app_context():
        return today(directory().by_slug(slug))


def held_order(app, acme) -> tuple:
    """The buyer orders 25,000 (above their ceiling): the request and its page's path."""
    buyer = app.test_client()
    log_in(buyer, "buyer@durand.example")
    assert order(buyer, "SERVER", 2).status_code == 303
    with as_tenant(app, acme):
        request_id = db.session.scalars(select(Request.id)).one()
    return buyer, request_id


def client_as(app, email: str, slug: str = "acme"):
    client = app.test_client()
    log_in(client, email, slug)
    return client


def other_tenant_admin(app, other) -> str:
    """A company admin in the other tenant, to knock on this tenant's ids from there."""
    with as_tenant(app, other):
        company = Company(name="Ailleurs")
        user = User(email="admin@ailleurs.example", name="Ailleurs", role="company_admin",
                    company=company)
        user.set_password("password-1")
        db.session.add_all([company, user])
        db.session.commit()
    return "admin@ailleurs.example"


def french(app, msgid: str, /, escaped: bool = True, **params) -> str:
    """``msgid`` as the French shop shows it, from the plugin's compiled catalogue: a test
    comparing with it fails as well when the message is missing or left untranslated."""
    from flask_babel import force_locale
    from markupsafe import escape

    from plugins.approvals.views import domain

    with app.test_request_context(), force_locale("fr_FR"):
        text = domain.gettext(msgid, **params)
    return str(escape(text)) if escaped else text
