"""Tenant scale: the same category page with 10, 1,000 and 100,000 tenants in the database.

    .venv/bin/python -m bench.tenant_scale [--tenants 10 1000 100000] [--seconds 8]

Resolution must cost the same whatever the number of tenants (a cached directory, one
primary-key read per request). Goal: 100,000 tenants at most 1.1 times slower than 10.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench import data
from bench.common import gunicorn, load, report


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, nargs="+", default=[10, 1_000, 100_000])
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for count in args.tenants:
            url = data.build(Path(folder), args.products, filler_tenants=max(count - 1, 0))
            env = {"COMPTOIR_DATABASE_URL": url, "COMPTOIR_SECRET_KEY": "bench",
                   "COMPTOIR_INSTANCE_PATH": str(Path(folder) / "instance"),
                   "COMPTOIR_CATALOGUE_PAGE_SIZE": "48", "COMPTOIR_LOG_LEVEL": "WARNING"}
            with gunicorn("comptoir:create_app()", env) as base:
                rows.append(load(f"{count:,} tenants", f"{base}/s/fr/c/bench", args.seconds,
                                 args.concurrency))
    first, last = rows[0], rows[-1]
    ratios = {f"{args.tenants[-1]:,} / {args.tenants[0]:,} tenants (time per request)":
              round(first.rps / last.rps, 3) if last.rps else 0}
    report("tenant_scale", rows, ratios, {"products": args.products})
    return ratios


if __name__ == "__main__":
    main()
