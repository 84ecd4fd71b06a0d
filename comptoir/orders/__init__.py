"""Carts, checkout and orders: numbered per tenant, audited, with their delivery dates."""
