"""``/settings/api-clients``: a tenant admin registers and revokes the shop's API clients.

The secret is shown once, on the page answering the registration (not redirected, not kept
in the session): it is stored only as a digest. A client may also get redirect URIs (for the
authorization-code flow) and be public (no secret at all).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from comptoir.api import service
from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.shop_settings.access import actor, admins_only

bp = Blueprint("api_clients", __name__, url_prefix="/settings/api-clients")
bp.before_request(admins_only)


def _page(*, new: service.NewClient | None = None, error: str = "", name: str = "",
          chosen: list[str] | None = None, redirect_uris: str = "", public: bool = False,
          status: int = 200) -> Any:
    return render("api/clients.html", clients=service.list_clients(),
                  scopes=service.grantable_scopes(g.tenant.plugins), new=new, error=error,
                  name=name, chosen=chosen or [], redirect_uris=redirect_uris,
                  public=public), status


@bp.get("")
def index() -> Any:
    return _page()


@bp.post("")
def create() -> Any:
    name = request.form.get("name", "")
    chosen = request.form.getlist("scope")
    uris = request.form.get("redirect_uris", "")
    kind = request.form.get("client_type", "confidential")
    public = kind == "public"
    try:
        if kind not in ("confidential", "public"):
            raise service.ApiClientError(_("Choose a confidential or a public client."))
        new = service.create_client(name, chosen, created_by=actor(),
                                    redirect_uris=uris.splitlines(), public=public)
    except service.ApiClientError as exc:
        db.session.rollback()
        return _page(error=str(exc), name=name, chosen=chosen, redirect_uris=uris,
                     public=public, status=400)
    db.session.commit()
    return _page(new=new)


@bp.post("/<client_id>/revoke")
def revoke(client_id: str) -> Any:
    try:
        client = service.revoke_client(client_id)
    except service.ApiClientError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash(_("API client %(name)s revoked, with its tokens.", name=client.name))
    return redirect(url_for(".index"))
