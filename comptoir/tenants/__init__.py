"""Tenants (offices and resellers), how a request finds its tenant, and managing them."""
