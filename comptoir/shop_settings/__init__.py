"""The shop settings page: a tenant admin sets languages, currency, VAT options, default
variants, the legal identity of its country plugin, and (for an office) what its resellers
may set for themselves."""
