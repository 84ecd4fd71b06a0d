"""Single sign-on for company users: each company may log its people in through its own
OpenID Connect provider (Azure AD, Google Workspace, Keycloak...).

Why per company and not per shop: the identity provider belongs to the customer's
organisation, not to the reseller. A company admin declares the provider and the e-mail
domains it vouches for; the shop's admin approves each domain before it is used, so one
company cannot claim another's addresses. See docs/sso.md.
"""
