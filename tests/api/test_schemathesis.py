"""Schemathesis against the served spec: no server error, every response as documented.

It runs on a shop with realistic data (tests/api/conftest.py: products with variants,
stock, a company and its buyer, an order, a quote, a return, an approval request, an
affiliate's commission, a newsletter subscriber, and a second shop beside it),
with a valid bearer token holding every scope, derandomized and small enough for CI.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import bearer
from tests.api.plugin_data import PLUGIN_RESOURCES

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


def test_api_conforms_to_its_openapi_document(app, shops, token):
    schema = schemathesis.openapi.from_wsgi("/s/fr/api/v1/openapi.json", app)
    headers = bearer(token("fr"))
    operations = [result.ok() for result in schema.get_all_operations()]
    # List and detail of the core's 7 resources and of the plugins' (enabled on this shop).
    assert len(operations) == 2 * (7 + len(PLUGIN_RESOURCES))
    for operation in operations:
        @settings(max_examples=12, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
