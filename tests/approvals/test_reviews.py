"""Technical validation: a buyer submits their cart or a standard configuration to the
nearest technical validator up their chain, who approves, rejects or proposes changes; the
buyer is told. Bad input is refused with a clear message and changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from comptoir.catalog import service as catalog
from comptoir.core.db import db
from plugins.approvals.models import Review
from tests.approvals.support import (
    actions,
    client_as,
    french,
    other_tenant_admin,
    set_member,
)
from tests.conftest import as_tenant


@pytest.fixture
def technical(app, shop):
    """The supervisor validates configurations; two standard configurations are offered,
    a third is withdrawn."""
    _fr, acme, _other = shop
    set_member(app, acme, "chef@durand.example", technical=True)
    with as_tenant(app, acme):
        catalog.create_configuration("POSTE-DEV", "Poste développeur", [("SERVER", 1)])
        catalog.create_configuration("BAIE-2", "Baie double", [("RACK", 2), ("SERVER", 4)])
        old = catalog.create_configuration("ANCIEN", "Ancien poste", [("SERVER", 1)])
        old.active = False
        db.session.commit()
    return shop


def _reviews(app, acme) -> list[tuple]:
    with as_tenant(app, acme):
        return [(r.kind, r.configuration_code, r.status, r.note, r.lines)
                for r in db.session.scalars(select(Review).order_by(Review.id))]


def _review_link(message) -> str:
    link = re.search(r"https?://\S+/approvals/reviews/\d+", message.get_content()).group(0)
    return link.split("localhost", 1)[1]


def test_a_cart_is_validated_by_the_nearest_technical_validator(app, technical, smtp_server):
    _fr, acme, _other = technical
    buyer = client_as(app, "buyer@durand.example")
    submit = french(app, "Submit my cart for technical validation")
    assert submit not in buyer.get("/s/acme/approvals/").get_data(as_text=True)
    buyer.post("/s/acme/cart/add", data={"sku": "SERVER", "quantity": "3"})
    index = buyer.get("/s/acme/approvals/").get_data(as_text=True)
    assert submit in index
    submitted = buyer.post("/s/acme/approvals/reviews", data={"kind": "cart"})
    assert submitted.status_code == 303
    assert _reviews(app, acme) == [
        ("cart", None, "pending", "", [{"sku": "SERVER", "name": "Serveur", "quantity": 3}])]
    (mail,) = smtp_server.messages
    assert mail["To"] == "chef@durand.example" and "Marc" in mail["Subject"]
    path = _review_link(mail)

    chef = client_as(app, "chef@durand.example")
    page = chef.get(path).get_data(as_text=True)
    assert "SERVER" in page and "Serveur" in page and 'value="approve"' in page
    assert french(app, "Configurations waiting for your technical validation") in chef.get(
        "/s/acme/approvals/").get_data(as_text=True)
    assert chef.post(path, data={"decision": "approve"}).status_code == 303
    assert _reviews(app, acme)[0][2] == "approved"
    told = smtp_server.messages[-1]
    assert told["To"] == "buyer@durand.example"
    assert told["Subject"] == french(app, "Technical validation #%(id)s: %(verdict)s",
                                     escaped=False, id=1,
                                     verdict=french(app, "approved", escaped=False))
    assert actions(app, acme) == ["review_submitted", "review_approved"]
    # The buyer sees the outcome on the approvals page; a second answer changes nothing.
    assert "status-approved" in buyer.get("/s/acme/approvals/").get_data(as_text=True)
    again = chef.post(path, data={"decision": "reject", "note": "Trop tard"})
    assert again.status_code == 400
    assert _reviews(app, acme)[0][2:4] == ("approved", "")
    assert len(smtp_server.messages) == 2


def test_a_configuration_gets_proposed_changes_which_need_a_text(app, technical, smtp_server):
    _fr, acme, _other = technical
    buyer = client_as(app, "buyer@durand.example")
    index = buyer.get("/s/acme/approvals/").get_data(as_text=True)
    assert 'value="POSTE-DEV"' in index and 'value="ANCIEN"' not in index
    assert buyer.post("/s/acme/approvals/reviews",
                      data={"kind": "configuration", "code": "BAIE-2"}).status_code == 303
    (kind, code, status, _note, lines), = _reviews(app, acme)
    assert (kind, code, status) == ("configuration", "BAIE-2", "pending")
    assert lines == [{"sku": "RACK", "name": "Baie", "quantity": 2},
                     {"sku": "SERVER", "name": "Serveur", "quantity": 4}]
    path = _review_link(smtp_server.messages[-1])
    assert "BAIE-2" in smtp_server.messages[-1].get_content()
    chef = client_as(app, "chef@durand.example")
    empty = chef.post(path, data={"decision": "propose", "note": "  "})
    assert empty.status_code == 400
    assert french(app, "Describe the changes you propose.") in empty.get_data(as_text=True)
    assert _reviews(app, acme)[0][2] == "pending" and len(smtp_server.messages) == 1
    assert chef.post(path, data={"decision": "propose",
                                 "note": "Une seule baie suffit"}).status_code == 303
    assert _reviews(app, acme)[0][2:4] == ("changes_proposed", "Une seule baie suffit")
    told = smtp_server.messages[-1]
    assert told["To"] == "buyer@durand.example"
    assert "Une seule baie suffit" in told.get_content()
    mine = buyer.get("/s/acme/approvals/").get_data(as_text=True)
    assert "Une seule baie suffit" in mine and "status-changes_proposed" in mine


def test_a_rejection_needs_its_reason(app, technical, smtp_server):
    _fr, acme, _other = technical
    buyer = client_as(app, "buyer@durand.example")
    buyer.post("/s/acme/approvals/reviews", data={"kind": "configuration", "code": "POSTE-DEV"})
    path = _review_link(smtp_server.messages[-1])
    chef = client_as(app, "chef@durand.example")
    refused = chef.post(path, data={"decision": "reject"})
    assert refused.status_code == 400
    assert french(app, "Say why, so that the buyer knows what to change.") \
        in refused.get_data(as_text=True)
    assert _reviews(app, acme)[0][2] == "pending"
    assert actions(app, acme) == ["review_submitted"]
    assert chef.post(path, data={"decision": "reject",
                                 "note": "Pas assez de mémoire"}).status_code == 303
    assert _reviews(app, acme)[0][2:4] == ("rejected", "Pas assez de mémoire")
    assert "Pas assez de mémoire" in smtp_server.messages[-1].get_content()


NO_SUCH = "There is no standard configuration '%(code)s' in your catalogue."


@pytest.mark.parametrize(("data", "message", "params"), [
    ({"kind": "cart"}, "Your cart is empty: add what you want validated first.", {}),
    ({"kind": "configuration", "code": "NOPE"}, NO_SUCH, {"code": "NOPE"}),
    ({"kind": "configuration", "code": "ANCIEN"}, NO_SUCH, {"code": "ANCIEN"}),  # withdrawn
    ({"kind": "configuration", "code": ""}, "Choose a standard configuration.", {}),
])
def test_a_bad_submission_is_refused_and_nothing_is_written(app, technical, smtp_server,
                                                           data, message, params):
    _fr, acme, _other = technical
    buyer = client_as(app, "buyer@durand.example")
    refused = buyer.post("/s/acme/approvals/reviews", data=data)
    assert refused.status_code == 400
    assert french(app, message, **params) in refused.get_data(as_text=True)
    assert _reviews(app, acme) == [] and actions(app, acme) == []
    assert smtp_server.messages == []


def test_without_a_technical_validator_up_the_chain_nothing_is_submitted(app, technical,
                                                                        smtp_server):
    _fr, acme, _other = technical
    # The supervisor validates, but nobody above the supervisor does.
    chef = client_as(app, "chef@durand.example")
    refused = chef.post("/s/acme/approvals/reviews",
                        data={"kind": "configuration", "code": "POSTE-DEV"})
    assert refused.status_code == 400
    assert french(app, "Nobody above you in your company's chain validates configurations: "
                  "ask your company admin to name someone.") in refused.get_data(as_text=True)
    rival = client_as(app, "rival@rival.example")  # not in any chain
    refused = rival.post("/s/acme/approvals/reviews",
                         data={"kind": "configuration", "code": "POSTE-DEV"})
    assert refused.status_code == 400
    assert french(app, "You are not in your company's approval chain: ask your company admin "
                  "to add you.") in refused.get_data(as_text=True)
    assert _reviews(app, acme) == [] and smtp_server.messages == []


def test_nobody_reviews_their_own_submission(app, technical, smtp_server):
    _fr, acme, _other = technical
    set_member(app, acme, "boss@durand.example", technical=True)
    chef = client_as(app, "chef@durand.example")
    assert chef.post("/s/acme/approvals/reviews",
                     data={"kind": "configuration", "code": "POSTE-DEV"}).status_code == 303
    assert smtp_server.messages[-1]["To"] == "boss@durand.example"  # the next one up
    path = _review_link(smtp_server.messages[-1])
    page = chef.get(path)
    assert page.status_code == 200 and 'value="approve"' not in page.get_data(as_text=True)
    own = chef.post(path, data={"decision": "approve"})
    assert own.status_code == 400
    assert french(app, "This configuration is not yours to validate.") \
        in own.get_data(as_text=True)
    assert _reviews(app, acme)[0][2] == "pending"
    assert actions(app, acme) == ["review_submitted"]


def test_other_companies_and_tenants_get_404(app, technical, smtp_server):
    _fr, acme, other = technical
    buyer = client_as(app, "buyer@durand.example")
    buyer.post("/s/acme/approvals/reviews", data={"kind": "configuration", "code": "POSTE-DEV"})
    path = _review_link(smtp_server.messages[-1])
    rival = client_as(app, "rival@rival.example")
    assert rival.get(path).status_code == 404
    assert rival.post(path, data={"decision": "approve"}).status_code == 404
    elsewhere = client_as(app, other_tenant_admin(app, other), "other")
    foreign = path.replace("/s/acme/", "/s/other/")
    assert elsewhere.get(foreign).status_code == 404
    assert elsewhere.post(foreign, data={"decision": "approve"}).status_code == 404
    assert _reviews(app, acme)[0][2] == "pending"
    with as_tenant(app, other):
        assert db.session.scalar(select(func.count(Review.id))) == 0
