"""Pages of the platform itself, outside any tenant: the home page and the health check."""
