"""Shared pieces of the benchmarks: data, servers, a load generator, statistics.

Every benchmark measures Comptoir *and* its baseline in the same run, on the same machine,
with the same load generator, and reports the ratio: absolute numbers depend on the machine,
ratios much less. The load comes from this process (an asyncio HTTP client) while the
servers are gunicorn processes started here, so client and servers do not share an
interpreter.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent


@dataclass
class Measure:
    name: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app: str, env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """Serve ``app`` with the project's gunicorn settings; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--workers",
         str(workers), "--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null", app],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                break
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"gunicorn did not start: {process.stderr.read()[-2000:]}") from exc
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _drive(url: str, seconds: float, concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def load(name: str, url: str, seconds: float = 10, concurrency: int = 8,
         warmup: float = 2) -> Measure:
    """Drive ``url`` for ``seconds`` with ``concurrency`` clients after a warm-up."""
    asyncio.run(_drive(url, warmup, concurrency))
    started = time.perf_counter()
    latencies, errors = asyncio.run(_drive(url, seconds, concurrency))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return Measure(name, len(latencies), errors, elapsed, round(pct(0.50), 2),
                   round(pct(0.95), 2), round(pct(0.99), 2))


def machine() -> dict[str, str]:
    return {"python": platform.python_version(), "cpus": str(os.cpu_count()),
            "platform": platform.platform(), "processor": platform.processor() or "?"}


def report(bench: str, rows: list[Measure], ratios: dict[str, float],
           extra: dict | None = None) -> Path:
    """Print a table and write the run as JSON under bench/results/."""
    print(f"\n{bench} — {machine()['cpus']} CPUs, Python {machine()['python']}")
    print(f"{'run':<34}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for row in rows:
        print(f"{row.name:<34}{row.rps:>10.1f}{row.p50_ms:>10.2f}{row.p95_ms:>10.2f}"
              f"{row.p99_ms:>10.2f}{row.errors:>8}")
    for name, value in ratios.items():
        print(f"{name}: {value:.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{bench}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({
        "bench": bench, "machine": machine(), "ratios": ratios, "extra": extra or {},
        "runs": [{**asdict(r), "rps": round(r.rps, 1)} for r in rows],
    }, indent=2))
    print(f"results: {path}")
    return path


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
