"""Built-in themes: each folder holds ``templates/`` and ``static/``.

A package only so that an installed wheel carries the folders; nothing here is imported
for its code. ``default`` is the last theme of every chain and must provide every template.
"""
