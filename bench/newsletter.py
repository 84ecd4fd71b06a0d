"""Newsletter send: personalised messages through the plugin vs a raw smtplib loop.

    .venv/bin/python -m bench.newsletter [--messages 2000]

Both send to the same local SMTP server, an aiosmtpd process that accepts and discards
(``aiosmtpd.handlers.Sink``), so neither shares an interpreter with it:

- **Comptoir**: a campaign of the French office to ``--messages`` subscribers, started as
  staff start it: the audience and its segment read from the database, one delivery row per
  reader, jobs of ``--batch`` messages (run in this process, as a worker would), each
  message rendered for its reader (placeholders, language, footer, unsubscribe links and
  headers) and its outcome recorded;
- **raw floor**: the same messages, rendered and flattened to bytes beforehand, sent by a
  bare ``smtplib`` loop over one connection (``sendmail``, the bytes as they are): what the
  SMTP exchange alone costs. The plugin hands smtplib bytes too (``FlatMessage``), so a
  floor sending ``EmailMessage`` objects (``send_message``, which flattens each message
  again) would charge the floor a cost the plugin no longer pays; that older floor is still
  measured and shown, for comparison with earlier results, but the ratio uses the bytes.

The ratio is the floor's time over Comptoir's (goal: at least 0.8). The floor runs before
and after Comptoir and the faster run counts, so a disturbance of the machine does not
flatter the ratio.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import RESULTS, free_port, machine


def _smtp_sink(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                probe.noop()
            return process
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"aiosmtpd did not start: {process.stderr.read()}") from exc
            time.sleep(0.1)


def _setup(folder: Path, messages: int, smtp_url: str):  # noqa: ANN202  (bench plumbing)
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from comptoir import create_app
    from comptoir.core.db import db
    from comptoir.tenants import service
    from plugins.newsletters.models import Campaign, CampaignTranslation, Subscriber

    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'news.sqlite3'}",
                      "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "bench",
                      "LOG_LEVEL": "WARNING", "JOBS_URL": "immediate",
                      "MAIL_URL": smtp_url, "MAIL_FROM": "Comptoir <news@comptoir.example>"})
    with app.app_context():
        upgrade(revision="heads")
        office = service.create_tenant(service.TenantSpec(
            slug="fr", name="Comptoir France", country="FR", locale="fr_FR", currency="EUR"))
        for plugin in ("locale_fr", "newsletters"):
            service.set_plugin_enabled(office, plugin, True)
        service.update_plugin_settings(office, "newsletters", {"batch_size": 500})
        db.session.commit()
        tenant_id = office.id
        conn = db.session.connection()
        conn.execute(insert(Subscriber), [
            {"tenant_id": tenant_id, "email": f"reader{n:06d}@lecteurs.example",
             "name": f"Lecteur {n}", "locale": "fr_FR", "status": "subscribed",
             "channels": ["email"], "themes": [], "frequency": "any", "tracking": False,
             "phone": "", "country": "FR"}
            for n in range(messages)])
        campaigns = []
        for label in ("bench", "floor"):
            result = conn.execute(insert(Campaign).returning(Campaign.id), [{
                "tenant_id": tenant_id, "name": f"Offres ({label})", "theme": "",
                "segment": "", "include_resellers": False, "status": "draft", "total": 0,
                "created_by": "bench"}])
            campaign_id = result.scalar_one()
            conn.execute(insert(CampaignTranslation), [{
                "tenant_id": tenant_id, "campaign_id": campaign_id, "locale": "fr_FR",
                "subject": "{{ first_name }}, les offres de la semaine",
                "body": "Bonjour {{ first_name }},\n\nCette semaine chez {{ shop_name }} : "
                        "les écrans 27 pouces à prix réduit, https://comptoir.example/c/ecrans"
                        "\n\nBonne semaine !"}])
            campaigns.append(campaign_id)
        db.session.commit()
    return app, tenant_id, campaigns


def _prepared(app, tenant_id: int, campaign_id: int) -> list:  # noqa: ANN001
    """The floor's messages: the campaign's messages as Comptoir renders them
    (:class:`comptoir.core.mail.FlatMessage`: the bytes, and the envelope)."""
    from comptoir.toolkit import shop_context, tenant_by_id
    from plugins.newsletters import mailing
    from plugins.newsletters.models import CampaignTranslation, Subscriber

    with app.app_context():
        tenant = tenant_by_id(tenant_id)
        with shop_context(tenant):
            from sqlalchemy import select

            from comptoir.core.db import db

            text = db.session.scalars(select(CampaignTranslation).where(
                CampaignTranslation.campaign_id == campaign_id)).one()
            readers = db.session.scalars(select(Subscriber).order_by(Subscriber.id)).all()
            content = mailing.Content(text.subject, text.body)
            return [mailing.compose_flat(tenant, mailing.Reader(
                email=r.email, locale=r.locale, tenant=tenant, name=r.name,
                subscriber_id=r.id), content, kind="marketing") for r in readers]


def _raw_loop(port: int, messages: list) -> float:
    """The floor: each message's bytes, as they are, over one connection."""
    envelopes = [(m.sender, m.recipients, m.data) for m in messages]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for sender, recipients, data in envelopes:
            client.sendmail(sender, recipients, data)
    return time.perf_counter() - started


