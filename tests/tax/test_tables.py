"""Golden VAT rates of every office, with their effective dates, and tables that refuse to
be wrong. The expected figures are the law's (sources in each plugins/locale_*/vat.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from comptoir.tax.tables import UnknownTaxClass, VatTable, VatTableError
from plugins.locale_ch.vat import TABLE as CH
from plugins.locale_cz.vat import TABLE as CZ
from plugins.locale_de.vat import TABLE as DE
from plugins.locale_fr.vat import TABLE as FR
from plugins.locale_gb.vat import TABLE as GB

TODAY = date(2026, 11, 22)

GOLDEN = [
    # France, CGI art. 278 ff.
    (FR, "standard", TODAY, "20"), (FR, "intermediate", TODAY, "10"),
    (FR, "reduced", TODAY, "5.5"), (FR, "super_reduced", TODAY, "2.1"),
    (FR, "standard", date(2013, 12, 31), "19.6"), (FR, "intermediate", date(2013, 6, 1), "7"),
    # Germany, UStG § 12, and the cut of the second half of 2020.
    (DE, "standard", TODAY, "19"), (DE, "reduced", TODAY, "7"),
    (DE, "standard", date(2020, 6, 30), "19"), (DE, "standard", date(2020, 7, 1), "16"),
    (DE, "reduced", date(2020, 12, 31), "5"), (DE, "standard", date(2021, 1, 1), "19"),
    # Switzerland, MWSTG art. 25, raised on 1 January 2024.
    (CH, "standard", TODAY, "8.1"), (CH, "reduced", TODAY, "2.6"),
    (CH, "accommodation", TODAY, "3.8"), (CH, "standard", date(2023, 12, 31), "7.7"),
    (CH, "reduced", date(2023, 12, 31), "2.5"), (CH, "accommodation", date(2024, 1, 1), "3.8"),
    # United Kingdom, VAT Act 1994.
    (GB, "standard", TODAY, "20"), (GB, "reduced", TODAY, "5"), (GB, "zero", TODAY, "0"),
    (GB, "standard", date(2011, 1, 3), "17.5"), (GB, "standard", date(2011, 1, 4), "20"),
    # Czech Republic, ZDPH § 47, consolidated in 2024.
    (CZ, "standard", TODAY, "21"), (CZ, "reduced", TODAY, "12"),
    (CZ, "reduced", date(2023, 12, 31), "15"), (CZ, "super_reduced", date(2023, 12, 31), "10"),
]


@pytest.mark.parametrize(("table", "tax_class", "on_date", "expected"), GOLDEN,
                         ids=lambda v: getattr(v, "country", str(v)))
def test_every_rate_of_every_office_on_its_dates(table, tax_class, on_date, expected):
    assert table.rate(tax_class, on_date) == Decimal(expected)


def test_an_abolished_rate_is_not_guessed_after_its_end():
    with pytest.raises(UnknownTaxClass, match="super_reduced.*CZ.*2024-01-01"):
        CZ.rate("super_reduced", date(2024, 1, 1))


def test_a_class_the_country_does_not_have_is_refused():
    with pytest.raises(UnknownTaxClass, match="intermediate"):
        DE.rate("intermediate", TODAY)


def test_switzerland_and_the_uk_are_outside_the_eu_vat_area():
    assert (FR.eu, DE.eu, CZ.eu, CH.eu, GB.eu) == (True, True, True, False, False)
    assert (FR.rounding, GB.rounding) == ("invoice", "line")


def table(*rates, **kwargs):
    return VatTable("FR", kwargs.pop("rounding", "invoice"), list(rates), **kwargs)


@pytest.mark.parametrize(("rate", "field", "problem"), [
    ({"tax_class": "standard", "rate": "20"}, "rates[0].valid_from", "date it comes into force"),
    ({"tax_class": "luxury", "rate": "33", "valid_from": "2020-01-01"}, "rates[0].tax_class",
     "unknown tax class 'luxury'"),
    ({"tax_class": "standard", "rate": 20.0, "valid_from": "2020-01-01"}, "rates[0].rate",
     "never a float"),
    ({"tax_class": "standard", "rate": "120", "valid_from": "2020-01-01"}, "rates[0].rate",
     "percentage"),
    ({"tax_class": "standard", "rate": "20", "valid_from": "1er janvier"},
     "rates[0].valid_from", "not a date"),
    ({"tax_class": "standard", "rate": "20", "valid_from": "2020-01-01",
      "valid_until": "2019-01-01"}, "rates[0].valid_until", "ends before it starts"),
])
def test_a_wrong_rate_is_refused_with_the_field_named(rate, field, problem):
    with pytest.raises(VatTableError) as refused:
        table(rate)
    assert refused.value.field == field and problem in refused.value.problem


def test_two_rates_of_a_class_cannot_start_the_same_day():
    same_day = {"tax_class": "standard", "valid_from": "2020-01-01"}
    with pytest.raises(VatTableError, match="two 'standard' rates"):
        table({**same_day, "rate": "20"}, {**same_day, "rate": "21"})


def test_an_unknown_rounding_method_is_refused():
    with pytest.raises(VatTableError, match="rounding"):
        table({"tax_class": "standard", "rate": "20", "valid_from": "2020-01-01"},
              rounding="banker")


def test_a_scheduled_change_applies_from_its_date_and_not_before():
    amended = FR.amended([{"tax_class": "standard", "rate": "21", "valid_from": "2027-01-01"}])
    assert amended.rate("standard", date(2026, 12, 31)) == Decimal("20")
    assert amended.rate("standard", date(2027, 1, 1)) == Decimal("21")
    assert FR.rate("standard", date(2027, 1, 1)) == Decimal("20")  # the original is untouched


@pytest.mark.parametrize(("change", "field"), [
    ({"tax_class": "standard", "rate": "21"}, "vat_rate_changes[0].valid_from"),
    ({"tax_class": "accommodation", "rate": "3", "valid_from": "2027-01-01"},
     "vat_rate_changes[0].tax_class"),
])
def test_a_scheduled_change_without_date_or_with_a_foreign_class_is_refused(change, field):
    with pytest.raises(VatTableError) as refused:
        FR.amended([change])
    assert refused.value.field == field
