"""The help desk's page: customers to call back, oldest first, and what came of each call.

Same access rule as the other staff pages (:func:`comptoir.staff.views._staff_only`): a
visitor is sent to the login page, a customer gets a 403, another tenant's task is a 404.
Tasks live in the customer's shop, so a reseller's staff see (and close) the callbacks of the
reseller's own customers, including those a plugin created for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from comptoir.callbacks import service
from comptoir.callbacks.models import CallbackTask
from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.customers.models import User
from comptoir.staff.views import _staff_only

bp = Blueprint("staff_callbacks", __name__, url_prefix="/staff/callbacks")
bp.before_request(_staff_only)

#: Reasons shown in words; others (a plugin's own) are shown as they are.
REASONS = {"browse_abandonment": _l("Looked at products without buying"),
           "staff": _l("Asked by staff")}


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``moment`` was, in words of the page's language ("3 hours")."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite gives back naive values, written in UTC
        moment = moment.replace(tzinfo=UTC)
    return format_timedelta((now or datetime.now(UTC)) - moment, threshold=0.9)


def reason_label(reason: str) -> str:
    return str(REASONS[reason]) if reason in REASONS else reason


def _task(task_id: int) -> CallbackTask:
    task = service.get(task_id)
    if task is None:
        abort(404)
    return task


@bp.route("/")
def index() -> str:
    return render("staff/callbacks.html", open_tasks=service.open_tasks(),
                  closed=service.closed_tasks(), age=age, reason_label=reason_label,
                  form={})


@bp.route("/", methods=["POST"])
def create() -> Any:
    """A task by hand: a customer who phoned, a note from the counter."""
    form = request.form
    email = form.get("email", "").strip()
    user_id = None
    if email:
        user_id = db.session.scalars(select(User.id).where(
            func.lower(User.email) == email.lower())).first()
    try:
        task = service.request_callback(
            user_id=user_id, name=form.get("name", ""), email=email,
            phone=form.get("phone", ""), reason="staff", about=[],
            note=form.get("note", ""), created_by=current_user.email)
    except service.CallbackError as error:
        db.session.rollback()
        return render("staff/callbacks.html", open_tasks=service.open_tasks(),
                      closed=service.closed_tasks(), age=age, reason_label=reason_label,
                      form=form, error=str(error)), 400
    assert task is not None  # no dedupe key: always created
    flash(_("Callback added."), "success")
    return redirect(url_for("staff_callbacks.show", task_id=task.id), 303)


@bp.route("/<int(max=2147483647):task_id>")
def show(task_id: int) -> str:
    return render("staff/callback.html", task=_task(task_id), age=age,
                  reason_label=reason_label)


@bp.route("/<int(max=2147483647):task_id>/outcome", methods=["POST"])
def outcome(task_id: int) -> Any:
    task = _task(task_id)
    try:
        service.record_outcome(task, request.form.get("outcome", ""), current_user.email)
    except service.CallbackError as error:
        db.session.rollback()
        return render("staff/callback.html", task=_task(task_id), age=age,
                      reason_label=reason_label, error=str(error),
                      outcome=request.form.get("outcome", "")), 400
    flash(_("Outcome recorded."), "success")
    return redirect(url_for("staff_callbacks.index"), 303)


@bp.route("/<int(max=2147483647):task_id>/cancel", methods=["POST"])
def cancel(task_id: int) -> Any:
    task = _task(task_id)
    try:
        service.cancel(task, current_user.email, request.form.get("reason", ""))
        flash(_("Callback cancelled."), "success")
    except service.CallbackError as error:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("staff_callbacks.index"), 303)
