"""The emulator's catalogue, routing, keys and answers, spoken to over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest

from aimo_magic.emulator import (
    BROKE_KEY,
    DEFAULT_MODEL_NAMES,
    EXPIRED_KEY,
    EmulatorHandle,
    model_names,
    provider_id,
    start,
)
from aimo_magic.emulator.handle import BaseHandle

KEY = "aimo-sk-v2-test-0000"
BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{43,44}$")


@contextmanager
def open_client(emulator: BaseHandle) -> Iterator[httpx2.Client]:
    """An httpx2 client for the emulator with a test key; leaves no queued faults behind.

    An in-process emulator is reached through its transport, a served one over loopback.
    """
    headers = {"Authorization": f"Bearer {KEY}"}
    transport = getattr(emulator, "transport", None)
    # verify=False: plain http on loopback, and loading CA certificates costs 0.1 s a client.
    try:
        with httpx2.Client(
            base_url=emulator.base_url,
            headers=headers,
            timeout=10,
            verify=False,
            transport=transport,
        ) as c:
            yield c
    finally:
        emulator.clear_faults()


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[httpx2.Client]:
    with open_client(emulator) as c:
        yield c


def chat(
    client: httpx2.Client,
    content: str | list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx2.Response:
    """POST one user message (to ``openai/gpt-4o`` unless ``model`` is given)."""
    payload = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": content}]}
    return client.post("/v1/chat/completions", json={**payload, **body}, headers=headers)


def stream_events(
    client: httpx2.Client, content: str, headers: dict[str, str] | None = None, **body: Any
) -> list[Any]:
    """The decoded ``data:`` payloads of a streamed answer, ``[DONE]`` as a string."""
    response = chat(client, content, headers, stream=True, **body)
    assert response.status_code == 200, response.text
    events: list[Any] = []
    for line in response.text.split("\n"):
        if line.startswith("data: "):
            data = line[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def streamed_text(events: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )


# Catalogue


def test_models_listing_has_the_aimo_shape_without_a_key(emulator: EmulatorHandle) -> None:
    response = httpx2.get(emulator.base_url + "/v1/models", verify=False)
    assert response.status_code == 200
    models = response.json()["data"]
    names = [m["name"] for m in models]
    assert names == list(DEFAULT_MODEL_NAMES)
    assert {"openai/gpt-4o", "google/gemini-2.5-pro", "anthropic/claude-sonnet-4"} <= set(names)
    assert {"DeepSeek-V3-1", "DeepSeek-R1-Distill-Qwen-32B"} <= set(names)
    for model in models:
        assert set(model) == {
            "id",
            "name",
            "display_name",
            "providers",
            "context_length",
            "architecture",
        }
        assert model["id"] == model["name"]
        assert model["architecture"]["output_modalities"] == ["text"]
        for provider in model["providers"]:
            assert BASE58.match(provider["id"]), provider["id"]
            assert set(provider["pricing"]) == {"prompt", "completion", "image"}
    assert any(len(m["providers"]) > 1 for m in models)
    assert any(m["providers"][0]["pricing"]["prompt"] == 0.0 for m in models)
    assert any("image" in m["architecture"]["input_modalities"] for m in models)
    assert len({m["context_length"] for m in models}) > 3


def test_models_listing_in_the_openai_shape(emulator: EmulatorHandle) -> None:
    body = httpx2.get(
        emulator.base_url + "/v1/models", params={"shape": "openai"}, verify=False
    ).json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == list(DEFAULT_MODEL_NAMES)
    assert all(m["object"] == "model" and m["owned_by"] for m in body["data"])
    bad = httpx2.get(emulator.base_url + "/v1/models", params={"shape": "xml"}, verify=False)
    assert bad.status_code == 400


def test_provider_ids_are_fixed() -> None:
    assert provider_id("akash-ml") == "HwxND5Knitkkv1bVmosgsyBbbazWHya9xh3b17rHzLbx"


def test_catalogue_size_pads_deterministically() -> None:
    names = model_names(300)
    assert len(names) == len(set(names)) == 300
    assert names[: len(DEFAULT_MODEL_NAMES)] == list(DEFAULT_MODEL_NAMES)
    assert names == model_names(300)
    assert model_names(5) == list(DEFAULT_MODEL_NAMES[:5])
    with start(catalogue_size=250) as handle:
        listed = httpx2.get(handle.base_url + "/v1/models", verify=False).json()["data"]
        assert [m["name"] for m in listed] == model_names(250)
        padded = listed[-1]
        served = httpx2.post(
            handle.base_url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {KEY}"},
            json={"model": padded["name"], "messages": [{"role": "user", "content": "hi"}]},
            verify=False,
        )
        assert served.status_code == 200


# Routing


def test_routing_name_goes_to_the_cheapest_provider(
    client: httpx2.Client, emulator: EmulatorHandle
) -> None:
    models = {m["name"]: m for m in client.get("/v1/models").json()["data"]}
    for name in ("openai/gpt-4o", "meta-llama/llama-3.3-70b-instruct", "DeepSeek-V3-1"):
        providers = models[name]["providers"]
        cheapest = min(providers, key=lambda p: p["pricing"]["prompt"] + p["pricing"]["completion"])
        body = chat(client, "hi", model=name).json()
        assert body["model"] == f"{cheapest['id']}:{name}"


def test_provider_id_goes_to_that_provider(client: httpx2.Client) -> None:
    models = {m["name"]: m for m in client.get("/v1/models").json()["data"]}
    for provider in models["openai/gpt-4o"]["providers"]:
        model_id = f"{provider['id']}:openai/gpt-4o"
        assert chat(client, "hi", model=model_id).json()["model"] == model_id


def test_unknown_model_and_provider_get_aimo_404s(client: httpx2.Client) -> None:
    response = chat(client, "hi", model="openai/gpt-99")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_model" and error["code"] == 404
    assert "openai/gpt-99" in error["message"]
    unknown = "1" * 44
    response = chat(client, "hi", model=f"{unknown}:openai/gpt-4o")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_provider"
    other = provider_id("akash-ml")  # serves other models, not gpt-4o
    response = chat(client, "hi", model=f"{other}:openai/gpt-4o")
    assert response.json()["error"]["type"] == "invalid_provider"


# Keys and bad requests


def test_missing_or_foreign_key_gets_401(emulator: EmulatorHandle) -> None:
    url = emulator.base_url + "/v1/chat/completions"
    body = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    for headers in ({}, {"Authorization": "Bearer sk-openai-123"}, {"Authorization": KEY}):
        response = httpx2.post(url, json=body, headers=headers, verify=False)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "unauthorized"
        assert response.json()["error"]["code"] == 401


def test_expired_key_gets_a_plain_text_401(emulator: EmulatorHandle) -> None:
    response = httpx2.post(
        emulator.base_url + "/v1/chat/completions",
        json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {EXPIRED_KEY}"},
        verify=False,
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Failed to verify secret key: Expired"


def test_broke_key_gets_402_insufficient_balance(emulator: EmulatorHandle) -> None:
    response = httpx2.post(
        emulator.base_url + "/v1/chat/completions",
        json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {BROKE_KEY}"},
        verify=False,
    )
    assert response.status_code == 402
    assert response.json() == {
        "error": {
            "message": "Insufficient balance for estimated cost: 0.001 USDC",
            "type": "insufficient_balance",
            "code": 402,
        }
    }


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "'model'"),
        (b'{"model": "openai/gpt-4o"}', "'messages'"),
        (b'{"model": "openai/gpt-4o", "messages": []}', "'messages'"),
        (b'{"model": "openai/gpt-4o", "messages": [{"content": "x"}]}', "role"),
        (b'{"model": "openai/gpt-4o", "messages": [{"role": "user"}], "stream": "yes"}', "stream"),
    ],
)
def test_malformed_bodies_get_400_in_aimo_shape(
    client: httpx2.Client, body: bytes, words: str
) -> None:
    response = client.post(
        "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and words in error["message"]


def test_request_id_is_echoed(client: httpx2.Client) -> None:
    response = chat(client, "hi", stream=True)
    assert "x-request-id" in response.headers
    response = client.post(
        "/v1/chat/completions",
        json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        headers={"X-Request-ID": "trace-42"},
    )
    assert response.headers["x-request-id"] == "trace-42"
    assert (
        client.get("/v1/models", headers={"X-Request-ID": "m-1"}).headers["x-request-id"] == "m-1"
    )


# Answers, whole and streamed


def test_streamed_and_whole_answers_are_identical(client: httpx2.Client) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Explain list comprehensions in Python"},
    ]
    whole = client.post(
        "/v1/chat/completions", json={"model": "DeepSeek-V3-1", "messages": messages}
    ).json()
    events = stream_events(client, "", messages=messages, model="DeepSeek-V3-1")
    text = whole["choices"][0]["message"]["content"]
    assert whole["object"] == "chat.completion"
    assert whole["choices"][0]["finish_reason"] == "stop"
    assert streamed_text(events) == text
    usage = whole["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] > 100
    # prompt tokens count every message, the system prompt included
    alone = chat(client, "Explain list comprehensions in Python", model="DeepSeek-V3-1")
    assert usage["prompt_tokens"] > alone.json()["usage"]["prompt_tokens"]
    # one content chunk per token, then the closing chunk carries usage at the top level
    content_chunks = [e for e in events[1:-2] if e["choices"][0]["delta"].get("content")]
    assert len(content_chunks) == usage["completion_tokens"]
    assert events[-1] == "[DONE]"
    closing = events[-2]
    assert closing["finish_reason"] == "stop" and closing["usage"] == usage
    assert closing["choices"][0]["finish_reason"] is None
    assert all(e["model"] == whole["model"] for e in events[:-1])


def test_include_usage_gets_the_openai_layout(client: httpx2.Client) -> None:
    events = stream_events(client, "::words 7", stream_options={"include_usage": True})
    assert events[-1] == "[DONE]"
    usage_chunk, finish_chunk = events[-2], events[-3]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 8  # 7 words and a full stop
    assert finish_chunk["choices"][0]["finish_reason"] == "stop"
    assert "finish_reason" not in finish_chunk


def test_answers_are_deterministic_and_follow_the_prompt(client: httpx2.Client) -> None:
    first = chat(client, "Tell me about sorting algorithms").json()
    again = chat(client, "Tell me about sorting algorithms").json()
    text = first["choices"][0]["message"]["content"]
    assert text == again["choices"][0]["message"]["content"]
    assert "Tell me about sorting algorithms" in text
    prompts = [f"question number {i} about things" for i in range(12)]
    texts = {chat(client, p).json()["choices"][0]["message"]["content"][:40] for p in prompts}
    assert len(texts) == 12


def test_default_answer_is_rich_markdown(client: httpx2.Client) -> None:
    for prompt in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta"):
        text = chat(client, prompt).json()["choices"][0]["message"]["content"]
        assert re.search(r"^#{1,3} ", text, re.M)
        assert re.search(r"^[-*] ", text, re.M) and re.search(r"^\d\. ", text, re.M)
        assert re.search(r"^\|.*\|$", text, re.M)
        for language in ("python", "javascript", "sql", "bash"):
            assert f"```{language}\n" in text
        assert "$$" in text and re.search(r"[^$]\$[^$\n]+\$[^$]", text)


def test_max_tokens_cuts_the_answer_with_length(client: httpx2.Client) -> None:
    body = chat(client, "::words 50", max_tokens=10).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 10
    events = stream_events(client, "::words 50", max_tokens=10)
    assert events[-2]["finish_reason"] == "length"
