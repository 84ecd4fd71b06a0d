"""The company admin's page: the company's VAT number and address book."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.customers import service

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def _company_admin_only() -> Any:
    if g.get("tenant") is None:
        abort(404)
    if current_user.role != "company_admin" or current_user.company is None:
        abort(403)
    return None


@bp.route("/addresses", methods=["GET", "POST"])
def addresses() -> Any:
    company = current_user.company
    error = None
    if request.method == "POST":
        try:
            if request.form.get("action") == "delete":
                service.remove_address(company, int(request.form.get("id", "0") or 0))
            elif request.form.get("action") == "vat_number":
                service.set_vat_number(company, request.form.get("vat_number", ""))
            else:
                service.add_address(company, request.form.to_dict(),
                                    default=request.form.get("is_default") == "yes")
            db.session.commit()
            flash(_("Company details updated."), "success")
            return redirect(url_for("account.addresses"), 303)
        except (service.CustomerError, ValueError) as refused:
            db.session.rollback()
            error = refused
    return render("account/addresses.html", company=company,
                  book=service.addresses(company), error=error,
                  form=request.form.to_dict()), 200 if error is None else 400
