"""Quotes both ways: a reseller's offer its customer accepts in one click, and a customer's
request for a quote that the reseller answers."""
