"""Comptoir's built-in plugins.

Each is registered through the ``comptoir.plugins`` entry point exactly like a third-party
plugin, and each tenant enables the ones it needs.
"""
