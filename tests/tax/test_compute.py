"""VAT per rate, rounded per line or per invoice: golden figures worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comptoir.tax.compute import compute

D = Decimal


def test_rounding_per_line_and_per_invoice_differ_on_the_same_lines():
    lines = [(D("0.33"), D("20"))] * 3  # VAT 0.066 each
    per_line = compute(lines, "line")
    per_invoice = compute(lines, "invoice")
    assert per_line.vat == D("0.21")  # 0.07 × 3
    assert per_invoice.vat == D("0.20")  # 0.99 × 20 % = 0.198
    assert per_line.net == per_invoice.net == D("0.99")


def test_each_rate_is_totalled_apart_lowest_first():
    taxes = compute([(D("1049.50"), D("20")), (D("12.99"), D("5.5")), (D("100.00"), D("20"))],
                    "invoice")
    assert [(r.rate, r.base, r.vat) for r in taxes.per_rate] == [
        (D("5.5"), D("12.99"), D("0.71")),  # 0.71445
        (D("20"), D("1149.50"), D("229.90")),
    ]
    assert taxes.breakdown() == {"5.5": "0.71", "20": "229.90"}
    assert taxes.gross == D("1162.49") + D("230.61")


def test_half_cents_round_up():
    assert compute([(D("0.25"), D("10"))], "invoice").vat == D("0.03")  # 0.025
    assert compute([(D("0.05"), D("10")), (D("0.05"), D("10"))], "line").vat == D("0.02")


def test_a_zero_rate_is_shown_with_its_base():
    taxes = compute([(D("500.00"), D("0"))], "invoice")
    assert [(r.rate, r.base, r.vat) for r in taxes.per_rate] == [(D("0"), D("500.00"), D("0"))]


def test_floats_are_refused():
    with pytest.raises(TypeError):
        compute([(0.1, D("20"))], "line")
