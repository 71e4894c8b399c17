"""A local AiMo Network emulator: the same wire as the real router, faults on demand.

For teachers without keys, Binder sessions, offline work and this project's own tests.
It is an independent implementation of the wire described in ``shared/aimo-api.md`` and
imports nothing from ``aimo_magic.core`` (except in ``configure()``, which points this
process's clients at it).

    >>> from aimo_magic import emulator
    >>> with emulator.start() as handle:                       # doctest: +SKIP
    ...     handle.configure()                                 # sets AIMO_BASE_URL, AIMO_API_KEY

Where no socket server can run (Pyodide, JupyterLite), ``start_in_process()`` gives the
same handle without a server: the app answers through an in-process ASGI transport,
streaming included, and ``configure()`` also mounts that transport for its base URL.

Endpoints under ``handle.base_url`` (``http://127.0.0.1:PORT/api``):
``GET /v1/models`` (AiMo shape, or ``?shape=openai``; no key needed),
``POST /v1/chat/completions`` (streamed or not; any ``aimo-sk-`` key; ``BROKE_KEY``
gets 402, ``EXPIRED_KEY`` a plain-text 401), and for tests ``/_emulator/faults``
(POST ``{"faults": [SPEC, ...]}`` queues one fault per chat request, GET lists, DELETE
clears), ``/_emulator/requests`` (what the chat endpoint received, keys redacted, with
``received`` and ``answered`` times), ``/_emulator/providers`` (per provider: in flight
now and at most, answered, refused) and ``/_emulator/gate`` (POST ``{"after": N}`` or
``{"until": N}`` holds chat answers, DELETE releases them, GET counts the held ones; the
handle's ``hold()``, ``release()``, ``held`` and ``abandoned`` do the same in Python, so
tests wait for events instead of sleeping: see ``aimo_magic.emulator.gate``).

Providers can behave as themselves (``start(providers=[...], serve=[...])``, or
``--provider``/``--serve`` on the command line, ``handle.set_provider(...)`` while it runs,
``::provider NAME SPEC`` for one request): their own latency, pace, prices, a fault on
every answer or on a fixed fraction of them (``failure_rate``), and a limit of requests in
flight beyond which they answer 429 with ``Retry-After``; a routing name then goes to the
cheapest provider with room (``aimo_magic.emulator.providers``).

Answers are chosen by directives in the last user message (``DIRECTIVES``):

- no directive: an answer that fits the question (``questions``): a number for simple
  arithmetic, one of the options a prompt or a schema's ``enum`` names, a word, a few
  sentences, a haiku or a code example when asked for, a short answer when ``max_tokens``
  is small; for open questions rich markdown (headings, lists, a table,
  python/javascript/sql/bash code, inline and display math), one of three templates
  picked by a hash of the prompt;
- ``::echo``: a JSON object describing the request; ``::hostile``: markdown full of
  hostile HTML; ``::code LANG``: a sentence and one code block; ``::long N``: about N KiB
  of markdown; ``::words N``: exactly N words;
- ``::pace R`` and ``::latency MS`` set the pace of this answer (also the headers
  ``X-Emulator-Tokens-Per-Second`` and ``X-Emulator-Latency-Ms``);
- ``::fault SPEC`` applies a fault (also the header ``X-Emulator-Fault: SPEC``); the specs
  are listed in ``aimo_magic.emulator.faults``.

Image parts (``image_url`` with a data URL) are decoded and measured: models listed with
``image`` in ``input_modalities`` accept them, ``::echo`` reports their number, MIME types
and pixel sizes, and the default answer mentions them; a text-only model answers 400, as
does image data that does not decode (``emulator/received_images.py``).

A ``response_format`` of ``json_object`` or ``json_schema`` always gets valid JSON; ``tools``
get a tool call (``finish_reason: "tool_calls"``, arguments valid against the tool's schema)
by the rule in ``aimo_magic.emulator.tools``; ``max_tokens`` cuts the answer with
``finish_reason: "length"``. Streams carry one token per chunk and end the AiMo way
(``finish_reason`` and ``usage`` at the top level of the last chunk) unless
``stream_options.include_usage`` asks for OpenAI's layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aimo_magic.emulator.directives import DIRECTIVES
from aimo_magic.emulator.faults import FaultSpec, FaultSpecError, parse_fault_spec
from aimo_magic.emulator.providers import (
    ProviderChoice,
    ProviderProfile,
    ProviderSpecError,
    ServeChoice,
    ServedModel,
)
from aimo_magic.emulator.served_models import DEFAULT_MODEL_NAMES, model_names, provider_id
from aimo_magic.emulator.server import EmulatorHandle, start

if TYPE_CHECKING:
    from aimo_magic.emulator.inprocess import InProcessEmulator
from aimo_magic.emulator.settings import (
    BROKE_KEY,
    CLI_TOKENS_PER_SECOND,
    DEFAULT_API_KEY,
    EXPIRED_KEY,
    EmulatorSettings,
    Timing,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette


def start_in_process(
    *,
    latency_ms: float = 0,
    tokens_per_second: float | None = None,
    providers: Iterable[ProviderChoice] = (),
    serve: Iterable[ServeChoice] = (),
    accuracy: float | None = None,
    timing: Timing = "uniform",
) -> InProcessEmulator:
    """The emulator with no server, reached through its transports (see ``inprocess``)."""
    from aimo_magic.emulator.inprocess import start_in_process as _start

    return _start(
        latency_ms=latency_ms,
        tokens_per_second=tokens_per_second,
        providers=providers,
        serve=serve,
        accuracy=accuracy,
        timing=timing,
    )


def create_app(settings: EmulatorSettings | None = None) -> Starlette:
    """The emulator as an ASGI app, to serve with any ASGI server (on loopback)."""
    from aimo_magic.emulator.app import create_app as _create_app

    return _create_app(settings)


__all__ = [
    "BROKE_KEY",
    "CLI_TOKENS_PER_SECOND",
    "DEFAULT_API_KEY",
    "DEFAULT_MODEL_NAMES",
    "DIRECTIVES",
    "EXPIRED_KEY",
    "EmulatorHandle",
    "EmulatorSettings",
    "FaultSpec",
    "FaultSpecError",
    "ProviderProfile",
    "ProviderSpecError",
    "ServedModel",
    "create_app",
    "model_names",
    "parse_fault_spec",
    "provider_id",
    "start",
    "start_in_process",
]
