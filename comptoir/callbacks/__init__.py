"""Calling a customer back: tasks for the help desk, with what the customer looked at and
what came of the call.

From the seed: the help desk calls back a customer who looked at a product without buying,
to learn why ("wanted a colour printer, or a faster one"). Tasks are created by staff and by
plugins (the newsletters plugin's browse-abandonment trigger) through
``comptoir.toolkit.request_callback``; they live in the customer's shop, so a reseller sees
its own customers' callbacks and their outcome.
"""
