"""Storefront overhead: Comptoir's category page against the bare floor, same data, same run.

    .venv/bin/python -m bench.storefront [--products 10000] [--seconds 10] [--concurrency 8]

A category page of 48 products on a tenant with ``--products`` products, served by gunicorn
(2 workers), driven by an asyncio client. Goal: Comptoir at least 0.8 of the floor's req/s,
the floor being the same queries and template in a bare Flask app; the raw floor (one SQL
query, a bare page) is reported beside it. See ``bench/bare_app.py``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench import data
from bench.common import gunicorn, load, report


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = data.build(Path(folder), args.products)
        common = {"COMPTOIR_DATABASE_URL": url, "COMPTOIR_SECRET_KEY": "bench",
                  "COMPTOIR_INSTANCE_PATH": str(Path(folder) / "instance"),
                  "COMPTOIR_CATALOGUE_PAGE_SIZE": "48", "COMPTOIR_LOG_LEVEL": "WARNING"}
        with gunicorn("bench.bare_app:create_app()", {**common, "BENCH_DATABASE_URL": url},
                      args.workers) as base:
            floor = load("floor: same queries, bare Flask", f"{base}/c/bench",
                         args.seconds, args.concurrency)
            raw = load("raw floor: one SQL query", f"{base}/c/bench-raw", args.seconds,
                       args.concurrency)
        with gunicorn("comptoir:create_app()", common, args.workers) as base:
            comptoir = load("Comptoir", f"{base}/s/fr/c/bench", args.seconds, args.concurrency)
    ratios = {
        "Comptoir / floor (req/s)": round(comptoir.rps / floor.rps, 3) if floor.rps else 0,
        "Comptoir / raw floor (req/s)": round(comptoir.rps / raw.rps, 3) if raw.rps else 0,
    }
    report("storefront", [floor, raw, comptoir], ratios, {"products": args.products})
    return ratios


if __name__ == "__main__":
    main()
