"""Background jobs: a registry of plain functions, run by Huey.

Why a registry and not Huey's own decorators: ``@huey.task()`` binds a function to one Huey
instance when its module is imported, which needs a module-level Huey configured before the
settings are read, and a module-level app to give the task a database. Comptoir builds
everything in :func:`comptoir.create_app` (tests build many apps, each with its own
database), so modules only *declare* jobs here, as plain functions under a dotted name, and
:func:`init_app` binds every declared job to the Huey instance of that app, each run inside
that app's context.

A job takes only JSON-able keyword arguments (ids, not ORM objects): it runs later, in
another process, on another session, where an ORM object would be stale or detached. It
runs in an app context with no current tenant (in the worker and, the same, in immediate
mode), and enters the tenant it is about with :func:`comptoir.core.scoping.tenant_context`.

Storage is chosen by ``COMPTOIR_JOBS_URL``: a SQLite file in the instance folder by default
(nothing to run in development; ``script/server`` starts the consumer), Redis at scale,
``immediate`` in tests (a job runs synchronously when it is enqueued).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.exceptions import HueyException

from comptoir.core.scoping import activate, deactivate

log = logging.getLogger("comptoir.jobs")

F = TypeVar("F", bound=Callable[..., Any])

QUEUE_NAME = "comptoir"
NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
# Core modules that declare jobs, imported by init_app so the worker knows them even if no
# view happened to import them. Plugins declare theirs in the modules the plugin manager loads.
CORE_JOB_MODULES = ("comptoir.stock.service", "comptoir.orders.service")


@dataclass(frozen=True)
class Job:
    """A declared job: ``fn(**kwargs)`` under ``name``; ``minutes`` set for periodic ones."""

    name: str
    fn: Callable[..., Any]
    minutes: int | None = None
    #: Runs again after a failure (a provider that did not answer), ``retry_delay``
    #: seconds apart.
    retries: int = 0
    retry_delay: int = 60

    @property
    def origin(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


class UnknownJobError(KeyError):
    """``enqueue`` was given a name no module declared."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


_registry: dict[str, Job] = {}


def _declare(name: str, fn: Callable[..., Any], minutes: int | None, retries: int = 0,
             retry_delay: int = 60) -> None:
    if not NAME.fullmatch(name):
        raise ValueError(f"job name '{name}' must be dotted lower-case words, e.g. "
                         "'stock.release_expired' (owning package first)")
    new = Job(name, fn, minutes, retries, retry_delay)
    old = _registry.get(name)
    if old is not None and old.origin != new.origin:
        # Two functions under one name: the queue could not tell which one a message means.
        raise ValueError(f"job name '{name}' is already taken by {old.origin}")
    _registry[name] = new  # the same function again (a module re-imported): keep the newest


def job(name: str, retries: int = 0, retry_delay: int = 60) -> Callable[[F], F]:
    """Declare ``fn(**kwargs)`` as the job ``name``; the function is returned unchanged, so
    it can still be called directly (a CLI command, a test).

    :param name: dotted, owning package first (``"approvals.remind"``); it is what the queue
        stores, so renaming a job strands the messages already queued under the old name.
    :param retries: how many times the worker runs it again after it raised (a payment
        provider that did not answer), ``retry_delay`` seconds apart.
    """
    if not isinstance(retries, int) or not 0 <= retries <= 20:
        raise ValueError(f"job '{name}': retries must be a whole number from 0 to 20")

    def decorator(fn: F) -> F:
        _declare(name, fn, None, retries, retry_delay)
        return fn

    return decorator


def periodic(name: str, minutes: int) -> Callable[[F], F]:
    """Declare ``fn()`` as the job ``name``, run by the worker every ``minutes`` minutes.

    The schedule is Huey's ``crontab(minute="*/minutes")``: on the minutes of the hour that
    are multiples of ``minutes``, so pick a divisor of 60 for an even rhythm. It can also be
    enqueued by hand, like any job.
    """
    if not isinstance(minutes, int) or not 1 <= minutes <= 60:
        raise ValueError(f"job '{name}': minutes must be a whole number from 1 to 60, "
                         f"got {minutes!r}")

    def decorator(fn: F) -> F:
        _declare(name, fn, minutes)
        return fn

    return decorator


def registered() -> list[Job]:
    """Every declared job, by name (``comptoir jobs list``)."""
    return [_registry[name] for name in sorted(_registry)]


