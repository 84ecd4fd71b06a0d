"""A plugin whose API resources are wrong in the way ``MODE`` says, loaded with
``PLUGINS="tests.api.broken_api_plugin"``: start-up must refuse it, naming the mistake."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from comptoir.toolkit import api, hookimpl

PLUGIN_NAME = "broken_api"
#: ``undeclared`` (a route requires a scope the plugin does not declare), ``core_scope`` (it
#: declares a scope of the core's) or ``not_resources`` (it returns a bare list).
MODE = "undeclared"

things = api.blueprint("broken-things", "Things.", plugin=True)


@things.route("")
class Things(MethodView):
    @api.documented(things, "things:read")
    @things.arguments(api.NoArgs, location="query")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Things."""
        return {}


@hookimpl
def comptoir_api_resources() -> Any:
    if MODE == "undeclared":
        return api.ApiResources(blueprints=[things], scopes={"other:read": "Other"})
    if MODE == "core_scope":
        return api.ApiResources(blueprints=[things], scopes={"things:read": "Things",
                                                             "orders:read": "Orders"})
    return [things]
