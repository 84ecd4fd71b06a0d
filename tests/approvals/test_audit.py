"""The audit trail as CSV for the company admin: every event of the company, UTF-8 with a
BOM, ISO 8601 UTC dates, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import re

import pytest

from plugins.approvals.audit import safe_cell
from tests.approvals.support import client_as, french, held_order, other_tenant_admin


def _csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_company_admin_exports_every_event(app, shop):
    _fr, acme, _other = shop
    _buyer, request_id = held_order(app, acme)
    boss = client_as(app, "boss@durand.example")
    assert french(app, "Export the audit trail (CSV)") in boss.get(
        "/s/acme/approvals/").get_data(as_text=True)
    formula = '=HYPERLINK("http://evil.example","Cliquez")'
    assert boss.post(f"/s/acme/approvals/{request_id}", data={
        "decision": "reject", "reason": formula}).status_code == 303
    exported = boss.get("/s/acme/approvals/audit.csv")
    assert exported.status_code == 200
    assert exported.mimetype == "text/csv"
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    header, *rows = _csv(exported)
    assert header == [french(app, h, escaped=False) for h in (
        "Date (UTC)", "Actor", "Action", "Request", "Order", "Technical validation", "Note")]
    assert [row[1:6] for row in rows] == [
        ["buyer@durand.example", "submitted", str(request_id), "1", ""],
        ["boss@durand.example", "rejected", str(request_id), "1", ""],
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[0]) for row in rows)
    assert rows[0][6] == "25000.00"
    assert rows[1][6] == "'" + formula  # shown as text, never run


def test_other_roles_are_refused(app, shop):
    for email in ("buyer@durand.example", "chef@durand.example"):
        assert client_as(app, email).get("/s/acme/approvals/audit.csv").status_code == 403
    buyer = client_as(app, "buyer@durand.example")
    assert french(app, "Export the audit trail (CSV)") not in buyer.get(
        "/s/acme/approvals/").get_data(as_text=True)


def test_other_companies_and_tenants_export_only_their_own(app, shop):
    _fr, acme, other = shop
    held_order(app, acme)
    rival = client_as(app, "rival@rival.example")
    _header, *rows = _csv(rival.get("/s/acme/approvals/audit.csv"))
    assert rows == []
    elsewhere = client_as(app, other_tenant_admin(app, other), "other")
    _header, *rows = _csv(elsewhere.get("/s/other/approvals/audit.csv"))
    assert rows == []


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+1", "'=1+1"), ("+33 1 23", "'+33 1 23"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("a=b", "a=b"), ("", ""), (None, ""), (42, "42"),
])
def test_formula_looking_cells_are_neutralised(cell, written):
    assert safe_cell(cell) == written
