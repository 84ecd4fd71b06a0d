"""Hook overhead: time per request spent in plugin dispatch, every plugin on vs none.

    .venv/bin/python -m bench.hooks [--requests 300]

In-process (Flask's test client), the same storefront page for two tenants that differ only
in their enabled plugins; the difference per request is what dispatching to the plugins
costs. Goal: at most 0.5 ms per request.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench import data
from bench.common import RESULTS, machine


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--products", type=int, default=200)
    args = parser.parse_args(argv)
    from comptoir import create_app
    from comptoir.core.db import db
    from comptoir.tenants import service

    with tempfile.TemporaryDirectory() as folder:
        url = data.build(Path(folder), args.products)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
                          "INSTANCE_PATH": str(Path(folder) / "instance"),
                          "CATALOGUE_PAGE_SIZE": 48})
        client = app.test_client()
        timings = {}
        for label, plugins in (("no plugin", ()), ("every plugin", None)):
            with app.app_context():
                fr = service.get_tenant("fr")
                names = app.extensions["comptoir.plugins"].names() if plugins is None else []
                for name in app.extensions["comptoir.plugins"].names():
                    service.set_plugin_enabled(fr, name, name in names)
                db.session.commit()
            for _ in range(20):
                client.get("/s/fr/c/bench")
            best = []
            for _ in range(3):  # best of three runs: the least disturbed by the machine
                started = time.perf_counter()
                for _ in range(args.requests):
                    client.get("/s/fr/c/bench")
                best.append((time.perf_counter() - started) / args.requests * 1000)
            timings[label] = min(best)
    overhead = timings["every plugin"] - timings["no plugin"]
    print(f"\nhooks — {machine()['cpus']} CPUs, Python {machine()['python']}")
    for label, ms in timings.items():
        print(f"{label:<16}{ms:>8.2f} ms per request")
    print(f"plugin dispatch: {overhead:.3f} ms per request "
          f"(ratio {timings['every plugin'] / timings['no plugin']:.3f})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"hooks-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        __import__("json").dumps({"bench": "hooks", "machine": machine(), "ms": timings,
                                  "overhead_ms": round(overhead, 3)}, indent=2))
    return {"overhead_ms": overhead}


if __name__ == "__main__":
    main()
