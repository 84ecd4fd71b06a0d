"""Absence: a member names a deputy from their company's chain until a date; the deputy is
asked and decides meanwhile; a bad choice is refused and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.approvals.support import (
    actions,
    client_as,
    french,
    held_order,
    members,
    shop_today,
    user_ids,
)


def test_the_director_names_a_deputy_who_is_asked_then_ends_it(app, shop, smtp_server):
    _fr, acme, _other = shop
    until = shop_today(app, "acme") + timedelta(days=14)
    boss = client_as(app, "boss@durand.example")
    index = boss.get("/s/acme/approvals/").get_data(as_text=True)
    assert 'name="deputy"' in index and ">Sophie<" in index and ">Marc<" not in index
    chef_id = user_ids(app, acme)["chef@durand.example"]
    named = boss.post("/s/acme/approvals/deputy",
                      data={"deputy": str(chef_id), "until": until.isoformat()})
    assert named.status_code == 303
    assert members(app, acme)["boss@durand.example"][:2] == ("chef@durand.example", until)
    assert actions(app, acme) == ["delegated"]
    page = boss.get("/s/acme/approvals/").get_data(as_text=True)
    assert 'value="end"' in page and "Sophie" in page
    # 25,000 waits for the director: their deputy is asked, and decides.
    _buyer, request_id = held_order(app, acme)
    assert smtp_server.messages[-1]["To"] == "chef@durand.example"
    chef = client_as(app, "chef@durand.example")
    assert chef.post(f"/s/acme/approvals/{request_id}",
                     data={"decision": "approve"}).status_code == 303
    ended = boss.post("/s/acme/approvals/deputy", data={"action": "end"})
    assert ended.status_code == 303
    assert members(app, acme)["boss@durand.example"][:2] == (None, None)
    assert actions(app, acme) == ["delegated", "submitted", "approved", "delegated"]


def test_ninety_days_is_the_longest_delegation(app, shop):
    _fr, acme, _other = shop
    until = shop_today(app, "acme") + timedelta(days=90)
    boss = client_as(app, "boss@durand.example")
    chef_id = user_ids(app, acme)["chef@durand.example"]
    assert boss.post("/s/acme/approvals/deputy", data={
        "deputy": str(chef_id), "until": until.isoformat()}).status_code == 303
    assert members(app, acme)["boss@durand.example"][1] == until


@pytest.mark.parametrize(("deputy", "days", "message"), [
    ("buyer@durand.example", 7,  # in the chain, but approves no budget
     "Choose as deputy someone else in your company's chain who approves budgets."),
    ("rival@rival.example", 7,  # another company's
     "Choose as deputy someone else in your company's chain who approves budgets."),
    ("boss@durand.example", 7,  # themselves
     "Choose as deputy someone else in your company's chain who approves budgets."),
    ("", 7, "Choose as deputy someone else in your company's chain who approves budgets."),
    ("chef@durand.example", -1, "The last day of the delegation is in the past."),
    ("chef@durand.example", 91, None),
    ("chef@durand.example", "31/12/2030",
     "Give the last day of the delegation as a date (YYYY-MM-DD)."),
])
def test_a_bad_delegation_is_refused_and_nothing_changes(app, shop, deputy, days, message):
    _fr, acme, _other = shop
    today = shop_today(app, "acme")
    ids = user_ids(app, acme)
    until = (today + timedelta(days=days)).isoformat() if isinstance(days, int) else days
    boss = client_as(app, "boss@durand.example")
    before = members(app, acme)
    refused = boss.post("/s/acme/approvals/deputy",
                        data={"deputy": str(ids.get(deputy, "")), "until": until})
    assert refused.status_code == 400
    if message is None:
        message = "A delegation lasts at most %(days)s days: choose a last day before %(limit)s."
        expected = french(app, message, days=90,
                          limit=(today + timedelta(days=91)).isoformat())
    else:
        expected = french(app, message)
    assert expected in refused.get_data(as_text=True)
    assert members(app, acme) == before and actions(app, acme) == []


def test_someone_outside_the_chain_names_nobody(app, shop):
    _fr, acme, _other = shop
    rival = client_as(app, "rival@rival.example")
    assert 'name="deputy"' not in rival.get("/s/acme/approvals/").get_data(as_text=True)
    ids = user_ids(app, acme)
    refused = rival.post("/s/acme/approvals/deputy", data={
        "deputy": str(ids["chef@durand.example"]),
        "until": (shop_today(app, "acme") + timedelta(days=3)).isoformat()})
    assert refused.status_code == 400
    assert french(app, "You are not in your company's approval chain: ask your company admin "
                  "to add you.") in refused.get_data(as_text=True)
    assert actions(app, acme) == []
