"""Themes: templates and static files looked up tenant theme -> office theme -> default.

Jinja caches compiled templates per environment, by name. A loader that peeked at the current
tenant would hand one tenant's cached template to the next, and a fresh environment per
request would recompile everything. So there is one overlay environment per theme *chain*
(``("acme", "bureau", "default")``), memoized, each with its own cache; templates are rendered
through Flask's ``render_template`` so context processors and signals still apply. The memo is
dropped whenever tenants change (a theme may have been switched).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g, render_template, send_from_directory
from jinja2 import ChoiceLoader, Environment, FileSystemLoader

import themes as builtin_themes

log = logging.getLogger("comptoir.themes")

DEFAULT_CHAIN: tuple[str, ...] = ("default",)
#: Names the core and Flask put in every template; a plugin's variables cannot replace them.
CORE_TEMPLATE_NAMES = frozenset({
    "tenant", "blocks", "menu_items", "legal_mentions", "platform_name", "config", "request",
    "session", "g", "url_for", "get_flashed_messages", "current_user", "csrf_token", "_",
    "gettext", "ngettext",
})
BUILTIN_THEMES = Path(builtin_themes.__file__).parent


class Themes:
    """Theme folders of one app and the memoized Jinja environment of each chain."""

    def __init__(self, app: Flask, search_paths: list[Path]) -> None:
        self.app = app
        self.search_paths = [*search_paths, BUILTIN_THEMES]
        self._environments: dict[tuple[str, ...], Environment] = {}
        self._lock = threading.Lock()

    def folder(self, theme: str) -> Path | None:
        for base in self.search_paths:
            candidate = base / theme
            if candidate.is_dir():
                return candidate
        return None

    def available(self) -> list[str]:
        names = {p.name for base in self.search_paths if base.is_dir() for p in base.iterdir()}
        return sorted(n for n in names if (self.folder(n) or Path()).joinpath("templates").is_dir())

    def environment(self, chain: tuple[str, ...]) -> Environment:
        env = self._environments.get(chain)
        if env is None:
            with self._lock:
                env = self._environments.get(chain)
                if env is None:
                    loaders = [
                        FileSystemLoader(str(folder / "templates"))
                        for folder in map(self.folder, chain)
                        if folder is not None and (folder / "templates").is_dir()
                    ]
                    loaders.append(self.app.jinja_env.loader)
                    env = self.app.jinja_env.overlay(loader=ChoiceLoader(loaders))
                    self._environments[chain] = env
        return env

    def forget(self) -> None:
        with self._lock:
            self._environments.clear()

    def static_folder(self, chain: tuple[str, ...], filename: str) -> Path | None:
        for folder in map(self.folder, chain):
            if folder is not None and (folder / "static" / filename).is_file():
                return folder / "static"
        return None


def current_chain() -> tuple[str, ...]:
    tenant = g.get("tenant")
    return tenant.theme_chain if tenant is not None else DEFAULT_CHAIN


def themes() -> Themes:
    return current_app.extensions["comptoir.themes"]


def render(template_name: str, **context: Any) -> str:
    """Render ``template_name`` from the current tenant's theme chain."""
    tenant = g.get("tenant")
    if tenant is not None:
        from comptoir.core.plugins import hooks

        extra: dict[str, Any] = {}
        relay = hooks(tenant)
        for found in relay.comptoir_template_vars(tenant=tenant, template_name=template_name):
            if isinstance(found, dict):
                extra.update(found)
        taken = CORE_TEMPLATE_NAMES.intersection(extra)
        if taken:
            log.warning("plugins may not replace core template variables %s", sorted(taken))
        context = {**{k: v for k, v in extra.items() if k not in taken}, **context}
    env = themes().environment(current_chain())
    return render_template(env.get_template(template_name), **context)


def theme_static(filename: str) -> Any:
    folder = themes().static_folder(current_chain(), filename)
    if folder is None:
        abort(404)
    return send_from_directory(folder, filename, max_age=3600)


def init_app(app: Flask) -> None:
    extra = [Path(p) for p in app.config["THEME_PATHS"].split(":") if p]
    instance_themes = Path(app.instance_path) / "themes"
    app.extensions["comptoir.themes"] = Themes(app, [*extra, instance_themes])
    app.add_url_rule("/theme/<path:filename>", "theme_static", theme_static)
