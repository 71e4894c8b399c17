"""Real loopback servers shaped like the other OpenAI-compatible servers people point us at.

``serve_models``: the emulator's app behind a small ASGI wrapper that changes only the
model list: absent (404), failing (500), listing other models than it serves (as
LiteLLM's wildcard routes do), or a whole listing given as it is (a dict: prices in
another unit, say). Chat requests reach the emulator unchanged.

``serve_breaking_streams``: a chat server that streams one known answer and breaks the
first requests part-way, each in a way the test names (a dropped connection, an end
without a finish, a malformed chunk, a stall), as chaos proxies do.

``serve_varying_answers``: a chat server (no model list, so no prices) that answers the
same question differently each time it is asked, in a cycle the test gives, as a model
sampling at a temperature does.

``serve_scripted_calls``: a chat server whose n-th answer is the n-th step of a script:
several tool calls in one message (any names, any arguments, as a model may write them),
or text; whole or streamed, as asked.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

from aimo_magic.emulator.app import create_app, hide_expected_tracebacks
from aimo_magic.emulator.server import bind_loopback
from aimo_magic.emulator.stream import DeliberateDisconnect

Listing = str | list[str] | dict[str, Any]  # "absent", "failing", ids, or the whole body


class ModelsServer:
    """The emulator's app, with ``/v1/models`` answered as ``listing`` says."""

    def __init__(self, listing: Listing) -> None:
        self.listing = listing
        self.inner = create_app()
        self.base_url = ""
        self.model_lists = 0  # how many times the model list was asked for

    def requests(self) -> list[dict[str, Any]]:
        """Chat requests received, oldest first."""
        return self.inner.state.emulator.requests()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/v1/models"):
            await self.inner(scope, receive, send)
            return
        self.model_lists += 1
        if self.listing == "absent":
            status, body, kind = 404, b"Not Found", b"text/plain"
        elif self.listing == "failing":
            status, body, kind = 500, b'{"error": "model list unavailable"}', b"application/json"
        elif isinstance(self.listing, dict):
            status, kind = 200, b"application/json"
            body = json.dumps(self.listing).encode()
        else:
            data = [{"id": name, "object": "model", "owned_by": "proxy"} for name in self.listing]
            status, kind = 200, b"application/json"
            body = json.dumps({"object": "list", "data": data}).encode()
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@contextmanager
def serve_models(listing: Listing) -> Iterator[ModelsServer]:
    """A server on loopback whose chat is the emulator's and whose model list is ``listing``."""
    app = ModelsServer(listing)
    with _serving(app) as port:
        app.base_url = f"http://127.0.0.1:{port}/api"
        yield app


Break = Literal["drop", "truncate", "bad_json", "stall", "whole"]

ANSWER_PIECES = ("Mock", " response", " from", " gpt-4o.")
ANSWER = "".join(ANSWER_PIECES)


class BreakingStreamServer:
    """Streams ``ANSWER`` in ``ANSWER_PIECES``; chat request N breaks as ``breaks[N]`` says
    (``whole`` once they run out), after ``after`` pieces of text.

    ``drop`` closes the connection, ``truncate`` ends the body with no finish_reason and no
    ``[DONE]``, ``bad_json`` sends a chunk that is not JSON, and ``stall`` goes silent until
    ``release`` is set (the context manager sets it when the test ends).
    """

    def __init__(self, breaks: Sequence[Break], after: int) -> None:
        self.breaks = list(breaks)
        self.after = after
        self.chat_requests = 0
        self.release = threading.Event()
        self.base_url = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if not scope["path"].endswith("/v1/chat/completions"):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"Not Found"})
            return
        while (await receive()).get("more_body"):
            pass
        index, self.chat_requests = self.chat_requests, self.chat_requests + 1
        how = self.breaks[index] if index < len(self.breaks) else "whole"
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def event(data: Any) -> None:
            text = data if isinstance(data, str) else json.dumps(data)
            body = f"data: {text}\n\n".encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})

        await event(chunk({"role": "assistant", "content": ""}))
        for number, piece in enumerate(ANSWER_PIECES):
            if number == self.after and how != "whole":
                await self._break(how, event)
                await send({"type": "http.response.body", "body": b""})
                return
            await event(chunk({"content": piece}))
        await event(chunk({}, finish_reason="stop"))
        usage = {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
        await event(
            {"id": "answer", "object": "chat.completion.chunk", "choices": [], "usage": usage}
        )
        await event("[DONE]")
        await send({"type": "http.response.body", "body": b""})

    async def _break(self, how: Break, event: Any) -> None:
        if how == "drop":
            raise DeliberateDisconnect  # uvicorn closes the connection mid-body
        if how == "bad_json":
            await event('{"choices": [{"index": 0, "delta": {"content": "unterminated')
        elif how == "stall":
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return {"id": "answer", "object": "chat.completion.chunk", "model": "mock", "choices": [choice]}


@contextmanager
def serve_breaking_streams(breaks: Sequence[Break], after: int) -> Iterator[BreakingStreamServer]:
    """A chat server on loopback whose first answers break as ``breaks`` says."""
    hide_expected_tracebacks()
    app = BreakingStreamServer(breaks, after)
    with _serving(app, before_exit=app.release.set) as port:
        app.base_url = f"http://127.0.0.1:{port}/api"
        yield app


async def read_body(receive: Any) -> bytes:
    """A request's whole body, however many messages it came in."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def send_json(send: Any, data: Any) -> None:
    """A 200 answer with ``data`` as its JSON body."""
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})


class VaryingAnswersServer:
    """Answers the n-th request for a given model and prompt with ``cycle[n % len(cycle)]``,
    whole (not streamed), whatever order the requests of other prompts arrive in."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        self.asked: dict[str, int] = {}
        self.chat_requests = 0
        self.base_url = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if not scope["path"].endswith("/v1/chat/completions"):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"Not Found"})
            return
        request = json.loads(body)
        prompt = f"{request.get('model')}: {request['messages'][-1]['content']}"
        count = self.asked.get(prompt, 0)
        self.asked[prompt] = count + 1
        self.chat_requests += 1
        text = self.cycle[count % len(self.cycle)]
        usage = {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}
        choice = {"index": 0, "message": {"role": "assistant", "content": text}}
        answer = {
            "id": f"answer-{self.chat_requests}",
            "object": "chat.completion",
            "model": request.get("model", "mock"),
            "choices": [choice | {"finish_reason": "stop"}],
            "usage": usage,
        }
        await send_json(send, answer)


