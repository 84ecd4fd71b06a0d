"""Callback tasks: asked for by staff or by a plugin, called, and closed with what was said.

Why a small service rather than views writing rows: the same rules hold for every way a task
is made (staff's form, the newsletters plugin's browse abandonment, a support plugin later):

- a task lives in the current tenant, the customer's shop (a reseller's customer is called by
  the reseller's help desk, and the reseller sees the outcome);
- a ``dedupe_key`` makes a second request for the same thing a no-op, so a periodic job that
  runs twice, or two workers at once, create one task;
- an outcome is recorded once: the close is a conditional UPDATE (``WHERE status = 'open'``),
  so two people saving at once cannot both "close" it, and the second is told.

Bad input raises :class:`CallbackError` (a ``ValueError``) naming the field, with nothing
stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from comptoir.callbacks.models import CANCELLED, DONE, OPEN, CallbackTask
from comptoir.core.db import db

#: The longest outcome or note kept, in characters.
MAX_TEXT = 2000
#: What a task may be about at most (products looked at...).
MAX_ABOUT = 20
_PHONE = re.compile(r"[0-9 +\-.()/]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CallbackError(ValueError):
    """A task that cannot be created or closed as asked; the message names the problem."""


def _line(value: Any, size: int, field: str) -> str:
    """One line of text at most ``size`` long, or :class:`CallbackError` naming ``field``."""
    text = value.strip() if isinstance(value, str) else "" if value is None else None
    if text is None or len(text) > size or _CONTROL.search(text):
        raise CallbackError(_("%(field)s: at most %(size)s characters, on one line.",
                              field=field, size=size))
    return text


def _about(items: Any) -> list[dict[str, str]]:
    """``[{"sku": ..., "name": ...}]``, the products the customer looked at, checked."""
    if items is None:
        return []
    if not isinstance(items, list | tuple) or len(items) > MAX_ABOUT:
        raise CallbackError(_("Products: a list of at most %(n)s products.", n=MAX_ABOUT))
    found = []
    for item in items:
        if not isinstance(item, dict):
            raise CallbackError(_("Products: a list of at most %(n)s products.", n=MAX_ABOUT))
        found.append({"sku": _line(item.get("sku"), 64, "SKU"),
                      "name": _line(item.get("name"), 200, _("Name"))})
    return found


def request_callback(*, user_id: int | None, name: str, email: str, phone: str, reason: str,
                     about: list[dict[str, str]] | None, note: str = "",
                     created_by: str = "system",
                     dedupe_key: str | None = None) -> CallbackTask | None:
    """Ask the current tenant's help desk to call a customer back, and commit.

    Returns the new task, or ``None`` when a task with ``dedupe_key`` exists already (that
    request was made before: nothing is created or changed). The caller's session is
    committed with the task, as ``comptoir.toolkit.change_order_status`` does.

    :param about: what the customer looked at, ``[{"sku": ..., "name": ...}]``.
    :raises CallbackError: a field too long or malformed, no reason, or no way to reach the
        customer (neither phone nor e-mail).
    """
    values = {
        "name": _line(name, 200, _("Name")),
        "email": _line(email, 254, _("E-mail address")).lower(),
        "phone": _line(phone, 40, _("Phone")),
        "reason": _line(reason, 40, _("Reason")),
        "about": _about(about),
        "note": (note or "").strip() if isinstance(note, str) else "",
        "created_by": _line(created_by, 254, "created_by") or "system",
    }
    if not values["reason"]:
        raise CallbackError(_("Reason: say why the customer is to be called."))
    if values["email"] and not _EMAIL.fullmatch(values["email"]):
        raise CallbackError(_("E-mail address: %(email)s is not an address.",
                              email=values["email"]))
    if not _PHONE.fullmatch(values["phone"]):
        raise CallbackError(_("Phone: only digits, spaces and + - . ( ) /."))
    if not values["phone"] and not values["email"]:
        raise CallbackError(_("Give a phone number or an e-mail address to reach the "
                              "customer."))
    if len(values["note"]) > MAX_TEXT:
        raise CallbackError(_("Note: at most %(size)s characters.", size=MAX_TEXT))
    key = _line(dedupe_key, 120, "dedupe_key") or None
    if key is not None and _by_key(key) is not None:
        return None
    task = CallbackTask(user_id=user_id, dedupe_key=key, status=OPEN, **values)
    try:
        # A savepoint: losing the race for the key must not undo the caller's work.
        with db.session.begin_nested():
            db.session.add(task)
    except IntegrityError:
        return None
    db.session.commit()
    return task


def _by_key(key: str) -> CallbackTask | None:
    return db.session.scalars(select(CallbackTask).where(CallbackTask.dedupe_key == key)).first()


def get(task_id: int) -> CallbackTask | None:
    """The current tenant's task ``task_id`` (another tenant's is ``None``, as if absent)."""
    return db.session.scalars(select(CallbackTask).where(CallbackTask.id == task_id)).first()


def _close(task: CallbackTask, status: str, actor: str, outcome: str) -> None:
    """Move ``task`` from open to ``status`` once, whoever else tries at the same time."""
    now = datetime.now(UTC)
    claimed = db.session.execute(
        update(CallbackTask).where(CallbackTask.id == task.id, CallbackTask.status == OPEN)
        .values(status=status, outcome=outcome, done_by=actor[:254], done_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CallbackError(_("This callback is closed already (%(by)s).",
                              by=_status_by(task)))
    db.session.commit()
    db.session.refresh(task)


def _status_by(task: CallbackTask) -> str:
    db.session.refresh(task)
    return f"{task.status}, {task.done_by}" if task.done_by else task.status


def record_outcome(task: CallbackTask, outcome: str, actor: str) -> None:
    """Close ``task`` with what the customer said ("wanted a colour printer"), and commit.

    :raises CallbackError: no outcome, one longer than :data:`MAX_TEXT`, or a task that is
        not open any more (done or cancelled, by someone else meanwhile perhaps).
    """
    text = (outcome or "").strip() if isinstance(outcome, str) else ""
    if not text:
        raise CallbackError(_("Outcome: say what came of the call."))
    if len(text) > MAX_TEXT:
        raise CallbackError(_("Outcome: at most %(size)s characters.", size=MAX_TEXT))
    _close(task, DONE, actor, text)


def cancel(task: CallbackTask, actor: str, reason: str = "") -> None:
    """Close ``task`` without a call (the customer ordered meanwhile, a duplicate...).

    :raises CallbackError: the task is not open any more, or ``reason`` is too long.
    """
    text = (reason or "").strip() if isinstance(reason, str) else ""
    if len(text) > MAX_TEXT:
        raise CallbackError(_("Reason: at most %(size)s characters.", size=MAX_TEXT))
    _close(task, CANCELLED, actor, text)


def open_tasks() -> list[CallbackTask]:
    """The current tenant's tasks still to call, oldest first (first asked, first called)."""
    return list(db.session.scalars(select(CallbackTask).where(CallbackTask.status == OPEN)
                                   .order_by(CallbackTask.created_at, CallbackTask.id)))


def closed_tasks(limit: int = 50) -> list[CallbackTask]:
    """The current tenant's latest done or cancelled tasks, newest first."""
    return list(db.session.scalars(
        select(CallbackTask).where(CallbackTask.status != OPEN)
        .order_by(CallbackTask.done_at.desc(), CallbackTask.id.desc()).limit(limit)))
