"""The interchangeable HTML sanitisers behind ``aimo_magic.rendering.sanitize``.

Each backend module exposes ``available()``, ``version()`` and ``cleaners()``; the
policy they enforce (tags, attributes, URL schemes, style properties) lives in
``aimo_magic.rendering.policy`` so every backend applies the same allowlists.
"""
