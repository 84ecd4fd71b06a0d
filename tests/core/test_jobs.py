"""Background jobs: immediate mode, the SQLite queue, errors that name the problem, the
worker, and the core's periodic stock job.

The jobs declared here write a line to a file in the running app's instance folder: what
they were given, which app context and which tenant they ran in, observable without a
database and from another process.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from comptoir.catalog import service as catalog
from comptoir.catalog.models import Variant
from comptoir.core import jobs
from comptoir.core.db import db
from comptoir.core.scoping import current_tenant_id
from comptoir.stock import service as stock

RECORD = "recorded-jobs.jsonl"


@jobs.job("tests.jobs.record")
def record(**kwargs):
    """Write what the job was given, and where it ran, to the app's instance folder."""
    line = {"kwargs": kwargs, "app": current_app.config["INSTANCE_PATH"],
            "tenant": current_tenant_id()}
    with (Path(current_app.instance_path) / RECORD).open("a") as out:
        out.write(json.dumps(line) + "\n")


@jobs.job("tests.jobs.fail")
def fail(reason):
    raise RuntimeError(reason)


def recorded(app):
    path = Path(app.instance_path) / RECORD
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def queued(app_factory):
    """An app whose jobs wait in the SQLite queue of its instance folder (the default)."""
    return app_factory(JOBS_URL="")


def test_immediate_mode_runs_the_job_at_once_in_an_app_context(app, make_tenant,
                                                                tenant_scope):
    fr = make_tenant("fr")
    with tenant_scope(fr):
        jobs.enqueue("tests.jobs.record", order_id=7, note="café")
        assert jobs.pending_count(app) == 0
    [call] = recorded(app)
    assert call["kwargs"] == {"order_id": 7, "note": "café"}
    assert call["app"] == app.config["INSTANCE_PATH"]
    # As in the worker: no tenant inherited from the code that enqueued it.
    assert call["tenant"] is None


def test_sqlite_queue_waits_for_run_pending(queued):
    assert Path(queued.instance_path, "jobs.sqlite3").exists()
    with queued.app_context():
        jobs.enqueue("tests.jobs.record", order_id=42)
    assert jobs.pending_count(queued) == 1
    assert recorded(queued) == []

    assert jobs.run_pending(queued) == 1
    assert [c["kwargs"] for c in recorded(queued)] == [{"order_id": 42}]
    assert jobs.pending_count(queued) == 0
    assert jobs.run_pending(queued) == 0


def test_sqlite_url_names_the_queue_file(app_factory, tmp_path):
    app = app_factory(JOBS_URL=f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    with app.app_context():
        jobs.enqueue("tests.jobs.record", n=1)
    assert (tmp_path / "queue.sqlite3").exists()
    assert jobs.pending_count(app) == 1


def test_redis_url_gives_a_redis_queue(app_factory):
    from huey import RedisHuey

    app = app_factory(JOBS_URL="redis://127.0.0.1:6379/3")  # no connection until used
    assert isinstance(app.extensions["jobs"], RedisHuey)



def test_the_production_redis_url_is_the_queue_when_no_jobs_url_is_set(app_factory):
    from huey import RedisHuey, SqliteHuey

    app = app_factory(JOBS_URL="", REDIS_URL="redis://127.0.0.1:6379/4")  # DESIGN.md's name
    assert isinstance(app.extensions["jobs"], RedisHuey)
    assert isinstance(app_factory(JOBS_URL="").extensions["jobs"], SqliteHuey)


def test_a_failing_job_is_logged_and_the_next_one_still_runs(queued, caplog):
    with queued.app_context():
        jobs.enqueue("tests.jobs.fail", reason="printer on fire")
        jobs.enqueue("tests.jobs.record", after="failure")
    with caplog.at_level(logging.ERROR, logger="comptoir.jobs"):
        assert jobs.run_pending(queued) == 2
    failures = [r for r in caplog.records if r.name == "comptoir.jobs"]
    assert len(failures) == 1
    assert "job tests.jobs.fail failed" in failures[0].getMessage()
    assert "printer on fire" in str(failures[0].exc_info[1])
    assert [c["kwargs"] for c in recorded(queued)] == [{"after": "failure"}]


def test_unknown_job_is_a_key_error_naming_it(queued):
    with queued.app_context(), pytest.raises(KeyError) as error:
        jobs.enqueue("tests.jobs.nope", x=1)
    assert "no job named 'tests.jobs.nope'" in str(error.value)
    assert "stock.release_expired" in str(error.value)  # the known ones are listed
    assert jobs.pending_count(queued) == 0


def test_arguments_must_be_json_able(queued, make_tenant):
    tenant = make_tenant("fr")
    with queued.app_context(), pytest.raises(TypeError, match="ids, not ORM objects"):
        jobs.enqueue("tests.jobs.record", tenant=tenant)
    assert jobs.pending_count(queued) == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("amqp://broker", "'amqp://broker' is not a job queue"),
        ("sqlite:///relative.sqlite3", "must name an absolute file"),
        ("sqlite:////no/such/folder/jobs.sqlite3", "folder '/no/such/folder' does not exist"),
    ],
)
def test_bad_jobs_url_names_the_setting(app_factory, url, message):
    with pytest.raises(ValueError, match="COMPTOIR_JOBS_URL") as error:
        app_factory(JOBS_URL=url)
    assert message in str(error.value)


