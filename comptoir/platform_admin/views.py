"""``/platform/...``: the platform admin's pages; ``/staff/settings/resellers`` for offices.

Every ``/platform`` page is for the platform host only (a shop's host or ``/s/<slug>/``
answers 404, so no shop ever shows that the platform console exists) and, but for the login
page, for a logged-in platform admin only (see :mod:`.auth`). Forms re-render with the
values typed and the message beside the field on refusal, with a 400, and nothing changed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from werkzeug.datastructures import MultiDict

from comptoir.core.db import db
from comptoir.core.plugins import PluginError, plugin_host
from comptoir.core.themes import render, themes
from comptoir.platform_admin import auth, figures
from comptoir.platform_admin.models import PluginFailure
from comptoir.platform_admin.onboarding import Onboarding, OnboardingError, onboard
from comptoir.shop_settings import plugin_form
from comptoir.shop_settings.access import admins_only
from comptoir.tenants import service
from comptoir.tenants.models import KINDS, OFFICE, RESELLER, SUSPENDED, Tenant
from comptoir.tenants.resolution import directory

bp = Blueprint("platform_admin", __name__, url_prefix="/platform")
resellers_bp = Blueprint("office_resellers", __name__, url_prefix="/staff/settings/resellers")
resellers_bp.before_request(admins_only)

PAGE_SIZE = 50
PUBLIC_ENDPOINTS = frozenset({"platform_admin.login"})
LOGO_TYPES_BY_SUFFIX = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
                        ".jpeg": "image/jpeg", ".webp": "image/webp"}


@bp.before_request
def _platform_admins_only() -> Any:
    if g.get("tenant") is not None:
        abort(404)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    admin = auth.current_admin()
    if admin is None:
        if request.method == "GET":
            return redirect(url_for(".login", next=request.full_path.rstrip("?")))
        abort(401)
    g.platform_admin = admin
    return None


def _money(amount: Any, currency: str) -> str:
    return format_currency(amount, currency)


# -- log-in ---------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/platform"):
            return target
    return url_for(".dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render("platform_admin/login.html", email="", error=None)
    email = request.form.get("email", "")
    try:
        admin = auth.authenticate(email, request.form.get("password", ""))
    except auth.LoginRefused as refused:
        if refused.throttled:
            minutes = max(1, (refused.retry_after + 59) // 60)
            message = _("Too many failed attempts for this account; try again in "
                        "%(minutes)d minutes.", minutes=minutes)
            return (render("platform_admin/login.html", email=email, error=message), 429,
                    {"Retry-After": str(refused.retry_after)})
        return render("platform_admin/login.html", email=email,
                      error=_("Wrong e-mail or password.")), 401
    auth.log_in(admin)
    db.session.commit()
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    auth.log_out()
    flash(_("You are logged out."), "info")
    return redirect(url_for(".login"))


# -- dashboard ------------------------------------------------------------------------------


def _listed() -> tuple[list[Tenant], int, dict[str, Any]]:
    query = request.args.get("q", "").strip()[:100]
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    # Bounded: a huge page number would overflow the database's OFFSET.
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 100_000)
    statement = select(Tenant)
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(or_(func.lower(Tenant.slug).like(pattern),
                                        func.lower(Tenant.name).like(pattern)))
    if kind in KINDS:
        statement = statement.where(Tenant.kind == kind)
    if status == SUSPENDED:
        statement = statement.where(Tenant.status == SUSPENDED)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = db.session.scalars(
        statement.order_by(Tenant.slug).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return list(rows), total, {"q": query, "kind": kind, "status": status, "page": page}


def _figures_of(ids: list[int]) -> list[figures.TenantFigures]:
    with directory().lookups() as found:
        infos = [found.by_id(i) for i in ids]
    return figures.figures_for([i for i in infos if i is not None])


@bp.route("/")
def dashboard() -> Any:
    rows, total, args = _listed()
    meta = {t.id: {"reason": t.suspension_reason, "suspended_at": t.suspended_at} for t in rows}
    lines = _figures_of([t.id for t in rows])
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render("platform_admin/dashboard.html", lines=lines, meta=meta, total=total,
                  pages=pages, args=args, money=_money, kinds=KINDS)


# -- onboarding -----------------------------------------------------------------------------


def _plugin_choices(row: Tenant | None = None) -> list[tuple[str, str, list[Any]]]:
    host = plugin_host()
    sample = row if row is not None else Tenant(plugins=[])
    return [(name, host.description(name), plugin_form.fields(sample, name))
            for name in host.names()]


def _posted_plugin(form: MultiDict, name: str) -> MultiDict:
    prefix = f"plugin-{name}-"
    return MultiDict([(k[len(prefix):], v) for k, v in form.items(multi=True)
                      if k.startswith(prefix)])


def _logo() -> tuple[bytes | None, str | None]:
    upload = request.files.get("logo")
    if upload is None or not upload.filename:
        return None, None
    suffix = "." + upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    data = upload.read()
    return data, LOGO_TYPES_BY_SUFFIX.get(suffix) or upload.mimetype


def _domains(raw: str) -> tuple[str, ...]:
    return tuple(d for d in raw.replace(",", " ").split() if d)


def _new_page(form: MultiDict, errors: dict[str, str], status: int = 200) -> Any:
    offices = db.session.scalars(
        select(Tenant).where(Tenant.kind == OFFICE).order_by(Tenant.slug)).all()
    return render("platform_admin/tenant_new.html", form=form, errors=errors,
                  offices=offices, kinds=KINDS, themes=themes().available(),
                  plugins=_plugin_choices(), chosen=set(form.getlist("plugins"))), status


@bp.route("/tenants/new", methods=["GET"])
def new_tenant() -> Any:
    return _new_page(MultiDict({"kind": OFFICE}), {})


@bp.route("/tenants/new", methods=["POST"])
def create_tenant() -> Any:
    form = request.form
    logo, logo_type = _logo()
    kind = form.get("kind", OFFICE)
    spec = service.TenantSpec(
        slug=form.get("slug", ""), name=form.get("name", ""), kind=kind,
        parent=(form.get("parent") or None) if kind == RESELLER else None,
        country=form.get("country") or None, locale=form.get("locale") or None,
        currency=form.get("currency") or None, timezone=form.get("timezone") or None,
        theme=form.get("theme") or None, primary_color=form.get("primary_color") or None,
        accent_color=form.get("accent_color") or None,
        domains=_domains(form.get("domains", "")), logo=logo, logo_type=logo_type,
        public=not form.get("private"),
    )
    wanted = {name: _posted_plugin(form, name) for name in form.getlist("plugins")}
    asked = Onboarding(spec, wanted, form.get("admin_email"), form.get("admin_name"))
    try:
        tenant = onboard(asked, invited_by=g.platform_admin.email)
        db.session.commit()
    except OnboardingError as exc:
        db.session.rollback()
        return _new_page(form, {exc.field: exc.problem}, 400)
    flash(_("The shop %(slug)s is live.", slug=tenant.slug), "success")
    return redirect(url_for(".tenant_page", slug=tenant.slug))


# -- one tenant -----------------------------------------------------------------------------


def _tenant_or_404(slug: str) -> Tenant:
    tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug.lower())).first()
    if tenant is None:
        abort(404)
    return tenant


def _own_plugin_states(row: Tenant) -> dict[str, bool | None]:
    return {p.plugin: p.enabled for p in row.plugins}


def _tenant_page(row: Tenant, form: MultiDict | None = None,
                 errors: dict[str, str] | None = None, status: int = 200) -> Any:
    failures = db.session.scalars(
        select(PluginFailure).where(PluginFailure.tenant_id == row.id)
        .order_by(PluginFailure.last_at.desc())).all()
    data = {
        "slug": row.slug, "name": row.name, "kind": row.kind, "status": row.status,
        "reason": row.suspension_reason, "suspended_at": row.suspended_at,
        "parent": row.parent.slug if row.parent else None, "theme": row.theme or "",
        "primary_color": row.primary_color or "", "accent_color": row.accent_color or "",
        "domains": " ".join(d.domain for d in row.domains), "has_logo": row.logo is not None,
        "resellers": [c.slug for c in row.children],
    }
    states = _own_plugin_states(row)
    failures_view = [{"plugin": f.plugin, "hook": f.hook, "count": f.count,
                      "first_at": f.first_at, "last_at": f.last_at,
                      "last_message": f.last_message} for f in failures]
    lines = _figures_of([row.id])
    return render("platform_admin/tenant.html", data=data, form=form, errors=errors or {},
                  states=states, plugins=plugin_host().names(), themes=themes().available(),
                  failures=failures_view, line=lines[0] if lines else None,
                  money=_money), status


@bp.route("/tenants/<slug>", methods=["GET"])
def tenant_page(slug: str) -> Any:
    return _tenant_page(_tenant_or_404(slug))


@bp.route("/tenants/<slug>", methods=["POST"])
def edit_tenant(slug: str) -> Any:
    row = _tenant_or_404(slug)
    form = request.form
    logo, logo_type = _logo()
    try:
        service.update_tenant(
            row, name=form.get("name", ""), domains=_domains(form.get("domains", "")),
            theme=form.get("theme") or None, primary_color=form.get("primary_color") or None,
            accent_color=form.get("accent_color") or None, logo=logo, logo_type=logo_type,
            remove_logo=bool(form.get("remove_logo")))
        for name in plugin_host().names():
            choice = form.get(f"plugin-{name}", "")
            wanted = {"on": True, "off": False}.get(choice)
            if wanted != _own_plugin_states(row).get(name):
                service.set_plugin_enabled(row, name, wanted)
        db.session.commit()
    except (service.TenantError, PluginError) as exc:
        db.session.rollback()
        field = getattr(exc, "field", "plugins")
        problem = getattr(exc, "problem", str(exc))
        return _tenant_page(_tenant_or_404(slug), form, {field: problem}, 400)
    flash(_("Saved."), "success")
    return redirect(url_for(".tenant_page", slug=row.slug))


@bp.route("/tenants/<slug>/suspend", methods=["POST"])
def suspend(slug: str) -> Any:
    row = _tenant_or_404(slug)
    try:
        service.suspend_tenant(row, request.form.get("reason", ""), g.platform_admin.email)
        db.session.commit()
    except service.TenantError as exc:
        db.session.rollback()
        return _tenant_page(_tenant_or_404(slug), request.form, {exc.field: exc.problem}, 400)
    flash(_("The shop is suspended: its storefront and API answer 503."), "success")
    return redirect(url_for(".tenant_page", slug=slug))


@bp.route("/tenants/<slug>/resume", methods=["POST"])
def resume(slug: str) -> Any:
    row = _tenant_or_404(slug)
    try:
        service.resume_tenant(row, g.platform_admin.email)
        db.session.commit()
    except service.TenantError as exc:
        db.session.rollback()
        return _tenant_page(_tenant_or_404(slug), request.form, {exc.field: exc.problem}, 400)
    flash(_("The shop is open again."), "success")
    return redirect(url_for(".tenant_page", slug=slug))


@bp.route("/tenants/<slug>/errors")
def plugin_errors(slug: str) -> Any:
    row = _tenant_or_404(slug)
    failures = db.session.scalars(
        select(PluginFailure).where(PluginFailure.tenant_id == row.id)
        .order_by(PluginFailure.last_at.desc())).all()
    return render("platform_admin/errors.html", slug=row.slug, name=row.name,
                  failures=failures)


# -- an office's resellers, read-only --------------------------------------------------------


def _office_only() -> None:
    if g.tenant.is_reseller:
        abort(403)


def _resellers_of_office() -> list[int]:
    return list(db.session.scalars(
        select(Tenant.id).where(Tenant.parent_id == g.tenant.id).order_by(Tenant.slug)).all())


@resellers_bp.route("")
def resellers() -> Any:
    _office_only()
    lines = _figures_of(_resellers_of_office())
    return render("platform_admin/resellers.html", lines=lines, money=_money, one=None)


@resellers_bp.route("/<slug>")
def reseller(slug: str) -> Any:
    _office_only()
    found = db.session.scalars(select(Tenant.id).where(
        Tenant.slug == slug.lower(), Tenant.parent_id == g.tenant.id)).first()
    if found is None:
        abort(404)  # another office's reseller, or none: nothing to see here
    lines = _figures_of([found])
    return render("platform_admin/resellers.html", lines=lines, money=_money, one=lines[0])
