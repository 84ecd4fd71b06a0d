"""Segments: the rule language (what parses, and the message for what does not) and what
each term selects, on real orders (one through the storefront's checkout, the others
written as the order service writes them), product views and accounts; and that a rule
evaluated in one shop reads nothing of another's."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from comptoir.catalog.models import Product
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.orders import service as orders
from comptoir.orders.models import Order, OrderLine
from comptoir.tenants.resolution import directory
from plugins.newsletters import segments
from plugins.newsletters.models import SUBSCRIBED, ProductView, Subscriber
from plugins.newsletters.segments import SegmentError
from tests.conftest import as_tenant
from tests.newsletters.conftest import login, make_customer

NOW = datetime.now(UTC)
_numbers = itertools.count(1000)


# --- the parser ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, shape", [
    ("", ""),
    ("   ", ""),
    ("company", "company"),
    ("bought_in:imprimantes", "bought_in:imprimantes"),
    ("spent_over:1000.50", "spent_over:1000.50"),
    ("viewed_not_bought:7 AND NOT company", "viewed_not_bought:7 and not company"),
    # "and" binds tighter than "or".
    ("country:FR or language:fr and company", "country:FR or language:fr and company"),
    ("(country:FR or language:fr) and company", "(country:FR or language:fr) and company"),
    ("not (company or individual)", "not (company or individual)"),
    ("((birthday_this_week))", "birthday_this_week"),
    ("theme:promotions and inactive_weeks:26", "theme:promotions and inactive_weeks:26"),
])
def test_rules_that_parse(app, text, shape):
    assert str(segments.parse(text)) == shape


def test_and_binds_tighter_than_or(app):
    rule = segments.parse("company or individual and country:FR")
    assert isinstance(rule, segments.Or)
    assert rule.rules[0] == segments.Term("company")
    assert isinstance(rule.rules[1], segments.And)
    grouped = segments.parse("(company or individual) and country:FR")
    assert isinstance(grouped, segments.And)


@pytest.mark.parametrize("text, position, words", [
    ("boughtin:imprimantes", 1, ["unknown term 'boughtin' at 1"]),
    ("company and spent_over:lots", 24, ["expected a number after spent_over:", "at 24"]),
    ("spent_over:", 12, ["expected a value after spent_over:", "at 12"]),
    ("(company or individual", 1, ["unbalanced parenthesis at 1", "never closed"]),
    ("company)", 8, ["unbalanced parenthesis at 8"]),
    ("company and", 12, ["expected a term at 12", "ends"]),
    ("company individual", 9, ["expected 'and' or 'or' at 9", "'individual'"]),
    ("company:yes", 1, ["company takes no value"]),
    ("country:FRA", 9, ["expected a two-letter country code after country:", "'FRA'"]),
    ("viewed_not_bought:0", 19, ["viewed_not_bought: takes a number from 1 to 365"]),
    ("inactive_weeks:two", 16, ["expected a whole number after inactive_weeks:"]),
    ("not", 4, ["expected a term at 4"]),
    ("company and or individual", 13, ["expected a term at 13, found 'or'"]),
    ("()", 2, ["expected a term at 2, found ')'"]),
    ("bought_in:Imprimantes!", 11, ["expected a category slug after bought_in:"]),
])
def test_rules_that_do_not_parse_say_where_and_why(app, text, position, words):
    with app.test_request_context(), force_locale("en"), pytest.raises(SegmentError) as caught:
        segments.parse(text)
    assert caught.value.position == position
    for word in words:
        assert word in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_absurd_rules_are_refused_not_crashing(app):
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(SegmentError, match="longer than 2000"):
            segments.parse("company or " * 300)
        with pytest.raises(SegmentError, match="nested too deeply"):
            segments.parse("(" * 80 + "company" + ")" * 80)
        with pytest.raises(SegmentError, match="nested too deeply"):
            segments.parse("not " * 80 + "company")


# --- what the terms select ----------------------------------------------------------------


def _subscriber(email: str, **fields: Any) -> Subscriber:
    values = {"locale": "fr_FR", "status": SUBSCRIBED, "name": email.split("@")[0].title(),
              **fields}
    subscriber = Subscriber(email=email, **values)
    db.session.add(subscriber)
    db.session.flush()
    return subscriber


def _order(email: str, *, user_id: int | None = None, status: str = "paid",
           sku: str = "PRINTER", total: str = "360.00", days_ago: float = 1,
           country: str = "FR") -> Order:
    """An order as the order service writes it (addresses, totals, one line)."""
    gross = Decimal(total)
    net = (gross / Decimal("1.2")).quantize(Decimal("0.01"))
    address = {"name": "Client", "street": "1 rue de la Paix", "postcode": "75002",
               "city": "Paris", "country": country, "company": ""}
    order = Order(
        number=next(_numbers), reference=f"test-{uuid.uuid4().hex[:12]}", status=status,
        email=email, user_id=user_id, billing_address=address, shipping_address=address,
        shipping_method="standard", payment_method="bank_transfer", currency="EUR",
        total_net=net, total_vat=gross - net, total_gross=gross, vat_breakdown={},
        tax_country="FR", destination_country=country, expected_delivery=date.today(),
        created_at=NOW - timedelta(days=days_ago))
    order.lines = [OrderLine(sku=sku, name=sku, quantity=1, unit_public=net, unit_net=net,
                             line_net=net, tax_class="standard", vat_rate=Decimal("20"))]
    db.session.add(order)
    db.session.flush()
    return order


def _checkout(app: Any, shop: Any, email: str) -> None:
    """Buy the printer through the storefront, then have the staff mark it paid."""
    client = app.test_client()
    login(client, shop, email)
    assert client.post(f"/s/{shop.slug}/cart/add",
                       data={"sku": "PRINTER", "quantity": "1"}).status_code in (302, 303)
    response = client.post(f"/s/{shop.slug}/checkout", data={
        "billing_name": "Léa Martin", "billing_street": "12 rue de la République",
        "billing_postcode": "69002", "billing_city": "Lyon", "billing_country": "FR",
        "same_address": "yes", "shipping_method": "standard",
        "payment_method": "bank_transfer"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with as_tenant(app, shop):
        info = directory().by_id(shop.id)
        order = db.session.scalars(select(Order).where(Order.email == email)).one()
        orders.change_status(info, order, "paid", "staff@comptoir.example", by_staff=True)


@pytest.fixture
def people(app, shops):
    """Subscribers of the France office with a history each; returns ``{name: id}``."""
    fr = shops.fr
    lea = make_customer(app, fr, "lea@example.org")
    bob = make_customer(app, fr, "bob@durand.example", "Bob Durand")
    viewer = make_customer(app, fr, "viewer@example.org", "Vic Viewer")
    viewer_bought = make_customer(app, fr, "vb@example.org", "Val Bought")
    _checkout(app, fr, "lea@example.org")
    today = date.today()
    with as_tenant(app, fr):
        company = Company(name="Durand SA")
        db.session.add(company)
        db.session.flush()
        db.session.get(User, bob).company_id = company.id
        ids = {
            "lea": _subscriber("lea@example.org", user_id=lea, country="FR",
                               themes=["promotions"]),
            "bob": _subscriber("bob@durand.example", user_id=bob, locale="en",
                               themes=["events"], birthday=date(1980, today.month, today.day)),
            "guest": _subscriber("guest@example.org", locale="fr", country=""),
            "old": _subscriber("old@example.org", locale="en_GB", country=""),
            "viewer": _subscriber("viewer@example.org", user_id=viewer),
            "vb": _subscriber("vb@example.org", user_id=viewer_bought, country="BE"),
        }
        # bob: a company, 1,200 spent on a shipped order in another category, in Belgium.
        _order("bob@durand.example", user_id=bob, status="shipped", sku="SCREEN",
               total="1200.00", country="BE")
        # guest: no account, two orders with their address; the last one to Switzerland.
        _order("guest@example.org", status="delivered", sku="SUPPORT", total="100.00",
               country="FR", days_ago=20)
        _order("guest@example.org", status="placed", sku="SUPPORT", total="50.00",
               country="CH", days_ago=2)
        # old: bought a printer 40 weeks ago, and a big order cancelled last week.
        _order("old@example.org", status="delivered", total="300.00", days_ago=280)
        _order("old@example.org", status="cancelled", total="5000.00", days_ago=7)
        # viewer: looked at the printer 3 days ago and 60 days ago, bought nothing.
        printer = db.session.scalars(select(Product).where(Product.sku == "PRINTER")).one()
        for user, days in ((viewer, 3), (viewer, 60), (viewer_bought, 3)):
            db.session.add(ProductView(user_id=user, product_id=printer.id, sku="PRINTER",
                                       name=printer.name,
                                       viewed_at=NOW - timedelta(days=days)))
        # vb: looked at it 3 days ago, then ordered it (not yet paid) yesterday.
        _order("vb@example.org", user_id=viewer_bought, status="placed", days_ago=1)
        names = {name: sub.id for name, sub in ids.items()}
        db.session.commit()
    return names


def _select(app, shop, text, names, **options):
    with as_tenant(app, shop):
        every = db.session.scalars(select(Subscriber)).all()
        found = segments.matching(segments.parse(text), every, **options)
    by_id = {v: k for k, v in names.items()}
    return {by_id[i] for i in found}


def test_bought_in_a_category_counts_paid_shipped_delivered_orders(app, shops, people):
    assert _select(app, shops.fr, "bought_in:imprimantes", people) == {"lea", "old"}
    assert _select(app, shops.fr, "bought_in:ecrans", people) == set()
    # vb's printer order is only placed (not paid): not bought yet.
    assert "vb" not in _select(app, shops.fr, "bought_in:imprimantes", people)


def test_viewed_without_buying(app, shops, people):
    assert _select(app, shops.fr, "viewed_not_bought:7", people) == {"viewer"}
    assert _select(app, shops.fr, "viewed_not_bought:90", people) == {"viewer"}
    assert _select(app, shops.fr, "viewed_not_bought:1", people) == set()


def test_spent_over_counts_committed_orders_only(app, shops, people):
    assert _select(app, shops.fr, "spent_over:1000", people) == {"bob"}
    assert _select(app, shops.fr, "spent_over:149.99", people) == {"lea", "bob", "old",
                                                                    "vb", "guest"}
    assert _select(app, shops.fr, "spent_over:150", people) == {"lea", "bob", "old", "vb"}


def test_inactive_weeks_includes_those_who_never_ordered(app, shops, people):
    # old's last real order is 40 weeks old (the cancelled one does not count).
    assert _select(app, shops.fr, "inactive_weeks:26", people) == {"old", "viewer"}
    assert _select(app, shops.fr, "inactive_weeks:52", people) == {"viewer"}


def test_birthday_this_week(app, shops, people):
    assert _select(app, shops.fr, "birthday_this_week", people) == {"bob"}
    in_a_month = date.today() + timedelta(days=30)
    assert _select(app, shops.fr, "birthday_this_week", people, today=in_a_month) == set()


def test_born_on_29_february_counts_in_a_common_year(app, shops):
    with as_tenant(app, shops.fr):
        leap = _subscriber("leap@example.org", birthday=date(2000, 2, 29)).id
        db.session.commit()
        every = db.session.scalars(select(Subscriber)).all()
        rule = segments.parse("birthday_this_week")
        # The week of Monday 26 February 2029 (a common year) holds 28 February and 1 March.
        assert segments.matching(rule, every, today=date(2029, 2, 28)) == {leap}
        assert segments.matching(rule, every, today=date(2029, 3, 7)) == set()


def test_company_or_individual(app, shops, people):
    assert _select(app, shops.fr, "company", people) == {"bob"}
    # Subscribers without an account count as individuals.
    assert _select(app, shops.fr, "individual", people) == set(people) - {"bob"}


def test_country_is_the_subscribers_or_their_last_orders(app, shops, people):
    assert _select(app, shops.fr, "country:FR", people) == {"lea", "old"}
    assert _select(app, shops.fr, "country:be", people) == {"bob", "vb"}
    # guest's last order went to Switzerland; their first to France.
    assert _select(app, shops.fr, "country:CH", people) == {"guest"}


def test_language_matches_the_language_of_the_locale(app, shops, people):
    assert _select(app, shops.fr, "language:fr", people) == {"lea", "guest", "viewer", "vb"}
    assert _select(app, shops.fr, "language:en", people) == {"bob", "old"}
    assert _select(app, shops.fr, "language:de", people) == set()


def test_theme_includes_readers_who_chose_no_theme(app, shops, people):
    assert _select(app, shops.fr, "theme:promotions", people) == set(people) - {"bob"}
    assert _select(app, shops.fr, "theme:events", people) == set(people) - {"lea"}


def test_and_or_not_and_parentheses(app, shops, people):
    def select_(text):
        return _select(app, shops.fr, text, people)

    assert select_("bought_in:imprimantes and language:en") == {"old"}
    assert select_("bought_in:imprimantes or company") == {"lea", "old", "bob"}
    assert select_("not individual") == {"bob"}
    # "and" first: company or (bought a printer and reads English).
    assert select_("company or bought_in:imprimantes and language:en") == {"bob", "old"}
    assert select_("(company or bought_in:imprimantes) and language:en") == {"bob", "old"}
    assert select_("(company or bought_in:imprimantes) and language:fr") == {"lea"}
    assert select_("not (company or bought_in:imprimantes)") == {"guest", "viewer", "vb"}
    assert select_("") == set(people)


def test_the_universe_limits_the_answer(app, shops, people):
    with as_tenant(app, shops.fr):
        some = [people["lea"], people["bob"]]
        assert segments.matching(segments.parse("not company"), some) == {people["lea"]}
        assert segments.matching(segments.parse(""), some) == set(some)
        assert segments.matching(segments.parse("company"), []) == set()


def test_each_term_is_one_query(app, shops, people):
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "newsletters_subscribers" in statement:
            statements.append(statement)

    with as_tenant(app, shops.fr):
        every = db.session.scalars(select(Subscriber)).all()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            segments.matching(segments.parse(
                "(company or spent_over:10) and not company and country:FR"), every)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 3  # company (once, though used twice), spent_over, country


def test_another_shop_sees_none_of_it(app, shops, people):
    """The German office's rule reads its own subscribers and orders only; a reseller's
    subscriber is judged on the orders placed at the reseller."""
    with as_tenant(app, shops.de):
        _subscriber("lea@example.org")  # the same address, in another shop
        db.session.commit()
        every = db.session.scalars(select(Subscriber)).all()
        assert len(every) == 1
        for text in ("bought_in:imprimantes", "spent_over:1", "country:FR or company"):
            assert segments.matching(segments.parse(text), every) == set()
        assert segments.matching(segments.parse("inactive_weeks:1"), every) == {every[0].id}
    with as_tenant(app, shops.acme):
        sub = _subscriber("lea@example.org", country="")
        db.session.commit()
        assert segments.matching(segments.parse("spent_over:1"), [sub.id]) == set()
        _order("lea@example.org", total="10.00", country="BE")
        db.session.commit()
        assert segments.matching(segments.parse("spent_over:1 and country:BE"),
                                 [sub.id]) == {sub.id}
