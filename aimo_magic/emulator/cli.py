"""``aimo-magic emulator``: serve the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from aimo_magic.emulator.settings import CLI_TOKENS_PER_SECOND


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aimo-magic emulator",
        description="Serve a local AiMo Network emulator on loopback (no keys, no network).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before the first token"
    )
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=CLI_TOKENS_PER_SECOND,
        help=f"streaming pace (default {CLI_TOKENS_PER_SECOND:g}; 0 for no pacing)",
    )
    parser.add_argument(
        "--catalogue-size", type=int, default=None, help="pad the model list to N models"
    )
    parser.add_argument(
        "--models-shape",
        choices=("aimo", "openai"),
        default="aimo",
        help="default shape of GET /v1/models",
    )
    parser.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="SPEC",
        help="a provider's own behaviour, e.g. 'fast;latency_ms=100;max_in_flight=16;"
        "prompt=0.1;completion=0.4' (repeatable; see aimo_magic.emulator.providers)",
    )
    parser.add_argument(
        "--accuracy",
        type=float,
        default=None,
        help="how often every model is right on checkable questions, 0 to 1 "
        "(default: each model's own; 1: always right)",
    )
    parser.add_argument(
        "--timing",
        choices=("uniform", "varied"),
        default="uniform",
        help="varied: each model and provider starts and streams at its own share of "
        "--latency-ms and --tokens-per-second",
    )
    parser.add_argument(
        "--serve",
        action="append",
        default=[],
        metavar="MODEL=P1,P2",
        help="also serve MODEL by these providers, in this order (repeatable)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl-C; returns the process exit status."""
    args = _parser().parse_args(argv)
    import uvicorn

    from aimo_magic.emulator.app import create_app
    from aimo_magic.emulator.directives import DIRECTIVES
    from aimo_magic.emulator.providers import profiles_of, served_of
    from aimo_magic.emulator.server import bind_loopback
    from aimo_magic.emulator.settings import EmulatorSettings

    try:
        settings = EmulatorSettings(
            latency_ms=args.latency_ms,
            tokens_per_second=args.tokens_per_second or None,
            catalogue_size=args.catalogue_size,
            models_shape=args.models_shape,
            providers=profiles_of(args.provider),
            serve=served_of(args.serve),
            accuracy=args.accuracy,
            timing=args.timing,
        )
        sock = bind_loopback(args.host, args.port)
    except (ValueError, OSError) as exc:
        print(f"aimo-magic emulator: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    url_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{url_host}:{port}/api"
    pace = f"{settings.tokens_per_second:g} tokens/s" if settings.tokens_per_second else "unpaced"
    print(
        f"AiMo emulator on {base_url} ({pace}, first token after {settings.latency_ms:g} ms)\n"
        "Point a client at it with:\n\n"
        f"  export AIMO_BASE_URL={base_url}\n"
        f"  export AIMO_API_KEY={settings.api_key}\n\n"
        f"Prompt directives: {'  '.join(DIRECTIVES)}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    config = uvicorn.Config(
        create_app(settings), http="h11", lifespan="off", timeout_graceful_shutdown=1
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("AiMo emulator stopped.", flush=True)
    return 0
