"""Reply templates' rules: placeholders checked when saved (an unknown one is refused, naming
it, and nothing is stored), filled from the ticket in its shop (no order or product: empty),
one shop's templates never another's, an office's read-only to its resellers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.toolkit import tenant_by_id
from plugins.support import replies, tickets
from plugins.support.models import ReplyTemplate
from tests.conftest import as_tenant
from tests.support.conftest import make_customer, make_order

AGENT = SimpleNamespace(name="Ana Agent", email="agent@example.fr")
EVERYTHING = ("{{ customer.name }}|{{ customer.email }}|{{ order.number }}|{{ order.status }}|"
              "{{ product.name }}|{{ product.sku }}|{{ ticket.number }}|{{ ticket.subject }}|"
              "{{ shop.name }}|{{ agent.name }}")


def _templates(app: Any, shop: Any) -> int:
    with as_tenant(app, shop):
        return db.session.scalar(select(func.count()).select_from(ReplyTemplate))


def _open(app: Any, shop: Any, **fields: Any) -> int:
    values = {"email": "lea@example.fr", "name": "Léa", "subject": "Toner?",
              "body": "Which toner fits?", "source": "account", "locale": "en", **fields}
    with as_tenant(app, shop):
        return tickets.open_ticket(tenant_by_id(shop.id), **values).number


def _render(app: Any, shop: Any, number: int, body: str) -> str:
    with as_tenant(app, shop), app.test_request_context(), force_locale("en"):
        return replies.render(body, tickets.get(number), AGENT, tenant_by_id(shop.id))


def _save(app: Any, shop: Any, **values: Any) -> int:
    fields = {"name": "Toner", "locale": "en", "body": "Hello {{ customer.name }}",
              **values}
    with as_tenant(app, shop), app.test_request_context(), force_locale("en"):
        saved = replies.save(tenant_by_id(shop.id), None, actor="agent@example.fr", **fields)
        return saved.id


@pytest.mark.parametrize("body, named", [
    ("Hello {{ custmer.name }}", "custmer.name"),
    ("Your order {{ order.numbr }}", "order.numbr"),
    ("Hello {{ customer }}", "customer"),
    ("Hello {{ customer['phone'] }}", "customer.phone"),
    ("{{ shop.name }} {{ password }}", "password"),
])
def test_an_unknown_placeholder_is_refused_by_name_and_nothing_is_saved(app, shops, body,
                                                                          named):
    with pytest.raises(replies.TemplateRefused) as refused:
        _save(app, shops.fr, body=body)
    assert refused.value.placeholder == named
    assert "{{ " + named + " }}" in str(refused.value)
    assert "customer.name" in str(refused.value)  # and the ones that exist are listed
    assert _templates(app, shops.fr) == 0


@pytest.mark.parametrize("body", ["Hello {{ customer.name ", "{% if %}", "{{ ''.__class__ }}",
                                  "{{ customer.name|nosuchfilter }}"])
def test_broken_or_unsafe_syntax_is_refused_and_nothing_is_saved(app, shops, body):
    with pytest.raises(replies.TemplateRefused):
        _save(app, shops.fr, body=body)
    assert _templates(app, shops.fr) == 0


@pytest.mark.parametrize("values, field", [
    ({"name": "  "}, "name"), ({"locale": "de_DE"}, "locale"), ({"body": ""}, "body"),
    ({"name": "x" * 101}, "name"),
])
def test_missing_or_bad_fields_are_named(app, shops, values, field):
    with pytest.raises(replies.TemplateRefused) as refused:
        _save(app, shops.fr, **values)
    assert refused.value.field == field
    assert _templates(app, shops.fr) == 0


def test_a_name_is_used_once_per_language(app, shops):
    _save(app, shops.fr, name="Toner", locale="en")
    _save(app, shops.fr, name="Toner", locale="fr_FR")  # another language: another template
    with pytest.raises(replies.TemplateRefused) as refused:
        _save(app, shops.fr, name="Toner", locale="en")
    assert refused.value.field == "name" and "Toner" in str(refused.value)
    assert _templates(app, shops.fr) == 2


def test_every_placeholder_is_filled_from_the_ticket_and_its_shop(app, shops):
    user = make_customer(app, shops.fr, "lea@example.fr")
    number = make_order(app, shops.fr, user, status="shipped")
    ticket_number = _open(app, shops.fr, name="Léa Martin", source="order", user_id=user,
                          order_number=number, product_sku="PRINTER")
    assert _render(app, shops.fr, ticket_number, EVERYTHING).split("|") == [
        "Léa Martin", "lea@example.fr", str(number), "shipped", "Imprimante laser couleur",
        "PRINTER", str(ticket_number), "Toner?", "Comptoir France", "Ana Agent"]


def test_what_the_ticket_does_not_have_is_left_empty(app, shops):
    number = _open(app, shops.fr, email="guest@example.fr", name="", subject="Opening hours?")
    text = _render(app, shops.fr, number, "[{{ order.number }}|{{ order.status }}|"
                   "{{ product.name }}|{{ customer.name }}] {{ ticket.subject }}")
    assert text == "[|||] Opening hours?"


def test_an_order_of_another_shop_with_the_same_number_is_not_used(app, shops):
    """The order is looked up in the ticket's shop: the German shop's order 1001 is not the
    French ticket's (the French ticket names no order here, the German order exists)."""
    make_order(app, shops.de, None, email="lea@example.fr")
    number = _open(app, shops.fr)
    with as_tenant(app, shops.fr), app.test_request_context(), force_locale("en"):
        ticket = tickets.get(number)
        ticket.order_number = 1001  # as if it had been named: the shop has no such order
        text = replies.render("[{{ order.number }}]", ticket, AGENT, tenant_by_id(shops.fr.id))
        db.session.rollback()
    assert text == "[]"