def build_huey(url: str, instance_path: str | Path) -> Huey:
    """The Huey instance ``COMPTOIR_JOBS_URL`` asks for.

    Results are not kept: nobody waits for a job's return value, and a SQLite or Redis
    result store would only grow.

    :raises ValueError: naming the setting, for a value it cannot use.
    """
    url = (url or "").strip()
    if not url:
        return SqliteHuey(name=QUEUE_NAME, results=False,
                          filename=str(Path(instance_path) / "jobs.sqlite3"))
    if url == "immediate":
        return MemoryHuey(name=QUEUE_NAME, results=False, immediate=True)
    if url.startswith(("redis://", "rediss://")):
        return RedisHuey(name=QUEUE_NAME, results=False, url=url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.is_absolute() or path.name == "":
            raise ValueError(f"COMPTOIR_JOBS_URL: {url!r} must name an absolute file, e.g. "
                             "sqlite:////var/lib/comptoir/jobs.sqlite3")
        if not path.parent.is_dir():
            raise ValueError(f"COMPTOIR_JOBS_URL: folder {str(path.parent)!r} does not exist")
        return SqliteHuey(name=QUEUE_NAME, results=False, filename=str(path))
    raise ValueError(f"COMPTOIR_JOBS_URL: {url!r} is not a job queue; use redis://..., "
                     "sqlite:////absolute/path, immediate, or leave it empty for a SQLite "
                     "file in the instance folder")


def init_app(app: Flask) -> None:
    """Give ``app`` its Huey (``app.extensions["jobs"]``) and bind every declared job.

    Called at the end of ``create_app``, once plugins and blueprints have imported the
    modules that declare jobs. Safe to call again: jobs already bound are left alone.
    """
    for module in CORE_JOB_MODULES:
        import_module(module)
    if "jobs" not in app.extensions:
        # COMPTOIR_REDIS_URL is the production contract of DESIGN.md; JOBS_URL, when set,
        # says more precisely where the queue lives (or `immediate` in tests).
        url = app.config.get("JOBS_URL", "") or app.config.get("REDIS_URL", "")
        app.extensions["jobs"] = build_huey(url, app.instance_path)
        app.extensions["jobs.tasks"] = {}
    _bind_all(app)


def _huey(app: Flask) -> Huey:
    try:
        return app.extensions["jobs"]
    except KeyError:
        raise RuntimeError("jobs.init_app(app) was not called for this app") from None


def _bind_all(app: Flask) -> dict[str, TaskWrapper]:
    """Bind the declared jobs this app's Huey does not know yet (declared after init_app)."""
    huey = _huey(app)
    tasks: dict[str, TaskWrapper] = app.extensions["jobs.tasks"]
    for declared in registered():
        if declared.name not in tasks:
            tasks[declared.name] = _bind(app, huey, declared)
    return tasks


def _bind(app: Flask, huey: Huey, declared: Job) -> TaskWrapper:
    name = declared.name

    def run(**kwargs: Any) -> Any:
        # No current tenant, as in the worker, even when immediate mode runs the job inside
        # a request: a job that forgot to enter its tenant must fail in tests too.
        token = activate(None)
        try:
            with app.app_context():
                try:
                    return _registry[name].fn(**kwargs)
                except Exception:
                    log.exception("job %s failed (arguments %s)", name, kwargs)
                    raise  # Huey records the failure (signals, retries)
        finally:
            deactivate(token)

    run.__name__ = run.__qualname__ = name
    if declared.minutes is None:
        return huey.task(name=name, retries=declared.retries,
                         retry_delay=declared.retry_delay)(run)
    return huey.periodic_task(crontab(minute=f"*/{declared.minutes}"), name=name)(run)


def _task(app: Flask, name: str) -> TaskWrapper:
    tasks = app.extensions["jobs.tasks"]
    if name not in tasks:
        tasks = _bind_all(app)  # declared since init_app (a module imported later)
    if name not in tasks:
        known = ", ".join(sorted(tasks)) or "none"
        raise UnknownJobError(f"no job named '{name}' (is the module that declares it "
                              f"imported?); known jobs: {known}")
    return tasks[name]


def enqueue(name: str, **kwargs: Any) -> None:
    """Queue the job ``name`` with ``kwargs`` on the current app's queue.

    Enqueue after committing what the job will read: it runs in another process (or, in
    immediate mode, at once on a session of its own), and sees only committed data.

    :raises UnknownJobError: (a ``KeyError``) when no module declared ``name``.
    :raises TypeError: when an argument is not JSON-able (pass ids, not ORM objects).
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    task = _task(app, name)
    try:
        json.dumps(kwargs)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job '{name}': arguments must be JSON-able (ids, not ORM objects): "
                        f"{exc}") from None
    log.debug("enqueue %s %s", name, kwargs)
    task(**kwargs)


def run_pending(app: Flask) -> int:
    """Run every job waiting in ``app``'s queue now, in this process; return how many ran.

    For a cron line on a machine without a consumer, and for tests. A job that fails is
    logged and the next one still runs. Jobs delayed to a later time are put back on the
    schedule, not counted.
    """
    huey = _huey(app)
    _bind_all(app)
    ran = 0
    while True:
        try:
            task = huey.dequeue()
        except HueyException as exc:  # a job nobody declares any more: drop it, say so
            log.error("dropped a queued job: %s", exc)
            continue
        if task is None:
            return ran
        if huey.ready_to_run(task):
            ran += 1
        huey.execute(task)  # logs and swallows the job's exception


def pending_count(app: Flask) -> int:
    """How many jobs wait in ``app``'s queue (always 0 in immediate mode)."""
    return _huey(app).pending_count()


def worker(app: Flask, workers: int = 1, periodic: bool = True) -> None:
    """Run the Huey consumer for ``app`` until interrupted: queued jobs, and the periodic
    ones unless ``periodic`` is false (with several machines, one worker schedules them;
    otherwise each would run them)."""
    huey = _huey(app)
    _bind_all(app)
    huey_log = logging.getLogger("huey")
    if not huey_log.handlers:  # the consumer's own lines, in Comptoir's format
        huey_log.setLevel(app.config.get("LOG_LEVEL", "INFO").upper())
        for handler in logging.getLogger("comptoir").handlers:
            huey_log.addHandler(handler)
    huey.create_consumer(workers=workers, periodic=periodic).run()
