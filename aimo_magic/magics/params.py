"""``-p KEY=VALUE`` options: any API parameter, its value read as JSON when it is JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_LOOKS_LIKE_JSON = ("{", "[", '"')


class ParamError(ValueError):
    """A ``-p`` option that cannot be read; says how to write it."""


def parse_value(key: str, raw: str) -> Any:
    """JSON if it parses; a bare word is a string; broken JSON-looking text is an error."""
    try:
        return json.loads(raw)
    except ValueError:
        if raw.lstrip().startswith(_LOOKS_LIKE_JSON):
            raise ParamError(
                f"-p {key}=...: the value starts like JSON but does not parse; "
                f'quote the whole option, e.g. -p \'{key}={{"type": "json_object"}}\'.'
            ) from None
        return raw


def parse_params(options: Iterable[str]) -> dict[str, Any]:
    """Every ``KEY=VALUE`` into a dict; a later key wins, as on a command line."""
    params: dict[str, Any] = {}
    for option in options:
        key, sep, raw = option.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise ParamError(
                f"-p {option!r} is not KEY=VALUE; write e.g. -p top_p=0.9 or -p stop='[\"END\"]'."
            )
        params[key] = parse_value(key, raw)
    return params
