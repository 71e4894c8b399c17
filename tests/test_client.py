"""The client core against the emulator on loopback: models, chat, streams, retries."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator

import httpx2
import pytest

from aimo_magic import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    Client,
    IncompleteStreamError,
    InvalidRequestError,
    MissingKeyError,
    NotFoundError,
    PaymentError,
    RateLimitError,
    ServerError,
    StreamRestart,
)
from aimo_magic.core.base import RetryEvent
from aimo_magic.emulator import BROKE_KEY, EmulatorHandle

KEY = "aimo-sk-v2-test-0000-made-up-key-for-tests"
MODEL = "DeepSeek-V3-1"


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    try:
        yield emulator
    finally:
        emulator.clear_faults()


@pytest.fixture
def client(emu: EmulatorHandle) -> Iterator[Client]:
    with Client(KEY, base_url=emu.base_url, timeout=5, max_retries=2, max_retry_wait=0.2) as c:
        yield c


def chat_bodies(emu: EmulatorHandle) -> list[dict]:
    return [json.loads(r["body"]) for r in emu.requests]


def test_models_are_normalised_with_provider_ids_and_pricing(client: Client) -> None:
    models = client.models()
    assert len(models) >= 10
    multi = [m for m in models if len(m.providers) > 1]
    assert multi, "the catalogue should have models served by several providers"
    model = multi[0]
    for offer in model.providers:
        assert offer.id == f"{offer.provider_id}:{model.name}"
        assert offer.pricing is not None
    assert any(m.context_length for m in models)
    assert any("image" in m.input_modalities for m in models)
    assert any("/" in m.name for m in models) and any("/" not in m.name for m in models)


def test_openai_shaped_listing_is_understood(emu: EmulatorHandle) -> None:
    from aimo_magic.core.catalogue import parse_catalogue

    payload = httpx2.get(f"{emu.base_url}/v1/models", params={"shape": "openai"}).json()
    assert payload["object"] == "list"
    models = parse_catalogue(payload)
    assert models and all(m.name for m in models)
    assert models[0].providers == ()


def test_chat_returns_text_usage_model_and_provider(client: Client) -> None:
    client.models()
    result = client.chat("Tell me about rivers", model=MODEL)
    assert result.text
    assert result.finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.usage.completion_tokens > 0
    assert result.model.endswith(f":{MODEL}")
    assert result.provider and ":" not in result.provider
    assert result.timings.total > 0


def test_stream_yields_deltas_and_the_same_final_result(client: Client) -> None:
    expected = client.chat("Tell me about rivers", model=MODEL)
    with client.stream("Tell me about rivers", model=MODEL) as stream:
        deltas = list(stream)
    assert len(deltas) > 10
    assert "".join(deltas) == expected.text
    result = stream.result
    assert result is not None
    assert result.text == expected.text
    assert result.usage == expected.usage
    assert result.finish_reason == "stop"
    assert result.timings.first_token is not None
    assert result.timings.first_token <= result.timings.total


def test_parameters_pass_through_untouched(client: Client, emu: EmulatorHandle) -> None:
    params = {
        "temperature": 0.2,
        "max_tokens": 900,
        "top_p": 0.5,
        "stop": ["END"],
        "sort": "price",
        "seed": 7,
    }
    with client.stream("::echo", model=MODEL, **params) as stream:
        stream.until_done()
    body = chat_bodies(emu)[-1]
    for key, value in params.items():
        assert body[key] == value
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "user", "content": "::echo"}]


@pytest.mark.parametrize(
    "fault",
    [
        "keepalive",
        "nospace",
        "empty_data",
        "crlf",
        "split",
        "usage_in_choices",
        "no_ids",
        "crlf;nospace;keepalive;empty_data;split",
    ],
)
def test_stream_variants_are_decoded(client: Client, emu: EmulatorHandle, fault: str) -> None:
    expected = client.chat("Tell me about rivers", model=MODEL)
    emu.queue_faults(fault)
    with client.stream("Tell me about rivers", model=MODEL) as stream:
        text = "".join(stream)
    assert text == expected.text
    assert stream.result is not None and stream.result.usage == expected.usage
    assert stream.retries == 0


def test_usage_the_aimo_way_at_the_chunk_top_level(client: Client, emu: EmulatorHandle) -> None:
    expected = client.chat("Tell me about rivers", model=MODEL)
    with client.stream(
        "Tell me about rivers", model=MODEL, stream_options={"include_usage": False}
    ) as stream:
        stream.until_done()
    assert stream.result is not None and stream.result.usage == expected.usage


def test_unicode_line_separators_survive(client: Client, emu: EmulatorHandle) -> None:
    emu.queue_faults("unicode")
    with client.stream("Tell me about rivers", model=MODEL) as stream:
        text = "".join(stream)
    assert "\u2028" in text and "\u2029" in text
    assert stream.retries == 0


def test_stream_options_rejection_is_retried_without_and_remembered(
    client: Client, emu: EmulatorHandle
) -> None:
    emu.queue_faults("reject_stream_options")
    with client.stream("Tell me about rivers", model=MODEL) as stream:
        stream.until_done()
    assert stream.result is not None and stream.result.usage is not None
    assert client.stream_options_supported is False
    bodies = chat_bodies(emu)
    assert "stream_options" in bodies[0] and "stream_options" not in bodies[1]
    with client.stream("again", model=MODEL) as stream:
        stream.until_done()
    assert "stream_options" not in chat_bodies(emu)[-1]


@pytest.mark.parametrize(
    "fault",
    [
        "disconnect_after=5",
        "no_finish",
        "bad_json_after=5",
        "hold_after=5",  # silent after five chunks, for longer than the read timeout
    ],
)
def test_broken_streams_fail_loudly_with_partial_text(emu: EmulatorHandle, fault: str) -> None:
    if "hold_after" in fault:
        emu.hold()  # the stream waits after its fifth chunk for as long as it takes
    with (
        Client(KEY, base_url=emu.base_url, timeout=1, max_retries=0) as client,
        pytest.raises(IncompleteStreamError) as caught,
        client.stream("Tell me about rivers", model=MODEL) as stream,
    ):
        emu.queue_faults(fault)
        deltas = []
        for delta in stream:
            deltas.append(delta)
    assert caught.value.partial_text and caught.value.partial_text == "".join(deltas)
    assert "cut off" in str(caught.value) or "run the cell again" in str(caught.value)


def test_a_finished_stream_without_done_is_accepted_not_paid_for_again(
    client: Client, emu: EmulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    """finish_reason and usage arrived, then the server closed without [DONE]: one answer."""
    caplog.set_level(logging.DEBUG, logger="aimo_magic")
    expected = client.chat("Tell me about rivers", model=MODEL)
    emu.clear_requests()
    events: list[RetryEvent] = []
    emu.queue_faults("eof_no_done", "eof_no_done", "eof_no_done")
    with client.stream("Tell me about rivers", model=MODEL, on_retry=events.append) as stream:
        text = "".join(stream)
    result = stream.result
    assert events == [] and len(emu.requests) == 1, "a finished answer is not retried"
    assert result is not None and text == result.text == expected.text
    assert result.finish_reason == "stop" and result.usage == expected.usage
    assert result.notes and "[DONE]" in result.notes[0]
    assert any("accepted as complete" in r.getMessage() for r in caplog.records)


def test_a_connection_lost_after_the_finish_reason_is_not_retried(
    client: Client, emu: EmulatorHandle
) -> None:
    # Role, four words, ".", the finish_reason chunk, the usage chunk: drop before the usage.
    emu.queue_faults("disconnect_after=7", "disconnect_after=7", "disconnect_after=7")
    events: list[RetryEvent] = []
    with client.stream("::words 4", model=MODEL, on_retry=events.append) as stream:
        text = "".join(stream)
    assert events == [] and len(emu.requests) == 1
    assert stream.result is not None and stream.result.text == text and len(text.split()) == 4
    assert stream.result.finish_reason and "connection failed" in stream.result.notes[0]


def test_a_stream_without_a_finish_reason_is_still_retried(
    client: Client, emu: EmulatorHandle
) -> None:
    events: list[RetryEvent] = []
    emu.queue_faults("no_finish", "no_finish", "no_finish")
    with (
        pytest.raises(IncompleteStreamError, match="without a finish_reason"),
        client.stream(
            "Tell me about rivers", model=MODEL, on_retry=events.append, restart=True
        ) as stream,
    ):
        list(stream)
    assert len(events) == 2 and len(emu.requests) == 3


def test_a_broken_stream_is_retried_and_the_caller_told(
    client: Client, emu: EmulatorHandle
) -> None:
    expected = client.chat("Tell me about rivers", model=MODEL)
    events: list[RetryEvent] = []
    emu.queue_faults("disconnect_after=6")
    with client.stream(
        "Tell me about rivers", model=MODEL, on_retry=events.append, restart=True
    ) as stream:
        seen = list(stream)
    assert len(events) == 1
    assert events[0].attempt == 1 and events[0].partial_text
    (restart,) = [item for item in seen if isinstance(item, StreamRestart)]
    before, after = seen[: seen.index(restart)], seen[seen.index(restart) + 1 :]
    assert "".join(before) == restart.discarded_text == events[0].partial_text
    assert "".join(after) == expected.text, "after the restart, the answer from its start"
    assert stream.result is not None and stream.result.text == expected.text


def test_retries_run_out_on_a_stream_that_always_breaks(client: Client) -> None:
    events: list[RetryEvent] = []
    with (
        pytest.raises(IncompleteStreamError) as caught,
        client.stream(
            "Tell me about rivers ::fault disconnect_after=4",
            model=MODEL,
            on_retry=events.append,
            restart=True,
        ) as stream,
    ):
        for _ in stream:
            pass
    assert len(events) == 2
    assert caught.value.partial_text


def test_error_frame_after_200_is_raised(emu: EmulatorHandle) -> None:
    with Client(KEY, base_url=emu.base_url, max_retries=0) as client:
        emu.queue_faults("error_frame_after=3;status=402;message=Insufficient balance now")
        with (
            pytest.raises(PaymentError) as caught,
            client.stream("hello", model=MODEL) as stream,
        ):
            list(stream)
    assert "Insufficient balance now" in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "error", "words"),
    [
        ("status=401;message=Failed to verify secret key: Expired", AuthenticationError, "Expired"),
        ("status=403;message=Forbidden here", AuthenticationError, "Forbidden here"),
        ("status=402;message=Insufficient balance for estimated cost", PaymentError, "balance"),
        ("status=424;message=payment escrow not set up", PaymentError, "escrow"),
        ("status=429;message=Insufficient balance for this", PaymentError, "Insufficient"),
        ("status=404;type=invalid_model;message=Model not found", NotFoundError, "not found"),
        ("status=400;message=messages must not be empty", InvalidRequestError, "empty"),
        ("status=422;message=temperature out of range", InvalidRequestError, "temperature"),
        ("status=400;body=x402", InvalidRequestError, "X-PAYMENT header is required"),
        (
            "status=400;body=text;message=Failed to route request: none",
            InvalidRequestError,
            "route",
        ),
        (
            "status=400;body=aimo-string;message=plain words here",
            InvalidRequestError,
            "plain words",
        ),
    ],
)
def test_error_bodies_become_typed_errors_with_the_servers_words(
    client: Client, emu: EmulatorHandle, spec: str, error: type, words: str
) -> None:
    emu.queue_faults(spec, spec, spec)
    with pytest.raises(error) as caught:
        client.chat("hello", model=MODEL)
    message = str(caught.value)
    assert words in message
    assert f"HTTP {spec.split(';')[0].split('=')[1]}" in message
    assert caught.value.hint and caught.value.hint in message
    assert "\n" not in message
    assert len(emu.requests) == 1, "client errors are never retried"


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
def test_transient_statuses_are_retried(client: Client, emu: EmulatorHandle, status: int) -> None:
    emu.queue_faults(f"status={status};message=try later")
    result = client.chat("hello", model=MODEL)
    assert result.text
    assert len(emu.requests) == 2


def test_rate_limit_raises_once_retries_run_out(client: Client, emu: EmulatorHandle) -> None:
    emu.queue_faults(*["status=429;message=Too many requests"] * 3)
    with pytest.raises(RateLimitError):
        client.chat("hello", model=MODEL)
    assert len(emu.requests) == 3


def test_server_error_message(emu: EmulatorHandle) -> None:
    with Client(KEY, base_url=emu.base_url, max_retries=0) as client:
        emu.queue_faults("status=503;body=text;message=upstream timed out")
        with pytest.raises(ServerError, match=r"upstream timed out.*HTTP 503"):
            client.chat("hello", model=MODEL)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("retry_after_ms=150", 0.15), ("retry_after=0.1", 0.1), ("retry_after=999", 0.2)],
)
def test_retry_after_is_honoured_and_capped(
    client: Client, emu: EmulatorHandle, header: str, expected: float
) -> None:
    events: list[RetryEvent] = []
    emu.queue_faults(f"status=429;{header}")
    with client.stream("hello", model=MODEL, on_retry=events.append) as stream:
        stream.until_done()
    assert [round(e.delay, 3) for e in events] == [expected]


def test_missing_key_is_refused_before_sending(emu: EmulatorHandle, monkeypatch) -> None:
    monkeypatch.delenv("AIMO_API_KEY", raising=False)
    with (
        Client(base_url=emu.base_url) as client,
        pytest.raises(MissingKeyError, match="%aimo login"),
    ):
        client.chat("hello", model=MODEL)
    assert emu.requests == []


def test_broke_key_gets_payment_error(emu: EmulatorHandle) -> None:
    with Client(BROKE_KEY, base_url=emu.base_url) as client, pytest.raises(PaymentError) as caught:
        client.chat("hello", model=MODEL)
    assert "Insufficient balance" in str(caught.value) and "HTTP 402" in str(caught.value)


def test_unknown_model_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError, match=r"list the available models|%aimo models"):
        client.chat("hello", model="openai/gpt-404")


def test_unreachable_server_is_a_connection_error() -> None:
    with (
        socket_free_port() as port,
        Client(
            KEY, base_url=f"http://127.0.0.1:{port}/api", max_retries=1, max_retry_wait=0.05
        ) as client,
        pytest.raises(APIConnectionError, match="Could not reach"),
    ):
        client.chat("hello", model=MODEL)


def test_in_the_browser_a_failed_fetch_says_cors_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pyodide's fetch() fails the same way for a blocked cross-origin call and no network."""
    from aimo_magic.core import base

    monkeypatch.setattr(base, "IN_BROWSER", True)
    with (
        socket_free_port() as port,
        Client(KEY, base_url=f"http://127.0.0.1:{port}/api", max_retries=0) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.models()
    message = str(caught.value)
    assert message.startswith("The browser blocked or could not make the call to http://127.0")
    assert "CORS" in message and "emulator" in message and "\n" not in message


def test_silence_before_the_answer_is_a_timeout(emu: EmulatorHandle) -> None:
    with Client(KEY, base_url=emu.base_url, timeout=0.5, max_retries=0) as client:
        emu.hold()  # the answer never starts: the read timeout must end the wait
        with pytest.raises((APITimeoutError, IncompleteStreamError)):
            client.chat("hello", model=MODEL)


def test_the_key_never_leaks(emu: EmulatorHandle, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with Client(KEY, base_url=emu.base_url, max_retries=1, max_retry_wait=0.01) as client:
        seen += [repr(client), repr(client.settings), str(client.settings)]
        client.chat("hello", model=MODEL)
        for spec in (
            f"status=401;body=text;message=Failed to verify secret key {KEY}",
            f"status=400;message=bad key {KEY}",
        ):
            emu.queue_faults(spec, spec)
            try:
                with client.stream("hello", model=MODEL) as stream:
                    list(stream)
            except Exception as exc:
                seen += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    seen += [record.getMessage() for record in caplog.records]
    assert any("HTTP Request" in line for line in seen), "httpx2 logging was captured"
    for line in seen:
        assert KEY not in line
        assert KEY[8:] not in line


def test_httpx2_and_httpcore2_debug_loggers_are_redacted(
    emu: EmulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    """Filters see only their own logger's records, so each child logger needs one."""
    caplog.set_level(logging.DEBUG)
    with Client(KEY, base_url=emu.base_url) as client:
        client.chat("hello", model=MODEL)
        seen = {record.name for record in caplog.records}
        assert "httpx2" in seen and "httpcore2.http11" in seen, seen
        for name in (*seen, "httpcore2.connection", "httpcore2.http2", "httpcore2.proxy"):
            logging.getLogger(name).debug("sent Authorization: Bearer %s", KEY)
    messages = [record.getMessage() for record in caplog.records]
    assert sum("sent Authorization" in line for line in messages) >= 5
    for line in messages:
        assert KEY not in line and KEY[8:] not in line


class socket_free_port:
    """A loopback port with nothing listening on it."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        return None


def test_each_answer_carries_the_request_id_it_was_sent_with(
    client: Client, emu: EmulatorHandle
) -> None:
    result = client.chat("hello", model=MODEL)
    assert result.request_id and result.request_id == emu.requests[-1]["headers"]["x-request-id"]
    with client.stream("hello", model=MODEL) as stream:
        streamed = stream.until_done()
    assert streamed.request_id == emu.requests[-1]["headers"]["x-request-id"]
    assert streamed.request_id != result.request_id


@pytest.mark.parametrize("data", ['{"choices": []} trailing', "{not json", "[1, 2]", '"text"'])
def test_a_chunk_that_is_not_one_json_object_breaks_the_stream(data: str) -> None:
    from aimo_magic.core.protocol import ChunkAccumulator

    accumulator = ChunkAccumulator()
    assert accumulator.feed(' {"choices": [{"delta": {"content": "Hi"}}]} \n') == "Hi"
    with pytest.raises(IncompleteStreamError, match="JSON") as caught:
        accumulator.feed(data)
    assert caught.value.partial_text == "Hi"


@pytest.mark.parametrize("suffix", ["/v1", "/v1/"])
def test_a_base_url_ending_in_v1_is_not_doubled(emu: EmulatorHandle, suffix: str) -> None:
    """OpenAI-style base URLs (``.../v1``) work as well as AiMo's (``.../api``)."""
    with Client(KEY, base_url=emu.base_url + suffix, max_retries=0) as client:
        assert client.models()
        assert client.chat("hello", model=MODEL).text
        with client.stream("hello", model=MODEL) as stream:
            assert stream.until_done().text
    paths = {entry["path"] for entry in emu.requests}
    assert paths == {"/api/v1/chat/completions"}, paths


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        ("http://host/v1", "http://host/v1"),
        ("http://host:4000/v1/", "http://host:4000/v1"),
        ("https://devnet.aimo.network/api", "https://devnet.aimo.network/api/v1"),
        ("http://host/api/v1", "http://host/api/v1"),
    ],
)
def test_both_base_url_forms_reach_the_same_paths(base_url: str, root: str) -> None:
    with Client(KEY, base_url=base_url) as client:
        assert client._url("chat/completions") == f"{root}/chat/completions"
        assert client.base_url == base_url.rstrip("/")


@pytest.mark.parametrize(
    ("base_url", "server"),
    [
        ("https://devnet.aimo.network/api", "AiMo"),
        ("https://aimo.network/api", "AiMo"),
        ("https://api.aimo.network/v1", "AiMo"),
        ("https://notaimo.network/api", "notaimo.network"),
        ("https://aimo.network.example.com/api", "aimo.network.example.com"),
        ("http://localhost:4000/v1", "localhost:4000"),
        ("http://user:secret@proxy.example:8080/v1", "proxy.example:8080"),
        ("http://[::1]:9000/v1", "[::1]:9000"),
    ],
)
def test_error_lines_name_the_server_unless_it_is_aimo(base_url: str, server: str) -> None:
    with Client(KEY, base_url=base_url) as client:
        assert client.server == server


def test_another_servers_errors_are_not_put_in_aimos_mouth(emu: EmulatorHandle) -> None:
    host = emu.base_url.split("//", 1)[1].split("/", 1)[0]
    with Client(KEY, base_url=emu.base_url, max_retries=0) as client:
        emu.queue_faults("status=400;message=messages must not be empty")
        with pytest.raises(InvalidRequestError) as plain:
            client.chat("hello", model=MODEL)
        emu.queue_faults("status=404;message=Model not served here")
        with pytest.raises(NotFoundError) as streamed, client.stream("hi", model=MODEL) as stream:
            list(stream)
        emu.queue_faults("error_frame_after=2;message=upstream fell over")
        with pytest.raises(ServerError) as mid, client.stream("hi", model=MODEL) as stream:
            list(stream)
    assert str(plain.value).startswith(f"{host} says: messages must not be empty")
    assert str(streamed.value).startswith(f"{host} says: Model not served here")
    assert str(mid.value).startswith(f"{host} reported an error mid-stream: upstream fell over")
    for caught in (plain, streamed, mid):
        assert "AiMo" not in caught.value.detail


def test_messages_that_are_not_dicts_are_refused_in_one_line_before_sending(
    client: Client, emu: EmulatorHandle
) -> None:
    """A list of strings (or a text and an image side by side) is not a list of messages:
    say what a message is, not 'dictionary update sequence element #0 has length 1'."""
    before = len(chat_bodies(emu))
    for call in (
        lambda: client.chat(["Name a river.", "And a lake."], model="DeepSeek-V3-1"),
        lambda: client.stream(["Name a river."], model="DeepSeek-V3-1").__enter__(),
    ):
        with pytest.raises(TypeError) as caught:
            call()
        message = str(caught.value)
        assert "\n" not in message and "message 1 is a str" in message, message
        assert "{'role': 'user', 'content': ...}" in message, message
    assert len(chat_bodies(emu)) == before, "nothing was sent"
