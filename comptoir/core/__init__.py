"""Infrastructure shared by every feature: config, database, tenancy scoping, plugins, themes."""
