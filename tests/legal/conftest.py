from tests.shop_settings.conftest import admin, offices  # noqa: F401  (shared fixtures)
