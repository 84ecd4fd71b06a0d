"""The one error every part of the help desk raises for bad input.

A ``ValueError`` whose message is written for the person who typed the input (it names the
field or the file), so views show it as it is, with status 400 and nothing stored.
"""

from __future__ import annotations


class TicketError(ValueError):
    """A ticket, message or file that cannot be taken as given; the message says why."""
