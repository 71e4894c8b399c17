"""A loopback server that replays prepared SSE answers, byte for byte, to every client.

Benchmarks that compare clients need the *same bytes* for each of them and a server
that is never the bottleneck, so this server does no work per request: each answer's
HTTP/1.1 chunked body is built once, from the emulator's own wire functions, and then
written as it is. It runs in its own process so that its CPU time never lands in the
process being measured.

An answer is chosen by writing ``[[NAME]]`` in the last user message; ``GET /v1/models``
serves the emulator's catalogue so ``%%aimo`` can check its model. A request without
``"stream": true`` gets the same answer whole, as one ``chat.completion`` body; an answer
with ``latency_s`` waits that long before either form, as a model thinking would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from aimo_magic.emulator import DEFAULT_API_KEY, provider_id
from aimo_magic.emulator.faults import FaultSpec
from aimo_magic.emulator.served_models import build_catalogue
from aimo_magic.emulator.sse import Completion, dumps, frame

MODEL = "DeepSeek-V3-1"
"""A model of the emulator's catalogue, so ``%%aimo`` finds it when it checks."""
SERVED = f"{provider_id('akash-ml')}:{MODEL}"
TICK_S = 0.005
"""A paced answer is written in slices, one every tick, of the chunks then due."""


@dataclass(frozen=True)
class Answer:
    """One prepared answer: its chunks' text and, if paced, chunks per second."""

    name: str
    tokens: list[str]
    chunks_per_second: float | None = None
    latency_s: float = 0.0

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def completion(tokens: list[str]) -> Completion:
    """The emulator's own completion object for an answer of these chunks."""
    return Completion(
        id="chatcmpl-replay",
        created=1_735_689_600,
        model=SERVED,
        tokens=tokens,
        finish_reason="stop",
        usage={
            "prompt_tokens": 12,
            "completion_tokens": len(tokens),
            "total_tokens": 12 + len(tokens),
        },
    )


def sse_events(tokens: list[str]) -> list[bytes]:
    """The SSE events of a streamed answer, one content chunk per token, OpenAI's layout.

    Built with the emulator's own ``Completion`` and ``frame`` so the bytes are what the
    emulator (and an OpenAI-compatible server) sends; the layout is OpenAI's because
    every client measured here understands it.
    """
    fault = FaultSpec()
    chunks = completion(tokens).chunks("openai", fault)
    return [frame(dumps(chunk), fault) for chunk in chunks] + [frame("[DONE]", fault)]


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


_STREAM_HEADERS = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


class _Prepared:
    """An answer's response as the bytes to write: whole, or one frame per event."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.frames = [http_chunk(event) for event in sse_events(answer.tokens)]
        self.whole = _STREAM_HEADERS + b"".join(self.frames) + b"0\r\n\r\n"
        self.message = dumps(completion(answer.tokens).message()).encode()

    def write(self, sock_write: Any) -> None:
        rate = self.answer.chunks_per_second
        if not rate:
            sock_write(self.whole)
            return
        sock_write(_STREAM_HEADERS + self.frames[0])
        start = time.monotonic()
        sent = 1
        total = len(self.frames)
        while sent < total:
            due = min(total, 1 + int((time.monotonic() - start) * rate))
            if due > sent:
                sock_write(b"".join(self.frames[sent:due]))
                sent = due
            time.sleep(TICK_S)
        sock_write(b"0\r\n\r\n")


def _handler(answers: dict[str, _Prepared], models: bytes) -> type[BaseHTTPRequestHandler]:
    default = next(iter(answers.values()))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/v1/models"):
                self._send(200, models)
            else:
                self._send(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not self.path.rstrip("/").endswith("/v1/chat/completions"):
                self._send(404, b'{"error": "not found"}')
                return
            request = json.loads(body)
            last = str(request["messages"][-1].get("content", ""))
            chosen = next((a for name, a in answers.items() if f"[[{name}]]" in last), default)
            if chosen.answer.latency_s:
                time.sleep(chosen.answer.latency_s)
            if not request.get("stream"):
                self._send(200, chosen.message)
                return
            chosen.write(self.wfile.write)
            self.wfile.flush()

    return Handler


class _Server(ThreadingHTTPServer):
    # Room for a burst of concurrent connects: the default backlog of 5 drops the others'
    # SYNs, and each dropped client then waits a second to retry.
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a pool closing at exit) is no news; others are."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(spec_path: str) -> None:
    """The server process: load the answers, listen on loopback, print the port."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    answers = {a["name"]: _Prepared(Answer(**a)) for a in spec["answers"]}
    models = json.dumps({"data": [m.to_aimo() for m in build_catalogue()]}).encode()
    server = _Server(("127.0.0.1", 0), _handler(answers, models))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


class ReplayServer:
    """The replay server in a child process; ``base_url`` is ready once constructed."""

    api_key = DEFAULT_API_KEY

    def __init__(self, *answers: Answer) -> None:
        self._spec = tempfile.NamedTemporaryFile(  # noqa: SIM115 - removed in close()
            "w", suffix=".json", delete=False, encoding="utf-8"
        )
        json.dump({"answers": [asdict(a) for a in answers]}, self._spec)
        self._spec.close()
        self._process = subprocess.Popen(
            [sys.executable, __file__, self._spec.name], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self.close()
            raise RuntimeError(f"the replay server did not start (said {line!r})")
        self.port = int(line)
        self.base_url = f"http://127.0.0.1:{self.port}/api"

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def env(self) -> dict[str, str]:
        return {"AIMO_BASE_URL": self.base_url, "AIMO_API_KEY": self.api_key, "AIMO_MODEL": MODEL}

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        Path(self._spec.name).unlink(missing_ok=True)

    def __enter__(self) -> ReplayServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


if __name__ == "__main__":
    serve(sys.argv[1])