@contextmanager
def serve_varying_answers(cycle: Sequence[str]) -> Iterator[VaryingAnswersServer]:
    """A chat server on loopback whose answers to one question go round ``cycle``."""
    app = VaryingAnswersServer(cycle)
    with _serving(app) as port:
        app.base_url = f"http://127.0.0.1:{port}/api"
        yield app


# One step of a script: tool calls as (name, arguments as written), or the answer's text.
Step = list[tuple[str, str]] | str


class ScriptedCallsServer:
    """Answers the n-th chat request with ``steps[n]`` (the last step once they run out),
    and keeps every request body."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.bodies: list[dict[str, Any]] = []
        self.base_url = ""

    def _message(self, step: Step, number: int) -> tuple[dict[str, Any], str]:
        if isinstance(step, str):
            return {"role": "assistant", "content": step}, "stop"
        calls = [
            {
                "id": f"call_{number}_{index}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for index, (name, arguments) in enumerate(step)
        ]
        return {"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        request = json.loads(body)
        self.bodies.append(request)
        number = len(self.bodies)
        step = self.steps[min(number, len(self.steps)) - 1]
        answer, finish = self._message(step, number)
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        if not request.get("stream"):
            choice = {"index": 0, "message": answer, "finish_reason": finish}
            answer_body = {"id": f"a{number}", "object": "chat.completion", "model": "mock"}
            await send_json(send, {**answer_body, "choices": [choice], "usage": usage})
            return
        if "tool_calls" in answer:
            deltas = [
                {"tool_calls": [{"index": i, **call, "function": {**call["function"]}}]}
                for i, call in enumerate(answer["tool_calls"])
            ]
        else:
            deltas = [{"role": "assistant", "content": answer["content"]}]
        events = [chunk(delta) for delta in deltas]
        events.append({**chunk({}, finish), "usage": usage})
        frames = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": frames + b"data: [DONE]\n\n"})


@contextmanager
def serve_scripted_calls(steps: Sequence[Step]) -> Iterator[ScriptedCallsServer]:
    """A chat server on loopback that answers with the script's steps in turn."""
    app = ScriptedCallsServer(steps)
    with _serving(app) as port:
        app.base_url = f"http://127.0.0.1:{port}/api"
        yield app


class _Server(uvicorn.Server):
    """uvicorn's server, telling the test thread the moment it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@contextmanager
def _serving(app: Any, before_exit: Any = None) -> Iterator[int]:
    """Serve ``app`` with uvicorn on a free loopback port from a daemon thread."""
    sock = bind_loopback("127.0.0.1", 0)
    config = uvicorn.Config(app, http="h11", lifespan="off", log_config=None, log_level="error")
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    if not server.ready.wait(30):  # the bound only names a failure; startup sets it at once
        raise RuntimeError("the fixture server did not start")
    try:
        yield sock.getsockname()[1]
    finally:
        if before_exit is not None:
            before_exit()
        server.should_exit = True
        thread.join(10)
        sock.close()
