"""Hook overhead: time per request spent in plugin dispatch, every plugin on vs none.

    .venv/bin/python -m bench.hooks [--requests 300]

In-process (Flask's test client), the same storefront page for one tenant with every plugin
on, then none, in alternating rounds (best of five each). Two figures:

- **in hooks**, measured directly: pluggy's hook-call monitoring times every outermost hook
  call in one more every-plugin run, and a timer around each implementation splits it into
  the plugins' own work (rendering their page blocks, reading their settings) and
  **dispatch**, what calling through pluggy costs: the figure the goal is about, and one
  that does not drown in the page's own noise;
- **difference of the two page times**: the whole effect of the plugins on the page,
  including what their hooks add to it (menu items, blocks), within the machine's noise.

Goal: dispatch at most 0.5 ms per request.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

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
        host = app.extensions["comptoir.plugins"]
        every = host.names()

        def enable(names: list[str]) -> None:
            with app.app_context():
                fr = service.get_tenant("fr")
                for name in every:
                    service.set_plugin_enabled(fr, name, name in names)
                db.session.commit()
            for _ in range(20):  # warm caches after the change
                client.get("/s/fr/c/bench")

        def run() -> float:
            started = time.perf_counter()
            for _ in range(args.requests):
                client.get("/s/fr/c/bench")
            return (time.perf_counter() - started) / args.requests * 1000

        dispatch = {"seconds": 0.0, "depth": 0, "started": 0.0, "calls": 0}
        per_hook: dict[str, list[float]] = {}

        def before(hook_name: str, impls: object, kwargs: object) -> None:
            if dispatch["depth"] == 0:
                dispatch["started"] = time.perf_counter()
            dispatch["depth"] += 1
            dispatch["calls"] += 1

        def after(outcome: object, hook_name: str, impls: object, kwargs: object) -> None:
            dispatch["depth"] -= 1
            if dispatch["depth"] == 0:
                spent = time.perf_counter() - dispatch["started"]
                dispatch["seconds"] += spent
                entry = per_hook.setdefault(hook_name, [0.0, 0])
                entry[0] += spent
                entry[1] += 1

        rounds: dict[str, list[float]] = {"no plugin": [], "every plugin": []}
        for _ in range(5):  # alternating, so a disturbance of the machine hits both
            enable([])
            rounds["no plugin"].append(run())
            enable(every)
            rounds["every plugin"].append(run())
        timings = {label: min(runs) for label, runs in rounds.items()}
        # The plugins' own work, timed around each implementation: what is left of the time
        # in hooks is pluggy's dispatch itself (and the hooks' Python call overhead).
        work = {"seconds": 0.0}
        originals = []

        def timed(function: Any) -> Any:
            def wrapper(*a: Any, **k: Any) -> Any:
                started = time.perf_counter()
                try:
                    return function(*a, **k)
                finally:
                    work["seconds"] += time.perf_counter() - started
            return wrapper

        for caller in vars(host.pm.hook).values():
            for impl in getattr(caller, "get_hookimpls", list)():
                originals.append((impl, impl.function))
                impl.function = timed(impl.function)
        undo = host.pm.add_hookcall_monitoring(before, after)
        try:
            run()
        finally:
            undo()
            for impl, function in originals:
                impl.function = function
        in_dispatch = dispatch["seconds"] / args.requests * 1000
        in_plugins = work["seconds"] / args.requests * 1000
        calls = dispatch["calls"] / args.requests
    overhead = timings["every plugin"] - timings["no plugin"]
    print(f"\nhooks — {machine()['cpus']} CPUs, Python {machine()['python']}, "
          f"{len(every)} plugins")
    for label, ms in timings.items():
        print(f"{label:<16}{ms:>8.2f} ms per request")
    print(f"in hooks: {in_dispatch:.3f} ms per request ({calls:.0f} hook calls), of which "
          f"the plugins' own work {in_plugins:.3f} ms and dispatch "
          f"{in_dispatch - in_plugins:.3f} ms")
    for name, (seconds, count) in sorted(per_hook.items(), key=lambda kv: -kv[1][0])[:6]:
        print(f"  {name:<34}{seconds / args.requests * 1000:>8.3f} ms"
              f"{count / args.requests:>6.0f} calls")
    print(f"difference of the page times: {overhead:.3f} ms per request "
          f"(ratio {timings['every plugin'] / timings['no plugin']:.3f})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"hooks-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        __import__("json").dumps({"bench": "hooks", "machine": machine(), "ms": timings,
                                  "rounds": rounds, "in_hooks_ms": round(in_dispatch, 3),
                                  "plugins_work_ms": round(in_plugins, 3),
                                  "dispatch_ms": round(in_dispatch - in_plugins, 3),
                                  "hook_calls": calls,
                                  "per_hook_ms": {name: round(v[0] / args.requests * 1000, 4)
                                                  for name, v in per_hook.items()},
                                  "overhead_ms": round(overhead, 3)},
                                 indent=2))
    return {"overhead_ms": overhead, "in_hooks_ms": in_dispatch,
            "dispatch_ms": in_dispatch - in_plugins}


if __name__ == "__main__":
    main()