def test_templates_of_the_tickets_language_come_first(app, shops):
    _save(app, shops.fr, name="A", locale="fr_FR", body="Bonjour")
    _save(app, shops.fr, name="B", locale="en", body="Hello")
    _save(app, shops.fr, name="C", locale="fr_FR", body="Salut")
    with as_tenant(app, shops.fr):
        assert [t.name for t in replies.templates_for("en")] == ["B", "A", "C"]
        assert [t.name for t in replies.templates_for("fr")] == ["A", "C", "B"]


def test_a_reseller_uses_its_offices_templates_but_cannot_change_them(app, shops):
    office_id = _save(app, shops.fr, name="Office", body="From the office")
    own_id = _save(app, shops.acme, name="Own", body="From the reseller")
    with as_tenant(app, shops.acme), app.test_request_context(), force_locale("en"):
        acme = tenant_by_id(shops.acme.id)
        assert {t.name for t in replies.templates_for()} == {"Office", "Own"}
        office = replies.get(office_id)
        assert not replies.is_own(office, acme)
        with pytest.raises(replies.TemplateRefused):
            replies.save(acme, office, name="Changed", locale="en", body="x", actor="a@b.fr")
        with pytest.raises(replies.TemplateRefused):
            replies.delete(acme, office)
    with as_tenant(app, shops.fr):
        assert replies.get(office_id).body == "From the office"
        assert replies.get(own_id) is None  # an office does not read its resellers'
    with as_tenant(app, shops.de):
        assert replies.templates_for() == [] and replies.get(office_id) is None


def test_a_text_as_long_as_the_form_allows_is_saved_with_its_line_breaks(app, shops):
    # The textarea's maxlength counts a line break once; the browser sends "\r\n".
    body = "Hello {{ customer.name }},\r\n" + "x\r\n" * 4980
    assert len(body) > replies.MAX_BODY >= len(body.replace("\r\n", "\n"))
    template_id = _save(app, shops.fr, body=body)
    with as_tenant(app, shops.fr):
        assert db.session.get(ReplyTemplate, template_id).body == body.replace(
            "\r\n", "\n").strip()
