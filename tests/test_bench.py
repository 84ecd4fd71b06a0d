"""The benchmarks keep working: each runs on tiny data. No timing is asserted here."""

from __future__ import annotations

import pytest

from bench import hooks, storefront, tenant_scale
from tests.conftest import requires_postgresql


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path, monkeypatch):
    import bench.common

    monkeypatch.setattr(bench.common, "RESULTS", tmp_path)
    monkeypatch.setattr(hooks, "RESULTS", tmp_path)


def test_storefront_benchmark_runs_both_servers(tmp_path):
    ratios = storefront.main(["--products", "60", "--seconds", "1", "--concurrency", "2",
                              "--workers", "1"])
    assert ratios["Comptoir / floor (req/s)"] > 0
    assert list(tmp_path.glob("storefront-*.json"))


def test_tenant_scale_benchmark_runs(tmp_path):
    ratios = tenant_scale.main(["--tenants", "1", "30", "--products", "20", "--seconds", "1",
                                "--concurrency", "2"])
    assert all(value > 0 for value in ratios.values())


def test_hooks_benchmark_runs():
    result = hooks.main(["--requests", "5", "--products", "10"])
    assert "overhead_ms" in result and result["in_hooks_ms"] > result["dispatch_ms"] > 0


@requires_postgresql
def test_checkout_benchmark_runs_and_never_oversells():
    from bench import checkout
    from tests.conftest import PG_URL

    server = PG_URL.rsplit("/", 1)[0].replace("postgresql+psycopg", "postgresql")
    ratios = checkout.main(["--server", server,
                            "--buyers", "5", "--units", "6", "--seconds", "2",
                            "--workers", "1"])
    assert ratios["oversell (units)"] == 0


def test_newsletter_benchmark_sends_every_message(tmp_path):
    from bench import newsletter

    ratios = newsletter.main(["--messages", "30"])
    assert ratios["sent"] == 30  # each personalised message reached the SMTP server
    assert ratios["Comptoir / raw (messages/s)"] > 0
    assert list(tmp_path.glob("newsletter-*.json"))
