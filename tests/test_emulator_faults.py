"""Fault specs, read off the wire as raw bytes: the misbehaviour clients must survive."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx2
import pytest
from test_emulator import chat, open_client, stream_events, streamed_text

from aimo_magic.emulator import EmulatorHandle, FaultSpecError, parse_fault_spec


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[httpx2.Client]:
    with open_client(emulator) as c:
        yield c


def raw_stream(
    client: httpx2.Client, fault: str, content: str = "::words 4", **body: Any
) -> tuple[list[bytes], Exception | None]:
    """The raw body pieces as read, and the transport error that ended them, if any."""
    pieces: list[bytes] = []
    payload = {"model": "openai/gpt-4o", "stream": True, **body}
    payload["messages"] = [{"role": "user", "content": content}]
    headers = {"X-Emulator-Fault": fault}
    with client.stream("POST", "/v1/chat/completions", json=payload, headers=headers) as r:
        assert r.status_code == 200
        try:
            for piece in r.iter_raw():
                pieces.append(piece)
        except httpx2.TransportError as exc:
            return pieces, exc
    return pieces, None


def data_lines(raw: bytes) -> list[str]:
    """Payloads of ``data:`` lines, in either spacing, splitting on CR/LF only."""
    text = raw.decode()
    lines = text.replace("\r\n", "\n").split("\n")
    return [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]


def chunks_of(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(d) for d in data_lines(raw) if d and d != "[DONE]"]


# Error statuses and bodies


def test_status_with_retry_after_in_seconds(client: httpx2.Client) -> None:
    response = chat(client, "hi", {"X-Emulator-Fault": "status=429;retry_after=2"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"] == {
        "message": "Rate limit exceeded, retry later",
        "type": "rate_limited",
        "code": 429,
    }


def test_retry_after_ms_and_http_date(client: httpx2.Client) -> None:
    response = chat(client, "hi", {"X-Emulator-Fault": "status=503;retry_after_ms=1500"})
    assert response.status_code == 503 and response.headers["retry-after-ms"] == "1500"
    response = chat(client, "hi", {"X-Emulator-Fault": "status=503;retry_after_date=60"})
    when = email.utils.parsedate_to_datetime(response.headers["retry-after"])
    assert when > datetime.now(timezone.utc)


@pytest.mark.parametrize("status", [400, 402, 404, 418, 422, 424, 500, 502, 504])
def test_any_status_in_the_aimo_form(client: httpx2.Client, status: int) -> None:
    response = chat(client, "hi", {"X-Emulator-Fault": f"status={status};message=Nope"})
    assert response.status_code == status
    assert response.json()["error"]["message"] == "Nope"
    assert response.json()["error"]["code"] == status


def test_every_error_body_form(client: httpx2.Client) -> None:
    x402 = chat(client, "hi", {"X-Emulator-Fault": "status=402;body=x402"}).json()
    assert x402["error"] == "X-PAYMENT header is required"
    assert x402["x402Version"] == 1 and x402["accepts"][0]["scheme"] == "exact"
    spec = "status=500;body=text;message=Failed to route request: x"
    text = chat(client, "hi", {"X-Emulator-Fault": spec})
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == "Failed to route request: x"
    assert chat(client, "hi", {"X-Emulator-Fault": "status=500;body=text"}).text.startswith(
        "Failed to route request: "
    )
    string = chat(client, "hi", {"X-Emulator-Fault": "status=401;body=aimo-string;message=Bad"})
    assert string.json() == {"error": "Bad"}
    typed = chat(client, "hi", {"X-Emulator-Fault": "status=404;type=invalid_provider"})
    assert typed.json()["error"]["type"] == "invalid_provider"


def test_reject_stream_options(client: httpx2.Client) -> None:
    options = {"include_usage": True}
    rejected = chat(
        client, "hi", {"X-Emulator-Fault": "reject_stream_options"}, stream_options=options
    )
    assert rejected.status_code == 400 and "stream_options" in rejected.text
    rejected = chat(
        client, "hi", {"X-Emulator-Fault": "reject_stream_options=422"}, stream_options=options
    )
    assert rejected.status_code == 422 and "stream_options" in rejected.text
    accepted = chat(client, "hi", {"X-Emulator-Fault": "reject_stream_options"}, stream=True)
    assert accepted.status_code == 200


# Broken streams


def test_disconnect_after_n_chunks(client: httpx2.Client) -> None:
    pieces, error = raw_stream(client, "disconnect_after=3")
    assert isinstance(error, httpx2.RemoteProtocolError)
    payloads = data_lines(b"".join(pieces))
    assert len(payloads) == 3 and "[DONE]" not in payloads


def test_disconnect_of_a_whole_answer(client: httpx2.Client) -> None:
    with pytest.raises(httpx2.RemoteProtocolError):
        chat(client, "hi", {"X-Emulator-Fault": "disconnect_after=0"})


def test_no_finish_ends_with_done_but_no_finish_reason(client: httpx2.Client) -> None:
    pieces, error = raw_stream(client, "no_finish")
    raw = b"".join(pieces)
    assert error is None and data_lines(raw)[-1] == "[DONE]"
    chunks = chunks_of(raw)
    assert "usage" in chunks[-1] and "finish_reason" not in chunks[-1]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


def test_eof_without_done(client: httpx2.Client) -> None:
    pieces, error = raw_stream(client, "eof_no_done")
    raw = b"".join(pieces)
    assert error is None and "[DONE]" not in data_lines(raw)
    assert chunks_of(raw)[-1]["finish_reason"] == "stop"


def test_bad_json_after_n_chunks(client: httpx2.Client) -> None:
    pieces, _ = raw_stream(client, "bad_json_after=2")
    payloads = data_lines(b"".join(pieces))
    with pytest.raises(json.JSONDecodeError):
        json.loads(payloads[2])
    assert all(json.loads(p) for p in payloads[:2] + payloads[3:-1])
    assert payloads[-1] == "[DONE]"


def test_error_frame_after_n_chunks(client: httpx2.Client) -> None:
    pieces, _ = raw_stream(client, "error_frame_after=3;message=Provider fell over")
    payloads = data_lines(b"".join(pieces))
    assert len(payloads) == 5
    assert json.loads(payloads[3])["error"]["message"] == "Provider fell over"
    assert payloads[4] == "[DONE]"


def test_stall_and_slow_first_token(client: httpx2.Client) -> None:
    # Lower bounds only: the server sleeps at least this long, however busy the machine.
    started = time.monotonic()
    pieces, _ = raw_stream(client, "stall_after=2;stall_s=0.3")
    assert time.monotonic() - started >= 0.3
    assert data_lines(b"".join(pieces))[-1] == "[DONE]"
    started = time.monotonic()
    chat(client, "hi", {"X-Emulator-Fault": "slow_first_token=0.3"})
    assert time.monotonic() - started >= 0.3


# Wire variants


def test_keepalive_comments_between_chunks(client: httpx2.Client) -> None:
    raw = b"".join(raw_stream(client, "keepalive")[0])
    assert raw.startswith(b": keep-alive\n\n")
    assert raw.count(b": keep-alive\n\n") == len(data_lines(raw)) - 1


def test_crlf_line_ends(client: httpx2.Client) -> None:
    raw = b"".join(raw_stream(client, "crlf")[0])
    assert b"\r\n\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert data_lines(raw)[-1] == "[DONE]"


def test_nospace_and_empty_data(client: httpx2.Client) -> None:
    raw = b"".join(raw_stream(client, "nospace;empty_data")[0]).decode()
    lines = [line for line in raw.split("\n") if line]
    assert all(line.startswith("data:") and not line.startswith("data: ") for line in lines)
    assert lines.count("data:") > 3


def test_usage_in_choices(client: httpx2.Client) -> None:
    last = chunks_of(b"".join(raw_stream(client, "usage_in_choices")[0]))[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["choices"][0]["usage"]["completion_tokens"] == 5
    assert "usage" not in last and "finish_reason" not in last


def test_no_ids(client: httpx2.Client) -> None:
    chunks = chunks_of(b"".join(raw_stream(client, "no_ids")[0]))
    assert chunks and all("id" not in c and "object" not in c for c in chunks)


def test_unicode_line_separators_arrive_raw(client: httpx2.Client) -> None:
    raw = b"".join(raw_stream(client, "unicode")[0])
    assert "\u2028".encode() in raw and "\u2029".encode() in raw and "🎉".encode() in raw
    whole = chat(client, "::words 4", {"X-Emulator-Fault": "unicode"}).json()
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks_of(raw))
    assert streamed == whole["choices"][0]["message"]["content"]
    assert "\u2028" in streamed


def test_split_writes_events_in_pieces(client: httpx2.Client) -> None:
    pieces, _ = raw_stream(client, "split;unicode")
    raw = b"".join(pieces)
    events = data_lines(raw)
    assert len(pieces) > 2 * len(events)
    plain = b"".join(raw_stream(client, "unicode")[0])
    assert [json.loads(e)["choices"] for e in events[:-1]] == [
        json.loads(e)["choices"] for e in data_lines(plain)[:-1]
    ]


# Where faults come from


def test_fault_queue_fails_once_then_succeeds(client: httpx2.Client) -> None:
    queued = client.post("/_emulator/faults", json={"faults": ["status=503", "", "status=429"]})
    assert queued.json() == {"faults": ["status=503", "", "status=429"]}
    assert client.get("/_emulator/faults").json()["faults"] == ["status=503", "", "status=429"]
    assert chat(client, "hi").status_code == 503
    assert chat(client, "hi").status_code == 200
    assert client.get("/_emulator/faults").json()["faults"] == ["status=429"]
    assert client.delete("/_emulator/faults").json() == {"faults": []}
    assert chat(client, "hi").status_code == 200


def test_fault_queue_rejects_bad_specs(client: httpx2.Client) -> None:
    response = client.post("/_emulator/faults", json={"faults": ["status=teapot"]})
    assert response.status_code == 400 and "status=teapot" in response.text
    assert client.post("/_emulator/faults", json=["status=500"]).status_code == 400
    assert client.get("/_emulator/faults").json()["faults"] == []


def test_handle_queues_faults(client: httpx2.Client, emulator: EmulatorHandle) -> None:
    emulator.queue_faults("status=500;retry_after=1")
    response = chat(client, "hi")
    assert response.status_code == 500 and response.headers["retry-after"] == "1"
    assert chat(client, "hi").status_code == 200


def test_directive_fault_applies_to_every_retry(client: httpx2.Client) -> None:
    for _ in range(3):
        assert chat(client, "hi ::fault status=502;message=down").status_code == 502


def test_sources_combine_with_later_values_winning(client: httpx2.Client) -> None:
    client.post("/_emulator/faults", json={"faults": ["status=500;message=queued"]})
    response = chat(client, "hi ::fault message=directive", {"X-Emulator-Fault": "status=503"})
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "directive"


def test_model_listing_fails_on_demand(emulator: EmulatorHandle) -> None:
    url = emulator.base_url + "/v1/models"
    spec = "status=503;body=text;message=Failed to route request: catalogue down"
    failed = httpx2.get(url, headers={"X-Emulator-Fault": spec}, verify=False)
    assert failed.status_code == 503 and failed.text == "Failed to route request: catalogue down"
    with pytest.raises(httpx2.RemoteProtocolError):
        httpx2.get(url, headers={"X-Emulator-Fault": "disconnect_after=0"}, verify=False)


def test_bad_header_spec_gets_a_400(client: httpx2.Client) -> None:
    response = chat(client, "hi", {"X-Emulator-Fault": "explode"})
    assert response.status_code == 400
    assert "unknown fault 'explode'" in response.json()["error"]["message"]


def test_streamed_answer_survives_every_harmless_variant(client: httpx2.Client) -> None:
    spec = "keepalive;empty_data;crlf;nospace;no_ids;split"
    raw = b"".join(raw_stream(client, spec, "A story ::code sql")[0])
    plain = stream_events(client, "A story ::code sql")
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks_of(raw))
    assert text == streamed_text(plain)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("status", "needs a value"),
        ("status=99", "200-599"),
        ("body=xml", "choose one of"),
        ("crlf=2", "takes no value"),
        ("stall_s=-1", "must not be negative"),
        ("reject_stream_options=401", "400 or 422"),
    ],
)
def test_fault_spec_errors_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault_spec(spec)
