"""The application factory: every piece is bound to the app here, never at import time."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_wtf import CSRFProtect
from markupsafe import Markup, escape
from sqlalchemy import event
from werkzeug.exceptions import HTTPException, NotFound

from comptoir.core import config as settings
from comptoir.core import i18n, jobs, logging, themes
from comptoir.core.db import db, migrate
from comptoir.core.plugins import PluginError, PluginHost, hooks
from comptoir.core.sessions import ShopSessionInterface
from comptoir.tenants import resolution

csrf = CSRFProtect()

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _secret_key(instance: Path) -> str:
    """A key kept in the instance folder, so development sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _configure(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    app.config.update(settings.from_environment())
    if overrides:
        app.config.update(overrides)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(instance)
    url = app.config["DATABASE_URL"] or f"sqlite:///{instance / 'comptoir.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.normalise_database_url(url)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})


@migrate.configure
def _version_locations(alembic_config: Any) -> Any:
    """The core's revisions plus each installed plugin's branch (see the hookspec)."""
    from flask import current_app

    host: PluginHost = current_app.extensions["comptoir.plugins"]
    folders = [str(MIGRATIONS / "versions")]
    folders += [f for f in host.every_hook.comptoir_migrations_dir() if f]
    alembic_config.set_main_option("version_locations", os.pathsep.join(folders))
    return alembic_config


def _sqlite_foreign_keys(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # Readers never block the writer (the stock desk writes beside a request).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()


def _app_wide_hooks(app: Flask) -> dict[str, int]:
    """How many app-wide request hooks, processors and handlers the app has."""
    registries = {
        "before_request": app.before_request_funcs,
        "after_request": app.after_request_funcs,
        "teardown_request": app.teardown_request_funcs,
        "context_processor": app.template_context_processors,
        "url_value_preprocessor": app.url_value_preprocessors,
        "url_defaults": app.url_default_functions,
        "errorhandler": app.error_handler_spec,
    }
    return {name: len(registry.get(None, ())) for name, registry in registries.items()}


def _load_plugins(app: Flask) -> PluginHost:
    host = PluginHost()
    from comptoir.orders import default_hooks

    host.register_core("comptoir.orders", default_hooks)
    extra = [p.strip() for p in app.config["PLUGINS"].split(",") if p.strip()]
    host.load(use_entry_points=not app.config["DISABLE_ENTRY_POINTS"], extra_modules=extra)
    app.extensions["comptoir.plugins"] = host
    for plugin in host.names():
        for blueprints in host.only(plugin).comptoir_blueprints():
            for blueprint in blueprints or ():
                before = _app_wide_hooks(app)
                app.register_blueprint(blueprint)
                added = [k for k, n in _app_wide_hooks(app).items() if n != before[k]]
                if added:
                    # They would run for every tenant, including those that turned it off.
                    raise PluginError(
                        f"plugin '{plugin}': blueprint '{blueprint.name}' registers app-wide "
                        f"{', '.join(added)}; use the blueprint's own (non-app) versions or "
                        "a Comptoir hook"
                    )
                host.blueprint_owner[blueprint.name] = plugin
    return host


def _gate_plugin_routes(host: PluginHost) -> Any:
    def gate() -> None:
        # request.blueprints lists nested blueprints innermost first; the last is the one
        # the plugin registered.
        top = request.blueprints[-1] if request.blueprints else ""
        owner = host.blueprint_owner.get(top)
        if owner is None:
            return
        tenant = g.get("tenant")
        if tenant is None or owner not in tenant.plugins:
            raise NotFound()

    return gate


def _template_helpers() -> dict[str, Any]:
    tenant = g.get("tenant")

    def blocks(slot: str, **context: Any) -> Markup:
        # ``blocks("order", order=order)``: the page's objects reach the plugins as one
        # ``context`` dict, so implementations written before it existed still match.
        if tenant is None:
            return Markup("")
        parts = hooks(tenant).comptoir_page_blocks(tenant=tenant, slot=slot,
                                                   context=context)
        return Markup("").join(escape(p) for p in parts if p)

    def menu_items() -> list[dict[str, str]]:
        if tenant is None:
            return []
        return [i for items in hooks(tenant).comptoir_menu_items(tenant=tenant) if items
                for i in items]

    def legal_mentions() -> list[str]:
        if tenant is None:
            return []
        return [m for ms in hooks(tenant).comptoir_legal_mentions(tenant=tenant) if ms
                for m in ms]

    return {
        "tenant": tenant,
        "blocks": blocks,
        "menu_items": menu_items,
        "legal_mentions": legal_mentions,
    }


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a Comptoir app.

    :param config: settings that win over ``COMPTOIR_*`` environment variables and defaults
        (tests pass ``DATABASE_URL`` and ``TESTING`` here).
    """
    instance = (config or {}).get("INSTANCE_PATH") or settings.from_environment()["INSTANCE_PATH"]
    app = Flask(
        __name__, instance_path=str(Path(instance).resolve()) if instance else None,
        static_folder=None,
    )
    _configure(app, config)
    logging.init_app(app)

    db.init_app(app)
    _sqlite_foreign_keys(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))

    csrf.init_app(app)
    i18n.init_app(app)
    themes.init_app(app)
    resolution.init_app(app)
    app.session_interface = ShopSessionInterface()

    host = _load_plugins(app)
    app.before_request(_gate_plugin_routes(host))
    app.context_processor(_template_helpers)
    app.context_processor(lambda: {"platform_name": app.config["PLATFORM_NAME"]})

    import comptoir.callbacks.models  # noqa: F401  (tables the ORM and Alembic must know)
    import comptoir.legal.models  # noqa: F401
    import comptoir.quotes.models  # noqa: F401
    import comptoir.tax.models  # noqa: F401
    from comptoir.callbacks.views import bp as callbacks_bp
    from comptoir.core.language import bp as language_bp
    from comptoir.customers.auth import bp as auth_bp
    from comptoir.customers.auth import login_manager
    from comptoir.customers.views import bp as account_bp
    from comptoir.legal import views as legal_views
    from comptoir.orders.views import bp as orders_bp
    from comptoir.platform_site import views as platform_views
    from comptoir.quotes import views as quotes_views
    from comptoir.shop_settings.plugins_views import bp as shop_plugins_bp
    from comptoir.shop_settings.views import bp as shop_settings_bp
    from comptoir.staff.receivables import bp as receivables_bp
    from comptoir.staff.views import bp as staff_bp
    from comptoir.storefront import views as storefront_views
    from comptoir.tax import display as tax_display

    login_manager.init_app(app)
    from comptoir.accounts import login as account_login
    from comptoir.accounts import throttle as login_throttle
    from comptoir.accounts.views import bp as accounts_bp

    account_login.init_app(app)  # cookie flags
    login_throttle.init_app(app)  # Flask-Limiter
    app.register_blueprint(platform_views.bp)
    app.register_blueprint(storefront_views.bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(accounts_bp)
    from comptoir.accounts.users import admin_bp as users_admin_bp
    from comptoir.accounts.users import company_bp as company_users_bp

    app.register_blueprint(users_admin_bp)
    app.register_blueprint(company_users_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(receivables_bp)
    app.register_blueprint(callbacks_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(quotes_views.bp)
    app.register_blueprint(quotes_views.staff_bp)
    app.register_blueprint(language_bp)
    app.register_blueprint(shop_settings_bp)
    app.register_blueprint(shop_plugins_bp)
    app.register_blueprint(legal_views.bp)
    app.register_blueprint(legal_views.editor)
    from comptoir.sso import views as sso_views  # company SSO (also declares its tables)

    app.register_blueprint(sso_views.bp)
    app.register_blueprint(sso_views.settings_bp)
    tax_display.init_app(app)
    from comptoir import platform_admin

    platform_admin.init_app(app)
    from comptoir import api as rest_api  # REST API v1: OAuth2, resources, openapi.json

    rest_api.init_app(app, csrf)

    @app.route("/")
    def index() -> str:
        if g.get("tenant") is None:
            return platform_views.home()
        return storefront_views.home()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        db.session.rollback()  # a failed flush must not break the error page too
        if request.path.startswith("/api/"):
            from comptoir.api.errors import error_response

            return error_response(exc)
        if request.path == "/healthz":
            return {"error": exc.name, "status": exc.code}, exc.code
        return themes.render("errors/http.html", error=exc), exc.code

    from comptoir.core.cli import register_commands

    register_commands(app)

    with app.app_context():
        resolution.directory().on_change(app.extensions["comptoir.themes"].forget)

    jobs.init_app(app)  # last: plugins and blueprints have imported the modules declaring jobs
    _behind_proxies(app)
    return app


def _behind_proxies(app: Flask) -> None:
    """Trust ``COMPTOIR_PROXIES`` reverse proxies for the client's address, scheme and host.

    Without it, behind nginx every request comes from the proxy's address, so the per-address
    login throttle would count all visitors together, and links would say ``http``. Werkzeug's
    ProxyFix takes the right-most values the trusted proxies appended, never what a client
    sent itself; it wraps the whole app (outermost) so every layer sees the real request.
    """
    proxies = int(app.config.get("PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