def test_a_job_declared_after_the_app_was_built_is_found(queued):
    name = f"tests.late_{uuid.uuid4().hex}"
    jobs.job(name)(record)
    with queued.app_context():
        jobs.enqueue(name, late=True)
    assert jobs.run_pending(queued) == 1
    assert recorded(queued)[0]["kwargs"] == {"late": True}


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="dotted lower-case words"):
        jobs.job("Record")(record)
    with pytest.raises(ValueError, match="already taken by tests.core.test_jobs.record"):
        jobs.job("tests.jobs.record")(fail)
    with pytest.raises(ValueError, match="from 1 to 60"):
        jobs.periodic("tests.jobs.never", minutes=0)
    jobs.job("tests.jobs.record")(record)  # the same function again: fine (re-import)


def test_init_app_is_idempotent(queued):
    tasks = dict(queued.extensions["jobs.tasks"])
    jobs.init_app(queued)
    assert queued.extensions["jobs.tasks"] == tasks


def _office_with_holds(app, make_tenant, tenant_scope):
    """The office ``fr`` with 5 screens at Lyon: 4 held by an abandoned checkout (already
    past its time) and 1 by a live one."""
    fr = make_tenant("fr", name="Comptoir France")
    with tenant_scope(fr):
        catalog.create_product("SCREEN", "Écran 27", "300.00")
        stock.create_location("lyon", "Entrepôt de Lyon")
        db.session.commit()
        screen = db.session.scalars(select(Variant).where(Variant.sku == "SCREEN")).one()
        db.session.expunge(screen)
    with app.app_context():
        stock.receive(fr.id, "lyon", "SCREEN", 5)
        stock.reserve(fr.id, "abandoned-cart", [(screen, 4)], minutes=-1)
        stock.reserve(fr.id, "live-cart", [(screen, 1)], minutes=30)

    def available() -> int:
        with tenant_scope(fr):
            return stock.availability([screen.id])[screen.id]

    assert available() == 0
    return available


def test_the_periodic_stock_job_releases_expired_holds(app, queued, make_tenant,
                                                       tenant_scope):
    declared = {j.name: j for j in jobs.registered()}["stock.release_expired"]
    assert declared.minutes == 5
    huey = queued.extensions["jobs"]
    due = [[t.name for t in huey.read_periodic(datetime(2030, 1, 1, 10, minute))]
           for minute in (35, 36)]
    assert "stock.release_expired" in due[0]
    assert "stock.release_expired" not in due[1]

    available = _office_with_holds(app, make_tenant, tenant_scope)
    with queued.app_context():
        jobs.enqueue("stock.release_expired")
    assert available() == 0  # queued, not run
    assert jobs.run_pending(queued) == 1
    assert available() == 4  # the abandoned cart's units are back, the live one still holds


def test_cli_lists_runs_and_refuses(app, queued):
    listed = queued.test_cli_runner().invoke(args=["jobs", "list"])
    assert listed.exit_code == 0, listed.output
    assert any(line.split() == ["stock.release_expired", "every", "5", "min"]
               for line in listed.output.splitlines())
    assert any(line.split() == ["tests.jobs.record", "on", "demand"]
               for line in listed.output.splitlines())

    with queued.app_context():
        jobs.enqueue("tests.jobs.record", via="cli")
    ran = queued.test_cli_runner().invoke(args=["jobs", "run-pending"])
    assert (ran.exit_code, ran.output) == (0, "ran 1 job\n")

    refused = app.test_cli_runner().invoke(args=["jobs", "worker"])
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: COMPTOIR_JOBS_URL is 'immediate'")
    assert len(refused.output.splitlines()) == 1


def test_cli_runs_one_periodic_job_by_name(app, make_tenant, tenant_scope):
    available = _office_with_holds(app, make_tenant, tenant_scope)
    runner = app.test_cli_runner()
    ran = runner.invoke(args=["jobs", "run", "stock.release_expired"])
    assert ran.exit_code == 0, ran.output
    assert ran.output.startswith("stock.release_expired: {")
    assert available() == 4
    unknown = runner.invoke(args=["jobs", "run", "stock.nope"])
    assert unknown.exit_code == 1 and unknown.output.startswith("Error: no job 'stock.nope'")
    queued_only = runner.invoke(args=["jobs", "run", "tests.jobs.record"])
    assert queued_only.exit_code == 1
    assert "takes arguments" in queued_only.output


def test_the_worker_process_runs_queued_jobs(app, queued, make_tenant, tenant_scope):
    available = _office_with_holds(app, make_tenant, tenant_scope)
    with queued.app_context():
        jobs.enqueue("stock.release_expired")
    env = {**os.environ, "COMPTOIR_DATABASE_URL": queued.config["DATABASE_URL"],
           "COMPTOIR_INSTANCE_PATH": queued.instance_path,
           "COMPTOIR_SECRET_KEY": "test-secret"}
    worker = subprocess.Popen(
        # --no-periodic: the scheduler would enqueue the every-minute jobs (newsletters'
        # triggers) whenever a minute turns during the test, and they would count as pending.
        [sys.executable, "-c", "from comptoir.core.cli import main; main()", "jobs", "worker",
         "--no-periodic"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while available() != 4 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
        assert available() == 4
        assert jobs.pending_count(queued) == 0
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    assert "stock.release_expired" in output, output