def _send_message_loop(port: int, messages: list) -> float:
    """The floor before the plugin sent bytes: ``EmailMessage`` objects built beforehand,
    each flattened by ``send_message`` (shown for comparison with earlier results)."""
    built = [m.as_message() for m in messages]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for message in built:
            client.send_message(message)
    return time.perf_counter() - started


def _comptoir(app, tenant_id: int, campaign_id: int) -> tuple[float, dict]:  # noqa: ANN001
    from comptoir.core.db import db
    from comptoir.toolkit import as_tenant, tenant_by_id
    from plugins.newsletters import campaigns
    from plugins.newsletters.models import Campaign

    with app.app_context():
        tenant = tenant_by_id(tenant_id)
        with as_tenant(tenant):
            campaign = db.session.get(Campaign, campaign_id)
            started = time.perf_counter()
            campaigns.start(campaign, tenant)
            elapsed = time.perf_counter() - started
            db.session.expire_all()
            return elapsed, campaigns.progress(db.session.get(Campaign, campaign_id))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args(argv)
    port = free_port()
    sink = _smtp_sink(port)
    try:
        with tempfile.TemporaryDirectory() as folder:
            app, tenant_id, (campaign_id, floor_id) = _setup(
                Path(folder), args.messages, f"smtp://127.0.0.1:{port}")
            prepared = _prepared(app, tenant_id, floor_id)
            floor = [_raw_loop(port, prepared)]
            objects = [_send_message_loop(port, prepared)]
            comptoir_seconds, progress = _comptoir(app, tenant_id, campaign_id)
            floor.append(_raw_loop(port, prepared))
            objects.append(_send_message_loop(port, prepared))
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    best_floor = min(floor)
    rows = {"Comptoir campaign": comptoir_seconds, "raw smtplib loop (floor)": best_floor,
            "raw send_message loop": min(objects)}
    ratios = {"Comptoir / raw (messages/s)": round(best_floor / comptoir_seconds, 3),
              "Comptoir / raw send_message": round(min(objects) / comptoir_seconds, 3)}
    print(f"\nnewsletter — {machine()['cpus']} CPUs, Python {machine()['python']}, "
          f"{args.messages} messages")
    print(f"{'run':<30}{'seconds':>10}{'msg/s':>10}")
    for name, seconds in rows.items():
        print(f"{name:<30}{seconds:>10.2f}{args.messages / seconds:>10.1f}")
    for name, value in ratios.items():
        print(f"{name}: {value:.3f}")
    print(f"sent: {progress.get('sent')} of {progress.get('total')}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"newsletter-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({
        "bench": "newsletter", "machine": machine(), "messages": args.messages,
        "ratios": ratios, "seconds": rows, "floor_runs": floor,
        "send_message_runs": objects, "progress": progress,
    }, indent=2, default=str))
    print(f"results: {path}")
    return {**ratios, "sent": float(progress.get("sent", 0))}


if __name__ == "__main__":
    main()
