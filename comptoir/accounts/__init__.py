"""Accounts and login security: password hashing and policy, throttled log-in, session
rotation and staff timeouts, password reset and e-mail verification links, invitations, and
the pages where tenant admins and company admins manage their users.

The submodules are the contract other packages code against:

- :mod:`comptoir.accounts.passwords`: ``hash_password``, ``verify_password``,
  ``password_problems``, ``PasswordRefused``;
- :mod:`comptoir.accounts.login`: ``log_in``;
- :mod:`comptoir.accounts.invitations`: ``invite_user``, ``set_password_url``.

This module imports nothing from the models, so ``comptoir.customers.models`` may import
the password functions without a cycle.
"""

from __future__ import annotations


class AccountError(ValueError):
    """Bad input to an account operation; ``field`` names what was wrong, the message says
    why (already translated when raised inside a request). Nothing was changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
